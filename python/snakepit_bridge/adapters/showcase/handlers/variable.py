"""Typed session variables: a model configuration with constraints, kept in
the host's session. A write that breaks a constraint is refused by the host
and changes nothing."""

from ....session_errors import InvalidValueError

# name -> (type, initial value, constraints)
MODEL_CONFIG = (
    ("temperature", "float", 0.7, {"min": 0.0, "max": 2.0}),
    ("max_tokens", "integer", 256, {"min": 1, "max": 4096}),
    ("model", "choice", "small", {"choices": ["small", "medium", "large"]}),
    ("stop", "string", "END", {"max_length": 8, "pattern": "[A-Z]+"}),
    ("style", "embedding", [0.1, 0.2, 0.3, 0.4], {"dimension": 4, "min": -1.0, "max": 1.0}),
)


def define_model_config(ctx) -> list:
    """Registers every variable of MODEL_CONFIG; returns the session's variables."""
    for name, type_, value, constraints in MODEL_CONFIG:
        ctx.register_variable(name, type_, value, constraints)
    return ctx.list()


def try_update(ctx, name: str, value) -> dict:
    """Writes one variable; a refusal is reported, not raised."""
    before = ctx.get(name)
    try:
        version = ctx.set(name, value)
        outcome = {"accepted": True, "version": version, "error": ""}
    except InvalidValueError as refused:
        outcome = {"accepted": False, "version": None, "error": str(refused)}
    outcome.update({"name": name, "before": before, "after": ctx.get(name)})
    return outcome


def snapshot(ctx) -> list:
    """Every variable of the session (name, type, value, version, constraints)."""
    return ctx.list()
