"""What both clients share: configuration from the environment, and each API call as a plan.

A plan (see ``_http``) is a generator that yields the requests to send and the pauses to make and
returns the call's result. ``CountersignClient`` runs plans blocking, ``AsyncCountersignClient``
runs them on an event loop; the endpoints, retries, idempotency keys and the long-poll loop of
``wait_for`` are therefore written once, here.
"""

import math
import os
import time
import urllib.parse
import uuid
from typing import Any, Callable, Dict, Optional, Sequence

from ._http import Plan, Request, Send, Sleep, Transport, backoff_delay, retrying
from .audit import verify_events
from .errors import CountersignError, WaitTimeoutError
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
        """Long-polls ``GET /v1/intents/{id}/wait`` until the intent leaves ``pending``.

        Keeps waiting through network errors, 408, 429, 5xx and restarts, backing off from 0.25
        to 5 s with jitter (reset after each answer) and honouring Retry-After; other errors
        (401, 403, 404) are permanent and raised at once.
        """
        hold_max = min(MAX_POLL_SECONDS, max(MIN_POLL_SECONDS, round(poll_seconds)))
        clock = self._clock
        deadline = None if timeout is None else clock() + timeout

        def remaining() -> float:
            return math.inf if deadline is None else deadline - clock()

        last_intent: Optional[Intent] = None
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


def intent_path(intent_id: str) -> str:
    return f"/v1/intents/{quote(intent_id)}"


def policy_path(intent_type: str) -> str:
    """``/v1/policies/{pattern}``, encoded as the TypeScript SDK's ``encodeURIComponent`` does:
    ``*`` (``intent.payment.*``) stays as it is, ``/`` and ``?`` cannot change the route."""
    return f"/v1/policies/{urllib.parse.quote(intent_type, safe=URI_COMPONENT_SAFE)}"


def quote(segment: str) -> str:
    """One path segment, encoded so that ``/``, ``?`` or ``..`` in an id cannot change the route."""
    return urllib.parse.quote(segment, safe="")
