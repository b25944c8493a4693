"""What both clients share: configuration from the environment, and each API call as a plan.

A plan (see ``_http``) is a generator that yields the requests to send and the pauses to make and
returns the call's result. ``CountersignClient`` runs plans blocking, ``AsyncCountersignClient``
runs them on an event loop; the endpoints, retries, idempotency keys and the long-poll loop of
``wait_for`` are therefore written once, here.
"""

import json
import math
import os
import time
import urllib.parse
import uuid
from typing import Any, Callable, Dict, Optional, Sequence

from ._http import (
    Answered,
    Listen,
    Plan,
    Request,
    Send,
    Sleep,
    Transport,
    backoff_delay,
    retrying,
)
from .audit import verify_events
from .errors import CountersignError, CountersignNetworkError, WaitTimeoutError, error_for_status
from .signatures import JWKS_PATH
from .types import (
    BulkDecisionItem,
    CreateIntentRequest,
    CreateKeyRequest,
    DecisionRequest,
    Intent,
    OperatorPolicy,
    PolicyDryRunRequest,
    PutReviewerProfileRequest,
    PutTeamRequest,
)

SDK_VERSION = "0.1.0"
DEFAULT_BASE_URL = "http://127.0.0.1:4700"
DEFAULT_REQUEST_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_POLL_SECONDS = 20
MIN_POLL_SECONDS = 1
MAX_POLL_SECONDS = 25
#: A long poll that answers ``pending`` early (a proxy, a misbehaving server) must not turn
#: ``wait_for`` into a tight loop: polls start at most once a second.
MIN_POLL_INTERVAL = 1.0
#: ``wait_for`` may end its last long poll this much after its timeout, and no more.
WAIT_OVERSHOOT = 1.0
#: What ``encodeURIComponent`` leaves as it is besides letters, digits and ``-_.~``.
URI_COMPONENT_SAFE = "!*'()"
#: How often ``verify_events(intent_id)`` reads a trail that grows while it is read.
TRAIL_READS = 5
#: The response header of ``GET /v1/intents/{id}`` that names the wait channel.
WAIT_CHANNEL_HEADER = "Countersign-Wait-Url"
#: How often a wait on the channel subscribes again: within API Gateway's 10-minute idle limit,
#: and a catch-up should a push have been lost (as the TypeScript SDK).
WAIT_REFRESH = 300.0
#: Connections in a row without a single answer before ``wait_for`` reads the intent again over
#: HTTP (and long-polls if the API answers there but its channel does not).
UNANSWERED_CONNECTIONS = 3


class ClientCore:
    """The configuration and the plans of every call; the clients add how plans are run."""

    def __init__(
        self,
        base_url: Optional[str],
        api_key: Optional[str],
        *,
        request_timeout: float,
        max_retries: int,
        user_agent: Optional[str],
        idempotency_key_factory: Optional[Callable[[], str]],
        clock: Callable[[], float] = time.monotonic,
        wait_channel: bool = True,
    ) -> None:
        url = base_url or os.environ.get("COUNTERSIGN_URL") or DEFAULT_BASE_URL
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an absolute http(s) URL, got {url!r}.")
        key = api_key if api_key is not None else os.environ.get("COUNTERSIGN_API_KEY")
        if not key or not key.strip():
            raise ValueError(
                "An API key is required: pass api_key=... or set COUNTERSIGN_API_KEY."
            )
        if request_timeout <= 0:
            raise ValueError("request_timeout must be positive.")
        sdk_agent = f"countersign-sdk-python/{SDK_VERSION}"
        self.transport = Transport(
            url.rstrip("/"),
            key,
            f"{user_agent} {sdk_agent}" if user_agent else sdk_agent,
            request_timeout,
        )
        self.max_retries = max_retries
        self._new_idempotency_key = idempotency_key_factory or (lambda: str(uuid.uuid4()))
        self._clock = clock
        self._api_key = key
        self.wait_channel = wait_channel

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    def call(
        self,
        method: str,
        path: str,
        *,
        retry: bool,
        body: Any = None,
        query: Optional[Dict[str, Any]] = None,
        headers: Optional[Dict[str, str]] = None,
        authenticate: bool = True,
    ) -> Plan:
        request = Request(
            method,
            path,
            query=query or {},
            body=body,
            headers=headers or {},
            retry=retry,
            authenticate=authenticate,
        )
        return retrying(request, self.max_retries)

    def create_intent(
        self, request: CreateIntentRequest, idempotency_key: Optional[str]
    ) -> Plan:
        # One key for every attempt of this call: that is what makes the retries safe.
        key = idempotency_key or self._new_idempotency_key()
        return self.call(
            "POST", "/v1/intents", body=request, headers={"Idempotency-Key": key}, retry=True
        )

    def get_intent(self, intent_id: str) -> Plan:
        return self.call("GET", intent_path(intent_id), retry=True)

    def list_intents(
        self,
        status: Optional[str],
        reviewer: Optional[str],
        limit: Optional[int],
        cursor: Optional[str],
    ) -> Plan:
        query = {"status": status, "reviewer": reviewer, "limit": limit, "cursor": cursor}
        return self.call("GET", "/v1/intents", query=query, retry=True)

    def decide(self, intent_id: str, decision: DecisionRequest) -> Plan:
        # Not retried: a repeated vote would be 409.
        return self.call("POST", f"{intent_path(intent_id)}/decision", body=decision, retry=False)

    def decide_many(self, decisions: Sequence[BulkDecisionItem]) -> Plan:
        # Not retried: a repeat would answer 409 for every item the first attempt decided.
        return self.call("POST", "/v1/decisions", body={"decisions": list(decisions)}, retry=False)

    def cancel(self, intent_id: str, reason: Optional[str]) -> Plan:
        body = {} if reason is None else {"reason": reason}
        return self.call("POST", f"{intent_path(intent_id)}/cancel", body=body, retry=False)

    def events(self, intent_id: str) -> Plan:
        return self.call("GET", f"{intent_path(intent_id)}/events", retry=True)

    def verify_trail(self, intent_id: str) -> Plan:
        """Reads the trail, then the intent, and verifies one against the other.

        A trail may still grow while it is read (notices and callbacks after a decision), so when
        the intent records more events than were read, both are read again (at most
        ``TRAIL_READS`` times): read in this order, a sound trail is never longer than its intent.
        """
        for attempt in range(1, TRAIL_READS + 1):
            events = (yield from self.events(intent_id))["items"]
            intent = yield from self.get_intent(intent_id)
            if intent["event_count"] <= len(events) or attempt == TRAIL_READS:
                return verify_events(events, intent)
        raise AssertionError("unreachable")  # pragma: no cover

    def create_key(self, request: CreateKeyRequest) -> Plan:
        # Not retried: a retry could create a second key.
        return self.call("POST", "/v1/keys", body=request, retry=False)

    def list_keys(self) -> Plan:
        return self.call("GET", "/v1/keys", retry=True)

    def revoke_key(self, key_id: str) -> Plan:
        return self.call("DELETE", f"/v1/keys/{quote(key_id)}", retry=True)

    def put_team(self, team: PutTeamRequest) -> Plan:
        # Replacing a team with the same body twice leaves the same team.
        return self.call("POST", "/v1/teams", body=team, retry=True)

    def list_teams(self) -> Plan:
        return self.call("GET", "/v1/teams", retry=True)

    def delete_team(self, name: str) -> Plan:
        return self.call("DELETE", f"/v1/teams/{quote(name)}", retry=False)

    def put_reviewer_profile(self, email: str, profile: PutReviewerProfileRequest) -> Plan:
        # The same body twice leaves the same profile.
        return self.call("PUT", f"/v1/reviewers/{quote(email)}", body=profile, retry=True)

    def get_reviewer_profile(self, email: str) -> Plan:
        return self.call("GET", f"/v1/reviewers/{quote(email)}", retry=True)

    def list_reviewer_profiles(self, out_of_office: Optional[bool]) -> Plan:
        query = {} if out_of_office is None else {"out_of_office": str(out_of_office).lower()}
        return self.call("GET", "/v1/reviewers", query=query, retry=True)

    def put_policy(self, intent_type: str, policy: OperatorPolicy) -> Plan:
        # Writing the same policy again only bumps its version, so a retry is safe.
        return self.call("PUT", policy_path(intent_type), body=policy, retry=True)

    def get_policy(self, intent_type: str) -> Plan:
        return self.call("GET", policy_path(intent_type), retry=True)

    def list_policies(self) -> Plan:
        return self.call("GET", "/v1/policies", retry=True)

    def delete_policy(self, intent_type: str) -> Plan:
        # Not retried: a repeat would be 404.
        return self.call("DELETE", policy_path(intent_type), retry=False)

    def dry_run_policy(
        self, intent_type: str, policy: OperatorPolicy, limit: Optional[int]
    ) -> Plan:
        body: PolicyDryRunRequest = {"intent_type": intent_type, "policy": policy}
        if limit is not None:
            body["limit"] = limit
        # Reads only, so it is retried.
        return self.call("POST", "/v1/policies/dry-run", body=body, retry=True)

    def jwks(self) -> Plan:
        # Public keys: no API key needed, so none is sent.
        return self.call("GET", JWKS_PATH, retry=True, authenticate=False)

    def health(self) -> Plan:
        return self.call("GET", "/healthz", retry=True, authenticate=False)

    def wait_for(
        self, intent_id: str, timeout: Optional[float], poll_seconds: float
    ) -> Plan:
        """Waits until the intent leaves ``pending``: on the wait channel where the API names one
        (``Countersign-Wait-Url``, a WebSocket the decision is pushed onto), else by long poll.

        It reads the intent once first (a final one is returned at once). Either way it keeps
        waiting through network errors, dropped connections, 408, 429, 5xx and restarts, backing
        off from 0.25 to 5 s with jitter (reset after each answer) and honouring Retry-After;
        other errors (401, 403, 404) are permanent and raised at once.
        """
        clock = self._clock
        deadline = None if timeout is None else clock() + timeout

        def remaining() -> float:
            return math.inf if deadline is None else deadline - clock()

        last_intent: Optional[Intent] = None
        # The wait channel where the API names one. When it stays unreachable, the intent is read
        # again: an API that answers while its channel does not (a proxy refusing WebSockets)
        # leaves the waiting to the long poll; one that does not answer either (a restart) is
        # waited for on the channel again.
        url: Optional[str] = None
        while self.wait_channel:
            read = Request(
                "GET",
                intent_path(intent_id),
                retry=True,
                timeout=min(self.transport.request_timeout, remaining() + WAIT_OVERSHOOT),
                response_header=WAIT_CHANNEL_HEADER,
            )
            try:
                answered: Answered = yield from retrying(read, self.max_retries)
            except CountersignError as error:
                if not error.transient:
                    raise
                if url is None:
                    break
            else:
                last_intent = answered.body
                if answered.body["status"] != "pending":
                    return answered.body
                named = usable_wait_url(answered.header, self.base_url)
                if url is not None or named is None:
                    break
                url = named
            outcome = yield from self._wait_on_channel(intent_id, url, timeout, remaining, last_intent)
            if outcome is not None:
                return outcome
        return (
            yield from self._long_poll(intent_id, timeout, poll_seconds, remaining, last_intent)
        )

    def _wait_on_channel(
        self,
        intent_id: str,
        url: str,
        timeout: Optional[float],
        remaining: Callable[[], float],
        last_intent: Optional[Intent],
    ) -> Plan:
        """Subscribes (again after each refresh or dropped connection: the answer is the intent
        as it is now, so a decision made meanwhile is found) and listens for the push. Returns
        ``None`` when UNANSWERED_CONNECTIONS connections in a row got no answer at all."""
        clock = self._clock
        subscribe = json.dumps(
            {"action": "subscribe", "intent_id": intent_id, "key": self._api_key}
        )
        last_failure: Optional[CountersignError] = None
        failures = 0
        unanswered = 0
        fresh = False
        while True:
            if remaining() <= 0:
                raise WaitTimeoutError(intent_id, timeout or 0.0, last_intent) from last_failure
            try:
                text = yield Listen(
                    url, subscribe, min(self.transport.request_timeout, remaining()), fresh
                )
                fresh = False
                if text is None:
                    raise CountersignNetworkError(
                        "The wait channel did not answer a subscribe.", code="network_error"
                    )
                unanswered = -1
                refresh_at = clock() + WAIT_REFRESH
                while text is not None:
                    intent = channel_intent(text)
                    if intent is not None:
                        if intent["status"] != "pending":
                            return intent
                        last_intent = intent
                        failures = 0
                        last_failure = None
                    wait = min(refresh_at - clock(), remaining())
                    if wait <= 0:
                        break
                    text = yield Listen(url, None, wait)
            except CountersignError as error:
                if not error.transient:
                    raise
                failures += 1
                last_failure = error
                fresh = True
                unanswered = 0 if unanswered < 0 else unanswered + 1
                if unanswered >= UNANSWERED_CONNECTIONS and remaining() > 0:
                    return None
                delay = backoff_delay(failures, error.retry_after)
                yield Sleep(min(delay, max(0.0, remaining())))

    def _long_poll(
        self,
        intent_id: str,
        timeout: Optional[float],
        poll_seconds: float,
        remaining: Callable[[], float],
        last_intent: Optional[Intent],
    ) -> Plan:
        """Long-polls ``GET /v1/intents/{id}/wait`` until the intent leaves ``pending``."""
        hold_max = min(MAX_POLL_SECONDS, max(MIN_POLL_SECONDS, round(poll_seconds)))
        clock = self._clock
        last_failure: Optional[CountersignError] = None
        failures = 0
        while True:
            if remaining() <= 0:
                raise WaitTimeoutError(intent_id, timeout or 0.0, last_intent) from last_failure
            # Round up: the poll may end up to a second after the deadline, never before it.
            hold = min(hold_max, max(MIN_POLL_SECONDS, math.ceil(min(remaining(), 3600.0))))
            started = clock()
            request = Request(
                "GET",
                f"{intent_path(intent_id)}/wait",
                query={"timeout": hold},
                # A server that holds too long must not carry the wait past its deadline either.
                timeout=min(hold + self.transport.request_timeout, remaining() + WAIT_OVERSHOOT),
            )
            try:
                intent: Intent = yield Send(request)
            except CountersignError as error:
                if not error.transient:
                    raise
                failures += 1
                last_failure = error
                delay = backoff_delay(failures, error.retry_after)
                yield Sleep(min(delay, max(0.0, remaining())))
                continue
            failures = 0
            last_failure = None
            last_intent = intent
            if intent["status"] != "pending":
                return intent
            early = MIN_POLL_INTERVAL - (clock() - started)
            if early > 0:
                yield Sleep(min(early, max(0.0, remaining())))


def channel_intent(text: str) -> Optional[Intent]:
    """The intent of a wait-channel message; its error as the REST API's exception; ``None`` for
    anything else (a pong)."""
    try:
        message = json.loads(text)
    except ValueError:
        raise CountersignNetworkError(
            "The wait channel sent a message that is not JSON.", code="network_error"
        ) from None
    if not isinstance(message, dict):
        return None
    if message.get("type") == "intent" and isinstance(message.get("intent"), dict):
        intent: Intent = message["intent"]
        return intent
    if message.get("type") == "error":
        found = message.get("error")
        error: Dict[str, Any] = found if isinstance(found, dict) else {}
        status = message.get("status")
        retry_after = message.get("retry_after")
        raise error_for_status(
            status if isinstance(status, int) else 500,
            str(error.get("message", "The wait channel refused the subscribe.")),
            code=str(error.get("code", "internal")),
            retry_after=float(retry_after) if isinstance(retry_after, (int, float)) else None,
        )
    return None


def usable_wait_url(named: Optional[str], base_url: str) -> Optional[str]:
    """The named wait channel if the key may go there: ``wss:``, or ``ws:`` on the API's own host
    name when the API itself is plain ``http:`` (never in clear to another host on the word of a
    header)."""
    if not named:
        return None
    url = urllib.parse.urlsplit(named)
    api = urllib.parse.urlsplit(base_url)
    if url.scheme == "wss" and url.hostname:
        return named
    if url.scheme == "ws" and api.scheme == "http" and url.hostname == api.hostname:
        return named
    return None


def intent_path(intent_id: str) -> str:
    return f"/v1/intents/{quote(intent_id)}"


def policy_path(intent_type: str) -> str:
    """``/v1/policies/{pattern}``, encoded as the TypeScript SDK's ``encodeURIComponent`` does:
    ``*`` (``intent.payment.*``) stays as it is, ``/`` and ``?`` cannot change the route."""
    return f"/v1/policies/{urllib.parse.quote(intent_type, safe=URI_COMPONENT_SAFE)}"


def quote(segment: str) -> str:
    """One path segment, encoded so that ``/``, ``?`` or ``..`` in an id cannot change the route."""
    return urllib.parse.quote(segment, safe="")
