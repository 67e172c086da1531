"""BaseAdapter and @tool: discovery, description and execution by name."""

import inspect

import pytest

from snakepit_bridge import BaseAdapter, RequestContext, tool
from snakepit_bridge.adapter_loader import AdapterLoadError, load_adapter_class
from snakepit_bridge.adapters.showcase import ShowcaseAdapter
from snakepit_bridge.errors import InvalidArgumentsError, UnknownToolError

SHOWCASE_TOOLS = {
    # basic, streaming, binary, the worker process
    "ping", "echo", "add", "sleep_ms", "raise_error", "error_demo", "crash", "stream_count",
    "stream_progress", "echo_bytes", "checksum_bytes", "worker_info", "spawn_grandchild",
    "ignore_sigterm", "cpu_task",
    # sessions and host tools (state in the host, through ctx)
    "init_session", "set_counter", "get_counter", "increment_counter", "cleanup", "call_host",
    "session_get", "session_set", "session_register", "try_update", "variables_snapshot",
    # ML workflow and game sessions
    "load_dataset", "synthetic_dataset", "define_model_config", "train_model", "evaluate_model",
    "game_start", "game_guess", "game_status",
}


class Calculator(BaseAdapter):
    @tool
    def add(self, a: int, b: int = 2) -> int:
        """Adds.

        More text."""
        return a + b

    @tool(name="mul", description="Multiplies.")
    def multiply(self, a, b):
        return a * b

    @tool
    def count(self, n: int):
        yield from range(n)

    @tool
    def whoami(self, ctx, *, loud: bool = False):
        return ctx.request_id

    def not_a_tool(self):
        return None


def test_only_marked_methods_are_tools_under_their_names():
    assert set(Calculator().tools) == {"add", "mul", "count", "whoami"}


def test_showcase_exposes_every_tool():
    assert set(ShowcaseAdapter().tools) == SHOWCASE_TOOLS


def test_description_comes_from_decorator_or_docstring():
    described = {d.name: d for d in Calculator().describe()}
    assert described["mul"].description == "Multiplies."
    assert described["add"].description.startswith("Adds.")


def test_generator_method_is_a_streaming_tool():
    described = {d.name: d for d in Calculator().describe()}
    assert described["count"].streaming
    assert not described["add"].streaming


def test_parameters_come_from_the_signature_without_self_and_ctx():
    described = {d.name: d for d in Calculator().describe()}
    add = described["add"].parameters
    assert [(p.name, p.annotation, p.required) for p in add] == [
        ("a", "int", True),
        ("b", "int", False),
    ]
    assert add[1].default == 2
    assert [p.name for p in described["whoami"].parameters] == ["loud"]
    assert described["whoami"].parameters[0].kind == "keyword_only"
    assert add[0].default is inspect.Parameter.empty


def test_execute_calls_a_tool_by_name_with_keyword_arguments():
    assert Calculator().execute("add", {"a": 1, "b": 5}) == 6
    assert Calculator().execute("add", {"a": 1}) == 3
    assert list(Calculator().execute("count", {"n": 3})) == [0, 1, 2]


def test_unknown_tool_raises_unknown_tool_error():
    with pytest.raises(UnknownToolError, match="nope"):
        Calculator().execute("nope")


def test_missing_argument_is_invalid_argument():
    with pytest.raises(InvalidArgumentsError, match="missing a required argument: 'a'"):
        Calculator().execute("add", {})


def test_unexpected_argument_is_invalid_argument():
    with pytest.raises(InvalidArgumentsError, match="unexpected keyword argument 'c'"):
        Calculator().execute("add", {"a": 1, "c": 3})


def test_type_error_raised_inside_a_tool_stays_the_tools_own():
    class Strict(BaseAdapter):
        @tool
        def length(self, value):
            return len(value)

    with pytest.raises(TypeError, match="has no len"):
        Strict().execute("length", {"value": 5})


def test_ctx_is_injected_and_cannot_be_passed_as_an_argument():
    assert Calculator().execute("whoami", {}, RequestContext(request_id=9)) == 9
    with pytest.raises(InvalidArgumentsError, match="ctx"):
        Calculator().execute("whoami", {"ctx": 1})


def test_two_tools_with_one_name_are_rejected():
    class Clash(BaseAdapter):
        @tool(name="same")
        def first(self):
            return 1

        @tool(name="same")
        def second(self):
            return 2

    with pytest.raises(TypeError, match="two tools are named 'same'"):
        Clash().tools


def test_async_tools_are_rejected_at_definition():
    with pytest.raises(TypeError, match="async"):

        class Async(BaseAdapter):
            @tool
            async def later(self):
                return 1


def test_subclass_inherits_tools():
    class Scientific(Calculator):
        @tool
        def square(self, x):
            return x * x

    assert {"add", "square"} <= set(Scientific().tools)


def test_module_without_class_resolves_to_its_single_adapter():
    cls, name = load_adapter_class("snakepit_bridge.adapters.showcase")
    assert cls is ShowcaseAdapter
    assert name == "snakepit_bridge.adapters.showcase:ShowcaseAdapter"


def test_module_with_two_adapters_needs_a_class_name():
    with pytest.raises(AdapterLoadError, match="OtherAdapter, ProbeAdapter"):
        load_adapter_class("sample_adapters")
    assert load_adapter_class("sample_adapters:OtherAdapter")[1] == "sample_adapters:OtherAdapter"


def test_unimportable_adapter_module_names_module_and_error():
    with pytest.raises(AdapterLoadError, match="broken_adapter.*ModuleNotFoundError"):
        load_adapter_class("broken_adapter")


def test_class_that_is_not_an_adapter_is_rejected():
    with pytest.raises(AdapterLoadError, match="no BaseAdapter subclass named 'tool'"):
        load_adapter_class("snakepit_bridge:tool")
