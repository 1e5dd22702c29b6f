"""Responses tools -> Chat tools for an upstream that speaks only Chat Completions.

Theory of operation
-------------------
A Responses request declares tools in three places: its ``tools``, the ``tools`` of
``tool_search_output`` items (tools a client-side tool search loaded) and of ``additional_tools``
items.  :func:`read_tools` reads each list into one :class:`ToolSet`; every entry either becomes a
:class:`DeclaredTool` (something the model calls as a Chat function) or a hosted tool the upstream
runs itself, or is dropped and reported through the :class:`~translator.convert.drop_policy.Policy`:

==========================  ==========================================================================
Responses tool              Chat function
==========================  ==========================================================================
``function``                the same function (name made valid if needed, schema normalised)
``custom``                  a function with one string parameter ``input``; the format (grammar
                            syntax and definition, or free text) is described in the description
``namespace``               each inner function/custom tool, named ``<namespace>__<name>``
``tool_search`` (client)    a function ``tool_search`` with the tool's own parameters
hosted (``web_search``...)  dropped and reported, unless ``UpstreamProfile.hosted_tools`` lists it
==========================  ==========================================================================

The Chat names come from one :class:`~translator.protocol.tool_names.ToolNames` per request, so history
items and ``tool_choice`` use the same names (:func:`chat_tools`, :func:`chat_tool_choice`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ConversionError
from ..protocol.capabilities import UpstreamProfile
from ..protocol.schemas import normalize_schema
from ..protocol.tool_names import CUSTOM_INPUT, ToolIdentity, ToolNames
from .drop_policy import Policy
from .transcripts import check_keys, expect_dict, expect_list, expect_str

__all__ = [
    "HOSTED_TOOL_TYPES",
    "DeclaredTool",
    "ToolSet",
    "chat_tool_choice",
    "chat_tools",
    "read_tools",
    "web_search_options",
]

#: Responses tool types that run on OpenAI's side or need a Responses-only call item.
HOSTED_TOOL_TYPES = frozenset(
    {
        "web_search",
        "web_search_preview",
        "web_search_2025_08_26",
        "web_search_preview_2025_03_11",
        "file_search",
        "code_interpreter",
        "image_generation",
        "mcp",
        "computer",
        "computer_use",
        "computer_use_preview",
        "local_shell",
        "shell",
        "apply_patch",
        "programmatic_tool_calling",
        "tool_search",
    }
)

_WEB_SEARCH = ("web_search", "web_search_preview", "web_search_2025_08_26", "web_search_preview_2025_03_11")

_FUNCTION_KEYS = ("type", "name", "description", "parameters", "strict", "defer_loading", "allowed_callers")
_CUSTOM_KEYS = ("type", "name", "description", "format", "defer_loading", "allowed_callers")

#: Parameters of a client tool search that declares none: what Codex declares.
_TOOL_SEARCH_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "description": "Search query for deferred tools."},
        "limit": {"type": "number", "description": "Maximum number of tools to return."},
    },
    "required": ["query"],
}
_TOOL_SEARCH_DESCRIPTION = "Searches for more tools; the tools it finds become callable on the next turn."


@dataclass(frozen=True, slots=True)
class DeclaredTool:
    """A tool the model calls as a Chat function: its identity and its Chat definition (no name)."""

    identity: ToolIdentity
    description: str | None
    parameters: Any
    strict: bool
    #: Where it was declared, for reports (``request.tools[3]``, ``request.input[5].tools[0]``).
    path: str


@dataclass(slots=True)
class ToolSet:
    """Every tool of one request, as the Chat upstream will see it.

    Lookups are indexed (a set of identities, identities by kind and name), so reading ``n`` tools and
    resolving ``n`` references is linear: a request may declare tens of thousands of tools.
    """

    declared: list[DeclaredTool] = field(default_factory=list)
    #: Hosted tools the upstream runs itself, forwarded unchanged (``web_search`` excepted).
    hosted: list[dict[str, Any]] = field(default_factory=list)
    #: ``web_search_options`` when the upstream runs ``web_search`` itself.
    web_search: dict[str, Any] | None = None
    #: Deferred tools (``defer_loading``): left out until a tool search loads them.
    deferred: list[DeclaredTool] = field(default_factory=list)
    _known: set[ToolIdentity] = field(default_factory=set)
    _by_name: dict[tuple[str, str], list[ToolIdentity]] = field(default_factory=dict)

    @property
    def identities(self) -> list[ToolIdentity]:
        return [tool.identity for tool in self.declared]

    def declares(self, identity: ToolIdentity) -> bool:
        return identity in self._known

    def has_client_tool_search(self) -> bool:
        return ToolIdentity("tool_search") in self._known

    def named(self, kind: str, name: str) -> list[ToolIdentity]:
        """The declared identities of ``kind`` called ``name`` (in any namespace), in declaration order."""
        return self._by_name.get((kind, name), [])

    def add(self, tool: DeclaredTool) -> None:
        """Declare ``tool`` unless its identity is declared already (the first definition wins)."""
        identity = tool.identity
        if identity in self._known:
            return
        self._known.add(identity)
        self._by_name.setdefault((identity.kind, identity.name), []).append(identity)
        self.declared.append(tool)


def read_tools(
    tools: Any,
    path: str,
    profile: UpstreamProfile,
    policy: Policy,
    into: ToolSet,
    *,
    loaded: bool = False,
) -> None:
    """Read one Responses tool list into ``into``; what has no Chat form is dropped via ``policy``.

    Args:
        tools: the list (``request.tools``, or the ``tools`` of a tool search output).
        path: its location, for reports and errors.
        profile: the upstream's capabilities (``hosted_tools``).
        policy: where drops go.
        into: the request's tool set.
        loaded: the list was loaded by a tool search, so ``defer_loading`` no longer applies.
    """
    for i, tool in enumerate(expect_list(tools, path)):
        tpath = f"{path}[{i}]"
        tool = expect_dict(tool, tpath)
        kind = tool.get("type")
        if kind is not None:
            expect_str(kind, f"{tpath}.type")
        if kind == "function" or kind == "custom":
            _read_callable(tool, tpath, None, policy, into, loaded=loaded)
        elif kind == "namespace":
            _read_namespace(tool, tpath, policy, into, loaded=loaded)
        elif kind == "tool_search" and tool.get("execution") == "client":
            check_keys(tool, ("type", "execution", "description", "parameters"), tpath, policy)
            description = tool.get("description")
            parameters = tool.get("parameters")
            into.add(
                DeclaredTool(
                    ToolIdentity("tool_search"),
                    _TOOL_SEARCH_DESCRIPTION if description is None else expect_str(description, tpath),
                    _TOOL_SEARCH_PARAMETERS if parameters is None else parameters,
                    False,
                    tpath,
                )
            )
        elif kind in HOSTED_TOOL_TYPES:
            _read_hosted(tool, kind, tpath, profile, policy, into)
        else:
            policy.drop(f"{tpath}.type", f"unknown tool type {kind!r}")


def _read_callable(
    tool: dict[str, Any],
    path: str,
    namespace: str | None,
    policy: Policy,
    into: ToolSet,
    *,
    loaded: bool,
) -> None:
    kind = tool["type"]
    check_keys(tool, _FUNCTION_KEYS if kind == "function" else _CUSTOM_KEYS, path, policy)
    name = expect_str(tool.get("name"), f"{path}.name")
    callers = tool.get("allowed_callers")
    if callers is not None and "direct" not in expect_list(callers, f"{path}.allowed_callers"):
        policy.drop(path, "a tool only programs may call has no Chat equivalent")
        return
    description = tool.get("description")
    if description is not None:
        description = expect_str(description, f"{path}.description")
    if kind == "custom":
        description = _custom_description(description, tool.get("format"), f"{path}.format")
        parameters: Any = {
            "type": "object",
            "properties": {CUSTOM_INPUT: {"type": "string"}},
            "required": [CUSTOM_INPUT],
            "additionalProperties": False,
        }
        strict = False
    else:
        parameters = tool.get("parameters")
        strict = tool.get("strict") is True
    declared = DeclaredTool(ToolIdentity(kind, name, namespace), description, parameters, strict, path)
    if tool.get("defer_loading") is True and not loaded:
        into.deferred.append(declared)
    else:
        into.add(declared)


def _custom_description(description: str | None, fmt: Any, path: str) -> str:
    """A custom tool's description, plus its input format and how to pass it as a Chat argument."""
    lines = [description] if description else []
    if fmt is not None:
        fmt = expect_dict(fmt, path)
        kind = fmt.get("type")
        if kind == "grammar":
            syntax = expect_str(fmt.get("syntax"), f"{path}.syntax")
            definition = expect_str(fmt.get("definition"), f"{path}.definition")
            lines.append(f"The input must match this {syntax} grammar:\n{definition}")
        elif kind != "text":
            raise ConversionError(f"unknown custom tool format type {kind!r}", path=f"{path}.type")
    lines.append(
        "Tools take JSON arguments here: pass the whole freeform input as the one string field"
        f' "{CUSTOM_INPUT}", as in {{"{CUSTOM_INPUT}": "..."}}; it is unwrapped before the tool runs.'
    )
    return "\n\n".join(lines)


def _read_namespace(tool: dict[str, Any], path: str, policy: Policy, into: ToolSet, *, loaded: bool) -> None:
    check_keys(tool, ("type", "name", "description", "tools"), path, policy)
    namespace = expect_str(tool.get("name"), f"{path}.name")
    about = tool.get("description")
    for i, inner in enumerate(expect_list(tool.get("tools"), f"{path}.tools")):
        ipath = f"{path}.tools[{i}]"
        inner = expect_dict(inner, ipath)
        if inner.get("type") not in ("function", "custom"):
            policy.drop(
                f"{ipath}.type", f"a namespace holds function and custom tools, not {inner.get('type')!r}"
            )
            continue
        if about:
            # Chat has no tool groups: each flattened tool carries its group's description.
            own = inner.get("description")
            inner = {
                **inner,
                "description": f"{own}\n\n({namespace}: {about})" if own else f"({namespace}: {about})",
            }
        _read_callable(inner, ipath, namespace, policy, into, loaded=loaded)


def _read_hosted(
    tool: dict[str, Any], kind: str, path: str, profile: UpstreamProfile, policy: Policy, into: ToolSet
) -> None:
    family = "web_search" if kind in _WEB_SEARCH else kind
    if family not in profile.hosted_tools and kind not in profile.hosted_tools:
        policy.drop(path, f"hosted tool {kind!r} runs on OpenAI's side; this upstream cannot run it")
        return
    if family == "web_search":
        into.web_search = web_search_options(tool, path, policy)
    else:
        into.hosted.append(tool)


def web_search_options(tool: dict[str, Any], path: str, policy: Policy) -> dict[str, Any]:
    """A Responses ``web_search`` tool as Chat's ``web_search_options``."""
    check_keys(tool, ("type", "search_context_size", "user_location"), path, policy)
    options: dict[str, Any] = {}
    if tool.get("search_context_size") is not None:
        options["search_context_size"] = tool["search_context_size"]
    location = tool.get("user_location")
    if location is not None:
        approx = {k: v for k, v in expect_dict(location, f"{path}.user_location").items() if k != "type"}
        options["user_location"] = {"type": "approximate", "approximate": approx}
    return options


def chat_tools(
    toolset: ToolSet,
    names: ToolNames,
    profile: UpstreamProfile,
    policy: Policy,
    *,
    only: set[ToolIdentity] | None = None,
) -> list[dict[str, Any]]:
    """The Chat ``tools`` list: one function per declared tool, then the forwarded hosted tools.

    ``only``: keep just these identities (a Responses ``allowed_tools`` choice).
    """
    names.assign(toolset.identities)
    out: list[dict[str, Any]] = []
    for tool in toolset.declared:
        if only is not None and tool.identity not in only:
            continue
        parameters, removed = normalize_schema(tool.parameters, profile.tool_schema)
        fn: dict[str, Any] = {"name": names.chat_name(tool.identity)}
        if tool.description is not None:
            fn["description"] = tool.description
        if parameters is not None:
            fn["parameters"] = parameters
        if removed:
            policy.drop(
                f"{tool.path}.parameters",
                f"schema keywords this upstream rejects were removed: {', '.join(removed)}",
            )
        if tool.strict:
            if removed:
                policy.drop(f"{tool.path}.strict", "strict mode needs the schema keywords that were removed")
            else:
                fn["strict"] = True
        out.append({"type": "function", "function": fn})
    return out + toolset.hosted


def chat_tool_choice(
    choice: Any, path: str, toolset: ToolSet, names: ToolNames, policy: Policy
) -> tuple[Any, set[ToolIdentity] | None]:
    """A Responses ``tool_choice`` as Chat's, and the identities it restricts ``tools`` to (if any).

    Returns ``(None, None)`` when the choice has no Chat form (it is then reported).  Chat's own
    ``allowed_tools`` form is OpenAI-only, so ``allowed_tools`` becomes a filter on ``tools`` plus
    ``auto``/``required``.
    """
    if isinstance(choice, str):
        if choice not in ("auto", "none", "required"):
            raise ConversionError(f"unknown tool_choice {choice!r}", path=path)
        return choice, None
    choice = expect_dict(choice, path)
    kind = choice.get("type")
    if kind == "allowed_tools":
        mode = choice.get("mode")
        if mode not in ("auto", "required"):
            raise ConversionError(f"unknown allowed_tools mode {mode!r}", path=f"{path}.mode")
        allowed: set[ToolIdentity] = set()
        for i, ref in enumerate(expect_list(choice.get("tools"), f"{path}.tools")):
            identity = _referenced(ref, f"{path}.tools[{i}]", toolset, policy)
            if identity is not None:
                allowed.add(identity)
        if not allowed:
            policy.drop(path, "none of the allowed tools is callable on this upstream")
            return None, None
        return mode, allowed
    identity = _referenced(choice, path, toolset, policy)
    if identity is None:
        return None, None
    return {"type": "function", "function": {"name": names.chat_name(identity)}}, None


def _referenced(ref: Any, path: str, toolset: ToolSet, policy: Policy) -> ToolIdentity | None:
    """The declared tool a tool reference names, or ``None`` (reported) when none is callable."""
    ref = expect_dict(ref, path)
    kind = ref.get("type")
    if kind in ("function", "custom"):
        name = expect_str(ref.get("name"), f"{path}.name")
        namespace = ref.get("namespace")
        candidates = [
            identity for identity in toolset.named(kind, name) if namespace in (None, identity.namespace)
        ]
        # an exact un-namespaced match wins; a bare name that several namespaces share is ambiguous
        exact = [c for c in candidates if c.namespace == namespace]
        found = exact or candidates
        if len(found) == 1:
            return found[0]
        reason = "matches several namespaced tools" if found else "is not a tool this upstream can call"
        policy.drop(path, f"{kind} tool {name!r} {reason}")
        return None
    if kind == "tool_search" and toolset.has_client_tool_search():
        return ToolIdentity("tool_search")
    policy.drop(path, f"tool choice {kind!r} has no Chat equivalent")
    return None
