"""An adapter module whose import fails (tests the worker's exit code 2)."""

import snakepit_no_such_module  # noqa: F401
