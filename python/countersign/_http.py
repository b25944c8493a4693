"""The HTTP layer under both clients: one attempt of one call over ``urllib``, and the retry logic.

The retry and long-poll logic is written once, as generators that *yield* what they need done
(:class:`Send` one request, :class:`Sleep` a while) and receive the answers; the blocking client
runs them with ``time.sleep`` and a direct call, the asyncio client with ``asyncio.sleep`` and
the call in a worker thread. So the two clients cannot drift apart. Internal: the public surface
is ``CountersignClient`` and ``AsyncCountersignClient``.
"""

import email.utils
import json
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.client import HTTPException, HTTPResponse
from typing import Any, Callable, Dict, Generator, Mapping, Optional, Union

from ._websocket import WebSocket, WebSocketClosed
from .errors import CountersignError, CountersignNetworkError, error_for_status

BASE_BACKOFF = 0.25
MAX_BACKOFF = 5.0
#: A server may ask for a longer pause (Retry-After), but not for an unbounded one.
MAX_RETRY_AFTER = 60.0
ERROR_SNIPPET_LENGTH = 200
REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-requestid", "apigw-requestid")


@dataclass(frozen=True)
class Request:
    method: str
    #: Path under the base URL, starting with ``/``, its segments already encoded.
    path: str
    query: Mapping[str, Union[str, int, None]] = field(default_factory=dict)
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Whether network errors, 408, 429 and 5xx may be retried: calls that are safe to repeat.
    retry: bool = False
    #: Overrides the client's request timeout for this call, in seconds.
    timeout: Optional[float] = None
    #: ``False`` for the unauthenticated health check.
    authenticate: bool = True
    #: Also answer this response header: the plan then receives :class:`Answered`.
    response_header: Optional[str] = None


@dataclass(frozen=True)
class Answered:
    """A JSON answer with the response header the request asked for (``None`` if absent)."""

    body: Any
    header: Optional[str]


@dataclass(frozen=True)
class Send:
    """Step of a plan: send this request once; the plan receives the JSON or the error."""

    request: Request


@dataclass(frozen=True)
class Sleep:
    """Step of a plan: wait this many seconds."""

    seconds: float


@dataclass(frozen=True)
class Listen:
    """Step of a plan (``wait_for`` on the wait channel): on the WebSocket to ``url`` (opened if
    none is, or anew if ``fresh``), send ``message`` if given, then receive one message for at
    most ``seconds``. The plan receives its text, or ``None`` when none came; a connection that
    fails is closed and raises :class:`CountersignNetworkError`."""

    url: str
    message: Optional[str]
    seconds: float
    fresh: bool = False


class WaitChannel:
    """The WebSocket a plan's :class:`Listen` steps share; the runner closes it at the end."""

    def __init__(self, connect_timeout: float) -> None:
        self._connect_timeout = connect_timeout
        self._socket: Optional[WebSocket] = None
        self._url: Optional[str] = None

    def listen(self, step: Listen) -> Optional[str]:
        if step.fresh or step.url != self._url:
            self.close()
        try:
            if self._socket is None:
                self._socket = WebSocket.connect(step.url, self._connect_timeout)
                self._url = step.url
            if step.message is not None:
                self._socket.send_text(step.message)
            return self._socket.receive(step.seconds)
        except (WebSocketClosed, OSError, ValueError) as error:
            self.close()
            host = urllib.parse.urlsplit(step.url).netloc
            raise CountersignNetworkError(
                f"The wait channel {host} failed ({error or type(error).__name__}).",
                code="network_error",
            ) from error

    def close(self) -> None:
        socket, self._socket, self._url = self._socket, None, None
        if socket is not None:
            socket.close()


Step = Union[Send, Sleep, Listen]
Plan = Generator[Step, Any, Any]
"""A call as a generator of steps; its return value is the call's result."""


class Transport:
    """Sends one request and turns the answer into JSON or a :class:`CountersignError`."""

    def __init__(
        self, base_url: str, api_key: str, user_agent: str, request_timeout: float
    ) -> None:
        self.base_url = base_url
        self._api_key = api_key
        self._user_agent = user_agent
        self.request_timeout = request_timeout

    def send(self, request: Request) -> Any:
        """One attempt, no retry."""
        label = f"{request.method} {request.path}"
        timeout = request.timeout if request.timeout is not None else self.request_timeout
        data = (
            json.dumps(request.body if request.body is not None else {}).encode("utf-8")
            if _sends_body(request.method)
            else None
        )
        http_request = urllib.request.Request(
            self._url(request), data=data, method=request.method, headers=self._headers(request)
        )
        try:
            response: HTTPResponse = urllib.request.urlopen(http_request, timeout=timeout)
            with response:
                status, headers, text = response.status, response.headers, _read(response)
        except urllib.error.HTTPError as error:
            with error:
                try:
                    text = _read(error)
                except (OSError, HTTPException):
                    text = ""
            raise self._error_from(error.code, error.reason, error.headers, text, label) from None
        except (socket.timeout, TimeoutError) as cause:
            raise CountersignNetworkError(
                f"{label} timed out after {timeout:g} s.", code="request_timeout"
            ) from cause
        except (OSError, HTTPException, ValueError) as cause:
            reason = cause.reason if isinstance(cause, urllib.error.URLError) else cause
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise CountersignNetworkError(
                    f"{label} timed out after {timeout:g} s.", code="request_timeout"
                ) from cause
            raise CountersignNetworkError(
                f"{label} failed: could not reach {self._origin()} "
                f"({self._redact(str(reason) or type(reason).__name__)}).",
                code="network_error",
            ) from cause
        try:
            body = json.loads(text)
            if request.response_header is None:
                return body
            return Answered(body, headers.get(request.response_header))
        except ValueError:
            raise CountersignError(
                f"{label} answered HTTP {status} with a body that is not JSON.",
                code="invalid_response",
                status=status,
                request_id=_request_id(headers),
            ) from None

    def _url(self, request: Request) -> str:
        query = {name: str(value) for name, value in request.query.items() if value is not None}
        suffix = f"?{urllib.parse.urlencode(query)}" if query else ""
        return f"{self.base_url}{request.path}{suffix}"

    def _headers(self, request: Request) -> Dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": self._user_agent}
        if _sends_body(request.method):
            headers["Content-Type"] = "application/json"
        if request.authenticate:
            headers["Authorization"] = f"Bearer {self._api_key}"
        headers.update(request.headers)
        return headers

    def _origin(self) -> str:
        parts = urllib.parse.urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def _error_from(
        self, status: int, reason: str, headers: Any, text: str, label: str
    ) -> CountersignError:
        request_id = _request_id(headers)
        retry_after = parse_retry_after(headers.get("Retry-After") if headers else None)
        body = _parse_json(text)
        contract = body.get("error") if isinstance(body, dict) else None
        if isinstance(contract, dict) and isinstance(contract.get("code"), str):
            code: str = contract["code"]
            message = contract.get("message")
            if not isinstance(message, str) or message == "":
                message = f"{label} failed with HTTP {status} ({code})."
            details = contract.get("details")
            intent = contract.get("intent")
            return error_for_status(
                status,
                self._redact(message),
                code=code,
                details=details if isinstance(details, list) else [],
                intent=intent if isinstance(intent, dict) else None,  # type: ignore[arg-type]
                request_id=request_id,
                retry_after=retry_after,
            )
        # Not the contract's body: a gateway, proxy or load balancer answered.
        said = (
            body["message"]
            if isinstance(body, dict) and isinstance(body.get("message"), str)
            else " ".join(text.split())[:ERROR_SNIPPET_LENGTH]
        )
        status_line = f"HTTP {status}{f' {reason}' if reason else ''}"
        return error_for_status(
            status,
            self._redact(f"{label} failed with {status_line}{f': {said}' if said else '.'}"),
            code=f"http_{status}",
            request_id=request_id,
            retry_after=retry_after,
        )

    def _redact(self, text: str) -> str:
        """Server text goes into messages; make sure it can never carry the API key with it."""
        return text.replace(self._api_key, "[redacted]") if self._api_key else text


def backoff_delay(
    failures: int,
    retry_after: Optional[float] = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Exponential backoff with jitter, in seconds: 0.25 s doubling to a 5 s cap, each delay drawn
    from the upper half of its step, so that many clients restarted together spread out. A
    server's Retry-After (up to 60 s) is a lower bound.
    """
    step = min(MAX_BACKOFF, BASE_BACKOFF * 2.0 ** max(0, failures - 1))
    jittered = step / 2 + rand() * (step / 2)
    return max(jittered, min(retry_after or 0.0, MAX_RETRY_AFTER))


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """Retry-After in delta-seconds or as an HTTP date, in seconds from now."""
    if value is None or value.strip() == "":
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retrying(request: Request, max_retries: int) -> Plan:
    """Sends ``request``, retrying transient failures with backoff when ``request.retry`` allows.
    Every attempt sends the same headers, so an Idempotency-Key is reused by the retries."""
    failures = 0
    while True:
        try:
            return (yield Send(request))
        except CountersignError as error:
            failures += 1
            if not request.retry or failures > max_retries or not error.transient:
                raise
            yield Sleep(backoff_delay(failures, error.retry_after))


def _sends_body(method: str) -> bool:
    """POST and PUT carry a JSON body (``{}`` when there is none); GET and DELETE none."""
    return method in ("POST", "PUT")


def _read(response: Any) -> str:
    raw: bytes = response.read()
    return raw.decode("utf-8", errors="replace")


def _request_id(headers: Any) -> Optional[str]:
    if headers is None:
        return None
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return str(value)
    return None


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
