"""Plain request/response tools: values in, values out, errors."""

import builtins
import os
import time
from typing import Callable

# Sleep in short slices so a cancelled sleep ends soon after the cancel.
_SLEEP_SLICE_S = 0.01


def ping() -> dict:
    return {"pong": True, "pid": os.getpid()}


def echo(kwargs: dict) -> dict:
    return kwargs


def add(a, b):
    return a + b


def sleep_ms(ms: int, cancelled: Callable[[], bool]) -> dict:
    end = time.monotonic() + ms / 1000.0
    while not cancelled():
        remaining = end - time.monotonic()
        if remaining <= 0:
            break
        time.sleep(min(remaining, _SLEEP_SLICE_S))
    return {"slept_ms": ms}


def raise_error(type_name: str, message: str):
    exception_type = getattr(builtins, type_name, None)
    if not (isinstance(exception_type, builtins.type) and issubclass(exception_type, Exception)):
        raise ValueError(f"{type_name!r} is not a builtin exception type")
    raise exception_type(message)


class ShowcaseError(Exception):
    """An application-defined exception type, to show that custom types cross too."""


def _parse_quantity(text: str) -> int:
    return int(text)  # ValueError for "twelve"


def _ratio(a: int, b: int) -> float:
    return a / b  # ZeroDivisionError for b == 0


def _lookup(table: dict, key: str):
    return table[key]  # KeyError for a missing key


def _validate_order(order: dict) -> dict:
    quantity = _parse_quantity(order["quantity"])
    if quantity > 100:
        raise ShowcaseError(f"order of {quantity} exceeds the limit of 100")
    return {"quantity": quantity, "unit_price": _ratio(order["total"], quantity)}


ERROR_KINDS = ("value", "zero_division", "key", "custom", "none")


def error_demo(kind: str) -> dict:
    """Fails a few frames deep with the exception `kind` names, so the
    traceback the host receives has some depth; "none" succeeds."""
    orders = {
        "value": {"quantity": "twelve", "total": 10},
        "zero_division": {"quantity": "0", "total": 10},
        "custom": {"quantity": "500", "total": 10},
        "none": {"quantity": "4", "total": 10},
    }
    if kind == "key":
        return _lookup(orders, "missing-order")
    if kind not in orders:
        raise ValueError(f"unknown kind {kind!r} (kinds: {', '.join(ERROR_KINDS)})")
    return _validate_order(orders[kind])
