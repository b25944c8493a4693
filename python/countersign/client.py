"""``CountersignClient``: the blocking client for the Countersign API v1.

Every method returns the contract's JSON unchanged (snake_case ``dict``s, typed as the
``TypedDict``s of :mod:`countersign.types`) and raises a :class:`~countersign.CountersignError`
for any non-2xx answer or network failure.
"""

import time
from typing import Any, Callable, Iterator, Optional, Sequence

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


class CountersignClient:
    """A client for the Countersign API v1: send an intent, wait for people to approve or reject
    it, and (for reviewers and operators) decide, list, and manage keys and teams.

    ``base_url`` defaults to ``$COUNTERSIGN_URL``, then to the local stack
    (``http://127.0.0.1:4700``); ``api_key`` defaults to ``$COUNTERSIGN_API_KEY``.

    >>> client = CountersignClient(api_key=os.environ["COUNTERSIGN_API_KEY"])
    >>> intent_id = client.send_intent({"intent_type": "intent.report.review_approval.v1",
    ...     "to_agent": "agent://myorg/production/report-generator",
    ...     "payload": {"report": "Q1", "reviewer": "cfo@company.com"}})
    >>> result = client.wait_for(intent_id)

    Args:
        request_timeout: the longest one HTTP call may take, in seconds; long polls get this on
            top of the time they ask the server to hold.
        max_retries: how often a call that is safe to repeat (reads, creating an intent,
            replacing a team, revoking a key) is retried after a network error, 408, 429 or 5xx.
            ``wait_for`` does not use it: it retries until its own timeout.
        user_agent: a product token put in front of the SDK's User-Agent, e.g. ``my-agent/1.2``.
        idempotency_key_factory: makes the Idempotency-Key of a create when the caller gives none.
        sleep: how the client waits between retries; inject one for fast tests.
        wait_channel: whether ``wait_for`` uses the WebSocket the API names for waiting (the
            default); ``False`` long-polls always.
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
        sleep: Callable[[float], None] = time.sleep,
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

    def _run(self, plan: Plan) -> Any:
        """Runs a plan: sends its requests, makes its pauses, returns its result."""
        channel = WaitChannel(self._core.transport.request_timeout)
        try:
            step = next(plan)
            while True:
                try:
                    if isinstance(step, Sleep):
                        self._sleep(step.seconds)
                        step = plan.send(None)
                        continue
                    try:
                        if isinstance(step, Listen):
                            answer = channel.listen(step)
                        else:
                            answer = self._core.transport.send(step.request)
                    except CountersignError as error:
                        step = plan.throw(error)
                        continue
                    step = plan.send(answer)
                except StopIteration as done:
                    return done.value
        finally:
            channel.close()

    def send_intent(
        self, request: CreateIntentRequest, *, idempotency_key: Optional[str] = None
    ) -> str:
        """Creates an intent and returns its id.

        Always sends an Idempotency-Key (a fresh UUID unless given), reused by every retry, so
        network errors, 429 and 5xx are retried without ever creating the intent twice. Pass
        your own key to make a create safe across process restarts.
        """
        return self.create_intent(request, idempotency_key=idempotency_key)["id"]

    def create_intent(
        self, request: CreateIntentRequest, *, idempotency_key: Optional[str] = None
    ) -> Intent:
        """Like :meth:`send_intent`, but returns the whole intent (resolved policy, recipients)."""
        result: Intent = self._run(self._core.create_intent(request, idempotency_key))
        return result

    def get_intent(self, intent_id: str) -> Intent:
        """The intent as it is now; ``NotFoundError`` where the caller may not see it."""
        result: Intent = self._run(self._core.get_intent(intent_id))
        return result

    def wait_for(
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
        result: Intent = self._run(self._core.wait_for(intent_id, timeout, poll_seconds))
        return result

    def list_intents(
        self,
        *,
        status: Optional[IntentStatus] = None,
        reviewer: Optional[str] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> ListIntentsResponse:
        """One page of intents, newest first. ``reviewer="me"``: what the caller may decide now."""
        result: ListIntentsResponse = self._run(
            self._core.list_intents(status, reviewer, limit, cursor)
        )
        return result

    def iter_intents(
        self,
        *,
        status: Optional[IntentStatus] = None,
        reviewer: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> Iterator[Intent]:
        """Every intent matching, following ``next_cursor`` page by page as the loop asks."""
        cursor: Optional[str] = None
        while True:
            page = self.list_intents(status=status, reviewer=reviewer, limit=limit, cursor=cursor)
            yield from page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return

    def decide(self, intent_id: str, decision: DecisionRequest) -> Intent:
        """Records the calling reviewer's vote; the intent stays ``pending`` while a quorum or a
        later step still needs approvals. Not retried: a repeated vote would be 409."""
        result: Intent = self._run(self._core.decide(intent_id, decision))
        return result

    def approve(self, intent_id: str, comment: Optional[str] = None) -> Intent:
        """Approves, as the calling reviewer."""
        decision: DecisionRequest = {"outcome": "approve"}
        if comment is not None:
            decision["comment"] = comment
        return self.decide(intent_id, decision)

    def reject(self, intent_id: str, comment: str) -> Intent:
        """Rejects, as the calling reviewer. A rejection says why, so the comment is required."""
        return self.decide(intent_id, {"outcome": "reject", "comment": comment})

    def decide_many(self, decisions: Sequence[BulkDecisionItem]) -> BulkDecisionResponse:
        """Decides up to 100 intents in one request (``POST /v1/decisions``). Each result is what
        :meth:`decide` would have answered for that intent alone, in the order asked: check each
        ``status`` (200 with ``intent``, else ``error``). Only a request refused as a whole (over
        100 items, an intent named twice) raises. Not retried: a repeat would be 409s."""
        result: BulkDecisionResponse = self._run(self._core.decide_many(decisions))
        return result

    def cancel(self, intent_id: str, reason: Optional[str] = None) -> Intent:
        """Cancels a pending intent (its creating agent, or an admin); ``ConflictError``
        (``not_pending``) once decided, with the decided intent on the error."""
        result: Intent = self._run(self._core.cancel(intent_id, reason))
        return result

    def events(self, intent_id: str) -> EventsResponse:
        """The intent's hash-chained audit trail, oldest first."""
        result: EventsResponse = self._run(self._core.events(intent_id))
        return result

    def verify_events(self, intent_id: str) -> TrailVerification:
        """Fetches the trail and the intent and verifies the hash chain against the intent's
        ``event_count`` and ``last_event_hash`` (see :func:`countersign.verify_events`). A trail
        that grows while it is read (notices after a decision) is read again."""
        result: TrailVerification = self._run(self._core.verify_trail(intent_id))
        return result

    def create_key(self, request: CreateKeyRequest) -> CreatedKey:
        """Creates an API key (admin). The returned ``key`` is shown this once. Not retried."""
        result: CreatedKey = self._run(self._core.create_key(request))
        return result

    def list_keys(self) -> ListKeysResponse:
        """Every key's metadata (admin); never the keys themselves."""
        result: ListKeysResponse = self._run(self._core.list_keys())
        return result

    def revoke_key(self, key_id: str) -> ApiKey:
        """Revokes a key (admin) and returns its record."""
        result: ApiKey = self._run(self._core.revoke_key(key_id))
        return result

    def put_team(self, team: PutTeamRequest) -> Team:
        """Creates or replaces a team (admin)."""
        result: Team = self._run(self._core.put_team(team))
        return result

    def list_teams(self) -> ListTeamsResponse:
        """Every team (admin)."""
        result: ListTeamsResponse = self._run(self._core.list_teams())
        return result

    def delete_team(self, name: str) -> Team:
        """Deletes a team (admin) and returns it."""
        result: Team = self._run(self._core.delete_team(name))
        return result

    def put_reviewer_profile(
        self, email: str, profile: PutReviewerProfileRequest
    ) -> ReviewerProfile:
        """Sets a reviewer's profile (an admin, or the reviewer's own key; ``"me"`` is the
        caller): time zone, working hours, out of office. Fields left out keep their stored
        value; ``None`` clears one.

        >>> reviewer.put_reviewer_profile("me", {"time_zone": "Europe/Berlin",
        ...     "working_hours": {"mon": ["09:00-17:30"], "tue": ["09:00-17:30"]}})
        """
        result: ReviewerProfile = self._run(self._core.put_reviewer_profile(email, profile))
        return result

    def get_reviewer_profile(self, email: str) -> ReviewerProfile:
        """A reviewer's profile (an admin, or the reviewer; ``"me"`` is the caller)."""
        result: ReviewerProfile = self._run(self._core.get_reviewer_profile(email))
        return result

    def list_reviewer_profiles(
        self, out_of_office: Optional[bool] = None
    ) -> ListReviewerProfilesResponse:
        """Every reviewer profile (admin); ``out_of_office=True`` only those away now."""
        result: ListReviewerProfilesResponse = self._run(
            self._core.list_reviewer_profiles(out_of_office)
        )
        return result

    def put_policy(self, intent_type: str, policy: OperatorPolicy) -> StoredPolicy:
        """Creates or replaces the operator policy of an intent type, a prefix
        (``intent.payment.*``) or ``*`` (admin); its ``version`` counts up from 1. Writing the
        same policy again only bumps the version, so it is retried.

        >>> admin.put_policy("intent.payment.*", {
        ...     "reviewers": ["cfo@company.com"],
        ...     "allow_request_reviewers": {"domains": ["company.com"]},
        ...     "rules": [{"name": "small", "effect": "approve",
        ...                "when": [{"pointer": "/amount", "op": "lt", "value": 100}]}]})
        """
        result: StoredPolicy = self._run(self._core.put_policy(intent_type, policy))
        return result

    def get_policy(self, intent_type: str) -> StoredPolicy:
        """The stored policy of a pattern (admin); ``NotFoundError`` when none is stored."""
        result: StoredPolicy = self._run(self._core.get_policy(intent_type))
        return result

    def list_policies(self) -> ListPoliciesResponse:
        """Every stored policy, and the patterns the deployment's configuration sets (admin)."""
        result: ListPoliciesResponse = self._run(self._core.list_policies())
        return result

    def delete_policy(self, intent_type: str) -> StoredPolicy:
        """Deletes a stored policy (admin) and returns it. Not retried: a repeat would be 404."""
        result: StoredPolicy = self._run(self._core.delete_policy(intent_type))
        return result

    def dry_run_policy(
        self, intent_type: str, policy: OperatorPolicy, limit: Optional[int] = None
    ) -> PolicyDryRunResponse:
        """What ``policy``'s rules would have decided for the ``limit`` (1 to 500, default 100)
        most recent intents of ``intent_type`` (admin; reads only, changes nothing)."""
        result: PolicyDryRunResponse = self._run(
            self._core.dry_run_policy(intent_type, policy, limit)
        )
        return result

    def jwks(self) -> JsonWebKeySet:
        """The deployment's public keys (``GET /.well-known/jwks.json``, sent without the API
        key), which verify receipts (:func:`~countersign.verify_receipt`) and callbacks
        (:func:`~countersign.verify_callback`). Cache them: they change only on rotation."""
        result: JsonWebKeySet = self._run(self._core.jwks())
        return result

    def health(self) -> HealthResponse:
        """``{"ok": True}`` when the service is up. Sends no API key."""
        result: HealthResponse = self._run(self._core.health())
        return result
