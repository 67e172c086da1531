"""Every showcase tool runs, and none keeps state in Python (DESIGN rule 3).

Tools that use a session run against FakeContext, an in-memory stand-in for
the host's session with its refusals (exists, not found, constraint
violations). Around every call the test fingerprints every module-level and
class-level value of the showcase package and the adapter instance: a tool
that stashed anything in Python would change a fingerprint. The tools that
act on the worker process itself (crash, spawn_grandchild, ignore_sigterm)
run in a real worker."""

import inspect
import sys
import types

import grpc
import pytest

from snakepit_bridge.adapters.showcase import ShowcaseAdapter
from snakepit_bridge.session_errors import (
    InvalidValueError,
    VariableExistsError,
    VariableNotFoundError,
)

PACKAGE = "snakepit_bridge.adapters.showcase"
PROCESS_TOOLS = {"crash", "spawn_grandchild", "ignore_sigterm"}


class FakeContext:
    """The SessionContext surface the showcase uses, over a dict, with the
    host's refusals for what the tools touch."""

    def __init__(self, session_id="s1"):
        self.session_id = session_id
        self.request_id = 1
        self.metadata = {}
        self.vars = {}  # name -> {"type", "value", "version", "constraints"}
        self.host_calls = []

    def cancelled(self):
        return False

    def _check(self, name, var, value):
        c = var["constraints"] or {}
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                if "min" in c and v < c["min"]:
                    raise InvalidValueError(f"{name}: {v} is below min {c['min']}")
                if "max" in c and v > c["max"]:
                    raise InvalidValueError(f"{name}: {v} is above max {c['max']}")
        if "choices" in c and value not in c["choices"]:
            raise InvalidValueError(f"{name}: {value!r} is not one of {c['choices']}")
        if "dimension" in c and len(value) != c["dimension"]:
            raise InvalidValueError(f"{name}: length {len(value)} is not {c['dimension']}")

    def register_variable(self, name, type, value, constraints=None):
        if name in self.vars:
            raise VariableExistsError(f"variable {name!r} exists")
        var = {"type": type, "value": value, "version": 1, "constraints": dict(constraints or {})}
        self._check(name, var, value)
        self.vars[name] = var
        return {"name": name, **var}

    def get(self, name, default=None):
        var = self.vars.get(name)
        return default if var is None else var["value"]

    def get_many(self, names):
        missing = [n for n in names if n not in self.vars]
        if missing:
            raise VariableNotFoundError(f"no variable {missing[0]!r}")
        return {n: self.vars[n]["value"] for n in names}

    def set(self, name, value):
        var = self.vars.setdefault(name, {"type": "any", "value": None, "version": 0,
                                          "constraints": {}})
        self._check(name, var, value)
        var["value"] = value
        var["version"] += 1
        return var["version"]

    def set_many(self, mapping):
        return {name: self.set(name, value) for name, value in mapping.items()}

    def increment(self, name, by=1):
        if name not in self.vars:
            raise VariableNotFoundError(f"no variable {name!r}")
        self.set(name, self.vars[name]["value"] + by)
        return self.vars[name]["value"]

    def delete(self, name):
        if self.vars.pop(name, None) is None:
            raise VariableNotFoundError(f"no variable {name!r}")

    def list(self):
        return [{"name": n, **v} for n, v in sorted(self.vars.items())]

    def call_host_tool(self, name, **kwargs):
        self.host_calls.append((name, kwargs))
        return {"tool": name, "args": kwargs}


# --- fingerprints of everything Python could keep state in -------------------------

def _fingerprint(value):
    if isinstance(value, (types.FunctionType, types.ModuleType, types.BuiltinFunctionType,
                          type, property, staticmethod, classmethod)):
        return ("object", id(value))
    try:
        return ("value", id(value), repr(value))
    except Exception:  # noqa: BLE001 - an unrepresentable object: identity only
        return ("object", id(value))


def _state(adapter):
    seen = {}
    for module_name, module in sorted(sys.modules.items()):
        if not module_name.startswith(PACKAGE) or module is None:
            continue
        for attribute, value in vars(module).items():
            seen[(module_name, attribute)] = _fingerprint(value)
            if inspect.isclass(value) and value.__module__ == module_name:
                for class_attribute, class_value in vars(value).items():
                    seen[(module_name, attribute, class_attribute)] = _fingerprint(class_value)
    for attribute, value in vars(adapter).items():
        seen[("adapter", attribute)] = _fingerprint(value)
    return seen


def _drain(result):
    return list(result) if inspect.isgenerator(result) else result


def _session_calls():
    """(tool, args) in an order that makes each call meaningful."""
    return [
        ("init_session", {"counter": 0}),
        ("set_counter", {"value": 3}),
        ("increment_counter", {"by": 2}),
        ("get_counter", {}),
        ("session_register", {"name": "t", "type": "float", "value": 0.5,
                              "constraints": {"min": 0, "max": 1}}),
        ("session_set", {"name": "note", "value": "hello"}),
        ("session_get", {"name": "note"}),
        ("call_host", {"name": "clock", "args": {"zone": "utc"}}),
        ("cleanup", {}),
        ("define_model_config", {}),
        ("try_update", {"name": "temperature", "value": 3.5}),
        ("try_update", {"name": "temperature", "value": 1.5}),
        ("variables_snapshot", {}),
        ("synthetic_dataset", {"samples": 60}),
        ("train_model", {"epochs": 5}),
        ("evaluate_model", {}),
        ("game_start", {"guild_id": "guild-1", "mode": "race", "word": "snake"}),
        ("game_guess", {"player": "ada", "word": "shake"}),
        ("game_guess", {"player": "bob", "word": "snake"}),
        ("game_status", {}),
        ("stream_progress", {"total": 3}),
    ]


def _stateless_calls():
    return [
        ("ping", {}),
        ("echo", {"x": 1, "raw": b"\x00\x01"}),
        ("add", {"a": 2, "b": 3}),
        ("sleep_ms", {"ms": 1}),
        ("stream_count", {"count": 3}),
        ("echo_bytes", {"data": b"abc"}),
        ("checksum_bytes", {"data": b"abc"}),
        ("cpu_task", {"n": 1000, "task_id": 4}),
        ("error_demo", {"kind": "none"}),
        ("worker_info", {}),
    ]


def _failing_calls():
    return [
        ("raise_error", {"type": "KeyError", "message": "k"}, KeyError),
        ("error_demo", {"kind": "value"}, ValueError),
        ("error_demo", {"kind": "zero_division"}, ZeroDivisionError),
        ("error_demo", {"kind": "key"}, KeyError),
        ("error_demo", {"kind": "custom"}, Exception),
        ("load_dataset", {"dataset": "no_such_data"}, Exception),
    ]


@pytest.fixture
def adapter():
    a = ShowcaseAdapter()
    assert a.tools  # discover once: the cache is the instance's, made before any call
    return a


def test_every_tool_is_covered_by_this_test(adapter):
    covered = {name for name, _ in _session_calls() + _stateless_calls()}
    covered |= {name for name, _, _ in _failing_calls()} | PROCESS_TOOLS
    assert covered == set(adapter.tools)


def test_no_tool_changes_module_or_class_state(adapter):
    ctx = FakeContext()
    before = _state(adapter)
    for name, args in _stateless_calls() + _session_calls():
        _drain(adapter.execute(name, args, ctx))
        assert _state(adapter) == before, f"{name} changed Python state"
    for name, args, expected in _failing_calls():
        with pytest.raises(expected):
            _drain(adapter.execute(name, args, ctx))
        assert _state(adapter) == before, f"{name} changed Python state"


def test_session_tools_keep_everything_in_the_session(adapter):
    ctx = FakeContext()
    adapter.execute("init_session", {}, ctx)
    for i in range(1, 6):
        adapter.execute("increment_counter", {"by": i}, ctx)
    assert adapter.execute("get_counter", {}, ctx) == {"value": 15}
    # A second adapter (another worker) sees the same state through the context.
    assert ShowcaseAdapter().execute("get_counter", {}, ctx) == {"value": 15}
    done = adapter.execute("cleanup", {}, ctx)
    assert done["command_count"] == 9 and done["duration_ms"] >= 0
    assert ctx.vars == {}


def test_constraint_violation_changes_nothing(adapter):
    ctx = FakeContext()
    adapter.execute("define_model_config", {}, ctx)
    refused = adapter.execute("try_update", {"name": "temperature", "value": 3.5}, ctx)
    assert refused["accepted"] is False and "above max" in refused["error"]
    assert refused["before"] == refused["after"] == 0.7
    assert ctx.vars["temperature"]["version"] == 1


def test_ml_workflow_state_is_tensors_in_the_session(adapter):
    ctx = FakeContext()
    loaded = adapter.execute("synthetic_dataset", {"samples": 90, "split": 0.8}, ctx)
    assert loaded["train_samples"] == 72 and loaded["test_samples"] == 18
    assert ctx.vars["ml_X_train"]["type"] == "tensor"
    assert ctx.vars["ml_X_train"]["value"]["shape"] == [72, 4]
    chunks = list(adapter.execute("train_model", {"epochs": 15}, ctx))
    assert [c["epoch"] for c in chunks[:-1]] == list(range(1, 16))
    assert chunks[-1]["type"] == "completed" and chunks[-1]["final_accuracy"] > 0.8
    assert ctx.vars["ml_epochs_done"]["value"] == 15
    report = adapter.execute("evaluate_model", {}, ctx)
    assert report["accuracy"] > 0.7 and sum(map(sum, report["confusion"])) == 18


def test_missing_data_set_raises_data_not_found(adapter):
    with pytest.raises(Exception) as raised:
        adapter.execute("load_dataset", {"dataset": "no_such_data"}, FakeContext())
    assert type(raised.value).__name__ == "DataNotFoundError"


def test_game_guesses_are_processed_from_session_state(adapter):
    ctx = FakeContext("game-1")
    adapter.execute("game_start", {"guild_id": "g", "mode": "knockout", "word": "otter"}, ctx)
    miss = adapter.execute("game_guess", {"player": "a", "word": "ozone"}, ctx)
    assert miss["correct"] is False and miss["in_place"] == 1 and miss["guesses"] == 1
    hit = ShowcaseAdapter().execute("game_guess", {"player": "b", "word": "otter"}, ctx)
    assert hit["correct"] is True and hit["guesses"] == 2
    status = adapter.execute("game_status", {}, ctx)
    assert status["winner"] == "b" and status["solved"] is True
    with pytest.raises(Exception, match="already solved"):
        adapter.execute("game_guess", {"player": "c", "word": "otter"}, ctx)


def test_process_tools_run_in_a_real_worker(start_worker):
    worker = start_worker()
    assert worker.call("ignore_sigterm") == {"ok": True}
    child = worker.call("spawn_grandchild")
    assert child["pid"] > 0
    with pytest.raises(grpc.RpcError):
        worker.execute("crash")
    assert worker.wait_exit(10) == 70
