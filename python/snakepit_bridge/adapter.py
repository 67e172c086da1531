"""The adapter base class and the ``@tool`` decorator.

An adapter is a class whose ``@tool`` methods the host may call by name with
keyword arguments. A method that is a generator function is a streaming
tool: each yielded item becomes one chunk. A tool that declares a parameter
named ``ctx`` receives a :class:`~snakepit_bridge.session_context.SessionContext`
(the request's id, session and metadata, plus session state and host tools).

    class MyAdapter(BaseAdapter):
        @tool
        def add(self, a: int, b: int) -> int:
            "Adds two numbers."
            return a + b

        @tool(description="Counts up.")
        def count(self, n: int):
            yield from range(n)

Workers are stateless (the host owns state): keep only read-only things on
the adapter, such as a loaded model.
"""

import inspect
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Mapping, Optional

from .context import RequestContext
from .session_context import SessionContext
from .errors import InvalidArgumentsError, UnknownToolError
from .identity import WorkerIdentity

__all__ = ["BaseAdapter", "tool", "Tool", "ToolDescription", "ParameterDescription"]

CONTEXT_PARAMETER = "ctx"
_TOOL_MARK = "__snakepit_tool__"


@dataclass(frozen=True)
class _ToolOptions:
    name: Optional[str]
    description: Optional[str]


def tool(func=None, *, name: Optional[str] = None, description: Optional[str] = None):
    """Mark a method as a tool: ``@tool`` or ``@tool(name=..., description=...)``.

    The description defaults to the method's docstring.
    """

    def mark(method):
        if inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method):
            raise TypeError(f"tool {method.__qualname__}: async tools are not supported")
        setattr(method, _TOOL_MARK, _ToolOptions(name, description))
        return method

    return mark if func is None else mark(func)


@dataclass(frozen=True)
class ParameterDescription:
    name: str
    kind: str  # inspect.Parameter kind in lower case, e.g. "keyword_only"
    annotation: str  # "" when not annotated
    required: bool
    default: Any  # inspect.Parameter.empty when required


@dataclass(frozen=True)
class ToolDescription:
    name: str
    description: str
    parameters: tuple  # of ParameterDescription, without self and ctx
    streaming: bool


class Tool:
    """One tool of an adapter instance: a bound method plus what the bridge
    needs to know about it."""

    __slots__ = ("name", "description", "streaming", "wants_context", "signature", "_call")

    def __init__(self, name: str, description: str, method: Callable):
        self.name = name
        self.description = description
        self.streaming = inspect.isgeneratorfunction(method)
        self.signature = inspect.signature(method)
        self.wants_context = CONTEXT_PARAMETER in self.signature.parameters
        self._call = method

    def invoke(self, kwargs: dict, ctx: Optional[RequestContext] = None):
        """Call the tool; a generator tool returns its (unstarted) generator.

        ``kwargs`` is consumed (``ctx`` is added to it if the tool wants one).
        Raises InvalidArgumentsError if ``kwargs`` do not bind to the
        signature; anything else the tool raises propagates unchanged.
        """
        if self.wants_context:
            if CONTEXT_PARAMETER in kwargs:
                raise InvalidArgumentsError(
                    f"{self.name}: 'ctx' is supplied by the worker and cannot be an argument"
                )
            # Outside a worker (tests, scripts) a tool gets a context with no
            # session and no host: its session calls raise a clear error.
            kwargs[CONTEXT_PARAMETER] = ctx if ctx is not None else SessionContext()
        try:
            return self._call(**kwargs)
        except TypeError:
            # Binding is only checked once a call failed, so a good call pays
            # nothing for it; a TypeError from inside a tool that was called
            # correctly stays the tool's own exception.
            binding_error = self._binding_error(kwargs)
            if binding_error is None:
                raise
            raise InvalidArgumentsError(f"{self.name}: {binding_error}") from None

    def _binding_error(self, kwargs: dict) -> Optional[str]:
        try:
            self.signature.bind(**kwargs)
        except TypeError as exc:
            return str(exc)
        return None

    def describe(self) -> ToolDescription:
        parameters = tuple(
            ParameterDescription(
                name=p.name,
                kind=p.kind.name.lower(),
                annotation=_annotation_text(p.annotation),
                required=p.default is p.empty
                and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD),
                default=p.default,
            )
            for p in self.signature.parameters.values()
            if p.name != CONTEXT_PARAMETER
        )
        return ToolDescription(self.name, self.description, parameters, self.streaming)


class BaseAdapter:
    """Base class of every adapter; subclasses mark methods with ``@tool``.

    The worker creates the adapter with no arguments, then calls
    :meth:`setup` once before it serves any call.
    """

    worker: Optional[WorkerIdentity] = None

    def setup(self, worker: WorkerIdentity) -> None:
        """Called once before serving. Override to load models and the like
        (call ``super().setup(worker)``); an exception stops the worker."""
        self.worker = worker

    @cached_property
    def tools(self) -> Mapping[str, Tool]:
        """The adapter's tools by name, discovered once per instance."""
        found = {}
        cls = type(self)
        for attribute in dir(cls):
            static = inspect.getattr_static(cls, attribute)
            options = getattr(getattr(static, "__func__", static), _TOOL_MARK, None)
            if not isinstance(options, _ToolOptions):
                continue
            method = getattr(self, attribute)
            name = options.name or attribute
            if name in found:
                raise TypeError(f"{cls.__qualname__}: two tools are named {name!r}")
            description = options.description or inspect.getdoc(method) or ""
            found[name] = Tool(name, description, method)
        return found

    def lookup(self, name: str) -> Tool:
        tool_ = self.tools.get(name)
        if tool_ is None:
            known = ", ".join(sorted(self.tools)) or "none"
            raise UnknownToolError(f"no tool named {name!r} (tools: {known})")
        return tool_

    def describe(self) -> list:
        """A ToolDescription per tool, sorted by name."""
        return [self.tools[name].describe() for name in sorted(self.tools)]

    def execute(
        self, name: str, kwargs: Optional[dict] = None, ctx: Optional[RequestContext] = None
    ):
        """Run a tool by name, outside any transport (tests, scripts).

        Raises UnknownToolError or InvalidArgumentsError; a streaming tool
        returns its generator.
        """
        return self.lookup(name).invoke(dict(kwargs or {}), ctx)


def _annotation_text(annotation) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type):
        return annotation.__qualname__
    return inspect.formatannotation(annotation)
