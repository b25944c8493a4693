"""``AsyncCountersignClient``: the asyncio client, with the same methods as the blocking one.

Standard library only: each HTTP call runs in a worker thread (``asyncio.to_thread``) and the
pauses between retries are ``asyncio.sleep``, so the event loop is never blocked and cancelling
the task stops a wait at once. A call already on the wire finishes in its thread (bounded by
``request_timeout`` plus the long poll's hold); its answer is then dropped.
"""

import asyncio
from typing import Any, AsyncIterator, Awaitable, Callable, Optional, Sequence

from ._core import DEFAULT_MAX_RETRIES, DEFAULT_POLL_SECONDS, DEFAULT_REQUEST_TIMEOUT, ClientCore
from ._http import Listen, Plan, Sleep, WaitChannel
from .audit import TrailVerification
from .errors import CountersignError
from .signatures import JsonWebKeySet
from .types import (
    ApiKey,
    CreatedKey,
    CreateIntentRequest,
    CreateKeyRequest,
    BulkDecisionItem,
    BulkDecisionResponse,
    DecisionRequest,
    EventsResponse,
    HealthResponse,
    Intent,
    IntentStatus,
    ListIntentsResponse,
    ListKeysResponse,
    ListPoliciesResponse,
    ListReviewerProfilesResponse,
    ListTeamsResponse,
    OperatorPolicy,
    PolicyDryRunResponse,
    PutReviewerProfileRequest,
    PutTeamRequest,
    ReviewerProfile,
    StoredPolicy,
    Team,
)


class AsyncCountersignClient:
    """The asyncio twin of :class:`~countersign.CountersignClient`; see it for each method.

    >>> client = AsyncCountersignClient()
    >>> intent_id = await client.send_intent({...})
    >>> result = await client.wait_for(intent_id)

    ``base_url`` defaults to ``$COUNTERSIGN_URL``, then to the local stack; ``api_key`` to
    ``$COUNTERSIGN_API_KEY``. ``sleep`` is awaited between retries (default ``asyncio.sleep``).

    Args:
        request_timeout: the longest one HTTP call may take, in seconds; long polls get this on
            top of the time they ask the server to hold.
        max_retries: how often a call that is safe to repeat (reads, creating an intent,
            replacing a team, revoking a key) is retried after a network error, 408, 429 or 5xx.
            ``wait_for`` does not use it: it retries until its own timeout.
        user_agent: a product token put in front of the SDK's User-Agent, e.g. ``my-agent/1.2``.
        idempotency_key_factory: makes the Idempotency-Key of a create when the caller gives none.
        sleep: awaited between retries; inject one for fast tests.
    """

    def __init__(
        self,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        user_agent: Optional[str] = None,
        idempotency_key_factory: Optional[Callable[[], str]] = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wait_channel: bool = True,
    ) -> None:
        self._core = ClientCore(
            base_url,
            api_key,
            request_timeout=request_timeout,
            max_retries=max_retries,
            user_agent=user_agent,
            idempotency_key_factory=idempotency_key_factory,
            wait_channel=wait_channel,
        )
        self._sleep = sleep

    @property
    def base_url(self) -> str:
        return self._core.base_url

    async def _run(self, plan: Plan) -> Any:
        """Runs a plan: sends its requests, makes its pauses, returns its result."""
        channel = WaitChannel(self._core.transport.request_timeout)
        try:
            step = next(plan)
            while True:
                try:
                    if isinstance(step, Sleep):
                        await self._sleep(step.seconds)
                        step = plan.send(None)
                        continue
                    try:
                        if isinstance(step, Listen):
                            answer = await asyncio.to_thread(channel.listen, step)
                        else:
                            answer = await asyncio.to_thread(
                                self._core.transport.send, step.request
                            )
                    except CountersignError as error:
                        step = plan.throw(error)
                        continue
                    step = plan.send(answer)
                except StopIteration as done:
                    return done.value
        finally:
            await asyncio.to_thread(channel.close)

    async def send_intent(
        self, request: CreateIntentRequest, *, idempotency_key: Optional[str] = None
    ) -> str:
        """Creates an intent and returns its id.

        Always sends an Idempotency-Key (a fresh UUID unless given), reused by every retry, so
        network errors, 429 and 5xx are retried without ever creating the intent twice. Pass
        your own key to make a create safe across process restarts.
        """
        return (await self.create_intent(request, idempotency_key=idempotency_key))["id"]

    async def create_intent(
        self, request: CreateIntentRequest, *, idempotency_key: Optional[str] = None
    ) -> Intent:
        """Like :meth:`send_intent`, but returns the whole intent (resolved policy, recipients)."""
        result: Intent = await self._run(self._core.create_intent(request, idempotency_key))
        return result

    async def get_intent(self, intent_id: str) -> Intent:
        """The intent as it is now; ``NotFoundError`` where the caller may not see it."""
        result: Intent = await self._run(self._core.get_intent(intent_id))
        return result

    async def wait_for(
        self,
        intent_id: str,
        timeout: Optional[float] = None,
        *,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> Intent:
        """Waits until the intent is no longer ``pending`` and returns it: ``approved``,
        ``rejected``, ``timed_out`` or ``cancelled``.

        Reads the intent once; where the API names a wait channel (``Countersign-Wait-Url``) it
        subscribes on that WebSocket and is told of the decision, else it long-polls. It keeps
        waiting through network errors, dropped connections, 408, 429, 5xx and server restarts,
        backing off with jitter and honouring Retry-After, and finds a decision made while it was
        disconnected. Other errors (401, 403, 404) are raised at once.

        Args:
            timeout: give up after this many seconds with ``WaitTimeoutError`` (at most about a
                second late); the intent is not touched. Default: wait until it is decided, which
                the policy's timeout guarantees eventually.
            poll_seconds: how long each long poll asks the server to hold, 1 to 25.
        """
        result: Intent = await self._run(self._core.wait_for(intent_id, timeout, poll_seconds))
        return result

    async def list_intents(
        self,
        *,
        status: Optional[IntentStatus] = None,
        reviewer: Optional[str] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> ListIntentsResponse:
        """One page of intents, newest first. ``reviewer="me"``: what the caller may decide now."""
        result: ListIntentsResponse = await self._run(
            self._core.list_intents(status, reviewer, limit, cursor)
        )
        return result

    async def iter_intents(
        self,
        *,
        status: Optional[IntentStatus] = None,
        reviewer: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> AsyncIterator[Intent]:
        """Every intent matching, following ``next_cursor`` page by page as the loop asks."""
        cursor: Optional[str] = None
        while True:
            page = await self.list_intents(
                status=status, reviewer=reviewer, limit=limit, cursor=cursor
            )
            for intent in page["items"]:
                yield intent
            cursor = page["next_cursor"]
            if cursor is None:
                return

    async def decide(self, intent_id: str, decision: DecisionRequest) -> Intent:
        """Records the calling reviewer's vote; the intent stays ``pending`` while a quorum or a
        later step still needs approvals. Not retried: a repeated vote would be 409."""
        result: Intent = await self._run(self._core.decide(intent_id, decision))
        return result

    async def approve(self, intent_id: str, comment: Optional[str] = None) -> Intent:
        """Approves, as the calling reviewer."""
        decision: DecisionRequest = {"outcome": "approve"}
        if comment is not None:
            decision["comment"] = comment
        return await self.decide(intent_id, decision)

    async def reject(self, intent_id: str, comment: str) -> Intent:
        """Rejects, as the calling reviewer. A rejection says why, so the comment is required."""
        return await self.decide(intent_id, {"outcome": "reject", "comment": comment})

    async def decide_many(self, decisions: Sequence[BulkDecisionItem]) -> BulkDecisionResponse:
        """Decides up to 100 intents in one request (``POST /v1/decisions``). Each result is what
        :meth:`decide` would have answered for that intent alone, in the order asked: check each
        ``status`` (200 with ``intent``, else ``error``). Only a request refused as a whole (over
        100 items, an intent named twice) raises. Not retried: a repeat would be 409s."""
        result: BulkDecisionResponse = await self._run(self._core.decide_many(decisions))
        return result

    async def cancel(self, intent_id: str, reason: Optional[str] = None) -> Intent:
        """Cancels a pending intent (its creating agent, or an admin); ``ConflictError``
        (``not_pending``) once decided, with the decided intent on the error."""
        result: Intent = await self._run(self._core.cancel(intent_id, reason))
        return result

    async def events(self, intent_id: str) -> EventsResponse:
        """The intent's hash-chained audit trail, oldest first."""
        result: EventsResponse = await self._run(self._core.events(intent_id))
        return result

    async def verify_events(self, intent_id: str) -> TrailVerification:
        """Fetches the trail and the intent and verifies the hash chain against the intent's
        ``event_count`` and ``last_event_hash`` (see :func:`countersign.verify_events`). A trail
        that grows while it is read (notices after a decision) is read again."""
        result: TrailVerification = await self._run(self._core.verify_trail(intent_id))
        return result

    async def create_key(self, request: CreateKeyRequest) -> CreatedKey:
        """Creates an API key (admin). The returned ``key`` is shown this once. Not retried."""
        result: CreatedKey = await self._run(self._core.create_key(request))
        return result

    async def list_keys(self) -> ListKeysResponse:
        """Every key's metadata (admin); never the keys themselves."""
        result: ListKeysResponse = await self._run(self._core.list_keys())
        return result

    async def revoke_key(self, key_id: str) -> ApiKey:
        """Revokes a key (admin) and returns its record."""
        result: ApiKey = await self._run(self._core.revoke_key(key_id))
        return result

    async def put_team(self, team: PutTeamRequest) -> Team:
        """Creates or replaces a team (admin)."""
        result: Team = await self._run(self._core.put_team(team))
        return result

    async def list_teams(self) -> ListTeamsResponse:
        """Every team (admin)."""
        result: ListTeamsResponse = await self._run(self._core.list_teams())
        return result

    async def delete_team(self, name: str) -> Team:
        """Deletes a team (admin) and returns it."""
        result: Team = await self._run(self._core.delete_team(name))
        return result

    async def put_reviewer_profile(
        self, email: str, profile: PutReviewerProfileRequest
    ) -> ReviewerProfile:
        """Sets a reviewer's profile (an admin, or the reviewer's own key; ``"me"`` is the
        caller): time zone, working hours, out of office. Fields left out keep their stored
        value; ``None`` clears one.

        >>> reviewer.put_reviewer_profile("me", {"time_zone": "Europe/Berlin",
        ...     "working_hours": {"mon": ["09:00-17:30"], "tue": ["09:00-17:30"]}})
        """
        result: ReviewerProfile = await self._run(self._core.put_reviewer_profile(email, profile))
        return result

    async def get_reviewer_profile(self, email: str) -> ReviewerProfile:
        """A reviewer's profile (an admin, or the reviewer; ``"me"`` is the caller)."""
        result: ReviewerProfile = await self._run(self._core.get_reviewer_profile(email))
        return result

    async def list_reviewer_profiles(
        self, out_of_office: Optional[bool] = None
    ) -> ListReviewerProfilesResponse:
        """Every reviewer profile (admin); ``out_of_office=True`` only those away now."""
        result: ListReviewerProfilesResponse = await self._run(
            self._core.list_reviewer_profiles(out_of_office)
        )
        return result

    async def put_policy(self, intent_type: str, policy: OperatorPolicy) -> StoredPolicy:
        """Creates or replaces the operator policy of an intent type, a prefix
        (``intent.payment.*``) or ``*`` (admin); its ``version`` counts up from 1. Writing the
        same policy again only bumps the version, so it is retried.

        >>> admin.put_policy("intent.payment.*", {
        ...     "reviewers": ["cfo@company.com"],
        ...     "allow_request_reviewers": {"domains": ["company.com"]},
        ...     "rules": [{"name": "small", "effect": "approve",
        ...                "when": [{"pointer": "/amount", "op": "lt", "value": 100}]}]})
        """
        result: StoredPolicy = await self._run(self._core.put_policy(intent_type, policy))
        return result

    async def get_policy(self, intent_type: str) -> StoredPolicy:
        """The stored policy of a pattern (admin); ``NotFoundError`` when none is stored."""
        result: StoredPolicy = await self._run(self._core.get_policy(intent_type))
        return result

    async def list_policies(self) -> ListPoliciesResponse:
        """Every stored policy, and the patterns the deployment's configuration sets (admin)."""
        result: ListPoliciesResponse = await self._run(self._core.list_policies())
        return result

    async def delete_policy(self, intent_type: str) -> StoredPolicy:
        """Deletes a stored policy (admin) and returns it. Not retried: a repeat would be 404."""
        result: StoredPolicy = await self._run(self._core.delete_policy(intent_type))
        return result

    async def dry_run_policy(
        self, intent_type: str, policy: OperatorPolicy, limit: Optional[int] = None
    ) -> PolicyDryRunResponse:
        """What ``policy``'s rules would have decided for the ``limit`` (1 to 500, default 100)
        most recent intents of ``intent_type`` (admin; reads only, changes nothing)."""
        result: PolicyDryRunResponse = await self._run(
            self._core.dry_run_policy(intent_type, policy, limit)
        )
        return result

    async def jwks(self) -> JsonWebKeySet:
        """The deployment's public keys (``GET /.well-known/jwks.json``, sent without the API
        key), which verify receipts (:func:`~countersign.verify_receipt`) and callbacks
        (:func:`~countersign.verify_callback`). Cache them: they change only on rotation."""
        result: JsonWebKeySet = await self._run(self._core.jwks())
        return result

    async def health(self) -> HealthResponse:
        """``{"ok": True}`` when the service is up. Sends no API key."""
        result: HealthResponse = await self._run(self._core.health())
        return result
