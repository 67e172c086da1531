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
