"""Resolves ``--adapter MODULE[:CLASS]`` to an adapter class.

Without ``:CLASS`` the module must export exactly one BaseAdapter subclass
(counting only names in ``__all__`` when the module defines it).
"""

import importlib
import inspect
from typing import Tuple

from .adapter import BaseAdapter


class AdapterLoadError(Exception):
    pass


def load_adapter_class(spec: str) -> Tuple[type, str]:
    """Return the adapter class and its canonical ``MODULE:CLASS`` name."""
    module_name, _, class_name = spec.partition(":")
    if not module_name:
        raise AdapterLoadError(f"--adapter {spec!r}: expected MODULE or MODULE:CLASS")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise AdapterLoadError(
            f"cannot import adapter module {module_name!r}: {type(exc).__name__}: {exc}"
        ) from exc
    except Exception as exc:  # the module's own code failed while importing
        raise AdapterLoadError(
            f"adapter module {module_name!r} failed while importing: "
            f"{type(exc).__name__}: {exc}"
        ) from exc

    if class_name:
        cls = getattr(module, class_name, None)
        if not _is_adapter_class(cls):
            raise AdapterLoadError(
                f"{module_name!r} has no BaseAdapter subclass named {class_name!r}"
            )
        return cls, f"{module_name}:{class_name}"

    exported = getattr(module, "__all__", None)
    names = exported if exported is not None else list(vars(module))
    found = {}
    for name in names:
        candidate = getattr(module, name, None)
        if _is_adapter_class(candidate):
            found.setdefault(candidate, name)
    if len(found) != 1:
        listed = ", ".join(sorted(found.values())) or "none"
        raise AdapterLoadError(
            f"{module_name!r} must export exactly one BaseAdapter subclass, found: "
            f"{listed}; name one with --adapter {module_name}:CLASS"
        )
    (cls, name), = found.items()
    return cls, f"{module_name}:{name}"


def _is_adapter_class(candidate) -> bool:
    return (
        inspect.isclass(candidate)
        and issubclass(candidate, BaseAdapter)
        and candidate is not BaseAdapter
    )
