"""``@require_approval``: a tool function that asks people first.

The decorated function, when called, sends an intent whose payload is its arguments by name and
whose summary is a readable line (``send_email(to="cfo@company.com", subject="Q1")``), waits for
the decision, and then either runs with the arguments as approved and returns what it returns, or
raises :class:`ApprovalRejected` carrying the status and the reviewer's reason, which an agent can
hand to its model as the tool's result. Works on plain and ``async`` functions alike.

Where the final intent carries ``approved_payload`` (a reviewer edited some values before
approving), each argument whose value the reviewer changed is replaced by the approved value;
the others keep the very objects the caller passed.
"""

import asyncio
import dataclasses
import functools
import inspect
import json
import re
from typing import (
    Any,
    Callable,
    Dict,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    cast,
    overload,
)

from .aio import AsyncCountersignClient
from .client import CountersignClient
from .types import CreateIntentRequest, Intent, JsonObject, PolicyInput

F = TypeVar("F", bound=Callable[..., Any])
Summary = Union[str, Callable[..., str]]

SUMMARY_LIMIT = 500
ARGUMENT_PREVIEW_LIMIT = 80
#: Parameters that are the object a method is bound to, not an argument of the tool.
_RECEIVER_NAMES = ("self", "cls")


class ApprovalRejected(Exception):
    """The call was not approved, so the function did not run.

    Attributes:
        status: ``rejected``, ``timed_out`` (nobody decided and the timeout action is reject) or
            ``cancelled``.
        reason: the reviewer's comment (``decision.comment``), or ``None``.
        decided_by: a reviewer's email, ``timeout``, or who cancelled.
        tool: the name of the function that was not run.
        intent: the final intent.

    ``str(error)`` is a sentence meant for people and models alike, e.g.
    ``cfo@company.com rejected send_email: The report still names customers.``
    """

    def __init__(self, tool: str, intent: Intent) -> None:
        decision = intent.get("decision") or None
        self.tool = tool
        self.intent = intent
        self.intent_id = intent["id"]
        self.status: str = intent["status"]
        self.reason: Optional[str] = decision.get("comment") if decision else None
        self.decided_by: Optional[str] = decision.get("by") if decision else None
        super().__init__(self._sentence())

    def _sentence(self) -> str:
        why = f": {self.reason}" if self.reason else "."
        if self.status == "timed_out":
            return f"Nobody approved {self.tool} before its deadline, so it was not run{why}"
        if self.status == "cancelled":
            return f"The request to run {self.tool} was cancelled by {self.decided_by}{why}"
        return f"{self.decided_by or 'A reviewer'} rejected {self.tool}{why}"


@overload
def require_approval(client: F) -> F: ...


@overload
def require_approval(
    client: Union[CountersignClient, AsyncCountersignClient, None] = None,
    *,
    to_agent: Optional[str] = None,
    intent_type: Optional[str] = None,
    summary: Optional[Summary] = None,
    reviewers: Optional[Sequence[str]] = None,
    policy: Optional[PolicyInput] = None,
    editable: Optional[Sequence[str]] = None,
    timeout: Optional[float] = None,
    name: Optional[str] = None,
) -> Callable[[F], F]: ...


def require_approval(
    client: Union[CountersignClient, AsyncCountersignClient, Callable[..., Any], None] = None,
    *,
    to_agent: Optional[str] = None,
    intent_type: Optional[str] = None,
    summary: Optional[Summary] = None,
    reviewers: Optional[Sequence[str]] = None,
    policy: Optional[PolicyInput] = None,
    editable: Optional[Sequence[str]] = None,
    timeout: Optional[float] = None,
    name: Optional[str] = None,
) -> Any:
    """Makes a function ask for approval before each call.

    >>> @require_approval(client, reviewers=["cfo@company.com"])
    ... def send_report(report: str, to: str) -> str: ...
    >>> send_report("Q1 Financial Summary", to="board@company.com")  # waits, then runs or raises

    Args:
        client: a ``CountersignClient`` (or ``AsyncCountersignClient`` for ``async`` functions).
            Default: one made on first use from ``COUNTERSIGN_URL`` and ``COUNTERSIGN_API_KEY``.
            ``@require_approval`` without parentheses uses that default too.
        to_agent: the agent whose action waits. Default ``agent://tools/<name>``.
        intent_type: default ``intent.tool.<name>.v1``.
        summary: the line reviewers see: a ``str.format`` template over the arguments
            (``"Refund {amount} EUR to {customer}"``), or a function called with the same
            arguments. Default: the call as it reads, ``name(arg=value, ...)``.
        reviewers, policy, editable: passed on to the intent as the API defines them.
        timeout: seconds to wait before ``WaitTimeoutError`` (default: until decided).
        name: the tool's name; default the function's ``__name__``.

    Raises (from the wrapped call): :class:`ApprovalRejected` when the intent ends ``rejected``,
    ``timed_out`` (with the reject action) or ``cancelled``; ``WaitTimeoutError`` when
    ``timeout`` passes; any ``CountersignError`` of the API calls.
    """
    if callable(client) and not isinstance(client, (CountersignClient, AsyncCountersignClient)):
        return require_approval()(client)
    chosen: Union[CountersignClient, AsyncCountersignClient, None] = client

    def decorate(fn: F) -> F:
        tool = name or fn.__name__
        signature = inspect.signature(fn)
        is_async = inspect.iscoroutinefunction(fn)
        if not is_async and isinstance(chosen, AsyncCountersignClient):
            raise TypeError(
                f"require_approval: {tool} is not async; pass a CountersignClient, "
                "not an AsyncCountersignClient."
            )
        base: CreateIntentRequest = {
            "intent_type": intent_type or f"intent.tool.{_dotted_name_part(tool)}.v1",
            "to_agent": to_agent or f"agent://tools/{tool}",
            "payload": {},
        }
        if reviewers is not None:
            base["reviewers"] = list(reviewers)
        if policy is not None:
            base["policy"] = policy
        if editable is not None:
            base["editable"] = list(editable)
        made: Dict[str, Any] = {}

        def api_client(make: Callable[[], Any]) -> Any:
            """The given client, else one made from the environment on first use."""
            if chosen is not None:
                return chosen
            if "client" not in made:
                made["client"] = make()
            return made["client"]

        def prepare(args: Any, kwargs: Any) -> Tuple[inspect.BoundArguments, CreateIntentRequest]:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = {k: v for k, v in bound.arguments.items() if k not in _RECEIVER_NAMES}
            request = cast(CreateIntentRequest, dict(base))
            request["payload"] = {key: to_json(value) for key, value in arguments.items()}
            request["summary"] = _summary(tool, summary, arguments, args, kwargs)
            return bound, request

        def outcome(bound: inspect.BoundArguments, sent: JsonObject, intent: Intent) -> None:
            """Raises unless approved; applies a reviewer's edits to the arguments."""
            decision = intent.get("decision") or None
            approved = intent["status"] == "approved" or (
                intent["status"] == "timed_out"
                and decision is not None
                and decision.get("outcome") == "approved"
            )
            if not approved:
                raise ApprovalRejected(tool, intent)
            approved_payload = intent.get("approved_payload")
            if isinstance(approved_payload, dict):
                for key, value in approved_payload.items():
                    if key in bound.arguments and key in sent and sent[key] != value:
                        bound.arguments[key] = value

        if is_async:

            @functools.wraps(fn)
            async def ask_async(*args: Any, **kwargs: Any) -> Any:
                bound, request = prepare(args, kwargs)
                api = api_client(AsyncCountersignClient)
                if isinstance(api, AsyncCountersignClient):
                    intent_id = await api.send_intent(request)
                    intent = await api.wait_for(intent_id, timeout)
                else:
                    intent_id = await asyncio.to_thread(api.send_intent, request)
                    intent = await asyncio.to_thread(api.wait_for, intent_id, timeout)
                outcome(bound, request["payload"], intent)
                return await fn(*bound.args, **bound.kwargs)

            return cast(F, ask_async)

        @functools.wraps(fn)
        def ask(*args: Any, **kwargs: Any) -> Any:
            bound, request = prepare(args, kwargs)
            api = api_client(CountersignClient)
            assert isinstance(api, CountersignClient)
            intent = api.wait_for(api.send_intent(request), timeout)
            outcome(bound, request["payload"], intent)
            return fn(*bound.args, **bound.kwargs)

        return cast(F, ask)

    return decorate


def to_json(value: Any) -> Any:
    """An argument as JSON for the payload: JSON values as they are, tuples and sets as arrays,
    dataclasses and Pydantic models as objects, anything else as its ``repr``."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(dataclasses.asdict(value))
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return to_json(model_dump())
    return repr(value)


def _summary(
    tool: str,
    summary: Optional[Summary],
    arguments: Dict[str, Any],
    args: Any,
    kwargs: Any,
) -> str:
    if callable(summary):
        text = summary(*args, **kwargs)
    elif summary is not None:
        text = summary.format(**arguments)
    else:
        shown = ", ".join(
            f"{key}={_preview(to_json(value))}" for key, value in arguments.items()
        )
        text = f"{tool}({shown})"
    text = " ".join(text.split()) or tool
    return _truncate(text, SUMMARY_LIMIT)


def _preview(value: Any) -> str:
    return _truncate(json.dumps(value, ensure_ascii=False), ARGUMENT_PREVIEW_LIMIT)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _dotted_name_part(tool: str) -> str:
    """The tool's name as one part of a dotted intent type (letters, digits, ``_`` and ``-``)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", tool).strip("_") or "tool"
