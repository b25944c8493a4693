"""The wire types of the Countersign HTTP API v1, as ``TypedDict``s.

Field names stay snake_case because they are the JSON the API sends and receives; the SDK never
renames them, so every method returns the contract's JSON as plain ``dict``s and ``list``s and
these types only tell a type checker (and a reader) what is in them. Python 3.9 has no
``NotRequired``, so a type with optional keys is a required base plus a ``total=False`` subclass.
"""

from typing import Any, Dict, List, Literal, Optional, TypedDict, Union

JsonObject = Dict[str, Any]
"""Any JSON object, as used for intent payloads and event data."""

IntentStatus = Literal["pending", "approved", "rejected", "timed_out", "cancelled"]
"""The lifecycle of an intent. Once it leaves ``pending`` it never changes again."""

FINAL_STATUSES = ("approved", "rejected", "timed_out", "cancelled")

NotificationChannel = Literal["email", "slack", "webhook"]
Duration = Union[str, int]
"""``"90s"``, ``"5m"``, ``"8h"``, ``"2d"``, ISO 8601 (``"PT5M"``) or whole seconds."""
Role = Literal["agent", "reviewer", "admin"]


class StepInput(TypedDict, total=False):
    reviewers: List[str]
    required_approvals: int


class EscalationInput(TypedDict):
    after: Duration
    to: List[str]


class TimeoutInput(TypedDict, total=False):
    after: Duration
    action: Literal["reject", "approve"]


class PolicyInput(TypedDict, total=False):
    """The policy of a new intent. Every field is optional; the API fills in defaults."""

    remind_after: List[Duration]
    escalate: List[EscalationInput]
    timeout: TimeoutInput
    required_approvals: int
    steps: Optional[List[StepInput]]
    channels: List[NotificationChannel]
    #: Reminders wait for each recipient's working hours (default ``True``).
    remind_in_working_hours: bool


class _CreateIntentRequired(TypedDict):
    intent_type: str
    to_agent: str
    payload: JsonObject


class CreateIntentRequest(_CreateIntentRequired, total=False):
    """The body of ``POST /v1/intents``."""

    summary: str
    reviewers: List[str]
    policy: PolicyInput
    callback_url: str
    editable: List[str]


class ResolvedStep(TypedDict):
    reviewers: List[str]
    required_approvals: int


class ResolvedTimeout(TypedDict):
    after: int
    action: Literal["reject", "approve"]


class ResolvedEscalation(TypedDict):
    after: int
    to: List[str]


class _ResolvedPolicyRequired(TypedDict):
    remind_after: List[int]
    escalate: List[ResolvedEscalation]
    timeout: ResolvedTimeout
    required_approvals: int
    steps: Optional[List[ResolvedStep]]
    channels: List[NotificationChannel]


class ResolvedPolicy(_ResolvedPolicyRequired, total=False):
    """The policy as stored on the intent: defaults filled in, durations in whole seconds.
    ``remind_in_working_hours`` (absent means true): reminders outside a recipient's working
    hours are held until their next working moment."""

    remind_in_working_hours: bool


class _ApprovalRequired(TypedDict):
    by: str
    at: str
    comment: Optional[str]
    channel: str
    step: int


class Approval(_ApprovalRequired, total=False):
    """One reviewer's approval so far (quorums and chains). ``payload_version`` is the version of
    the payload it approved (absent means 0, as asked): after an edit, earlier ones stop counting.
    ``on_behalf_of`` names the recipient a delegate approved for while they were out of office."""

    payload_version: int
    on_behalf_of: str


class _DecisionRequired(TypedDict):
    outcome: Literal["approved", "rejected", "cancelled"]
    by: str
    at: str
    comment: Optional[str]
    channel: str


class Decision(_DecisionRequired, total=False):
    """The final decision of an intent; ``None`` on the intent while it is pending."""

    edits: JsonObject
    on_behalf_of: str


class _IntentRequired(TypedDict):
    id: str
    intent_type: str
    to_agent: str
    from_agent: str
    summary: str
    payload: JsonObject
    status: IntentStatus
    policy: ResolvedPolicy
    recipients: List[str]
    approvals: List[Approval]
    decision: Optional[Decision]
    created_at: str
    updated_at: str
    deadline_at: str
    next_action_at: Optional[str]
    event_count: int
    last_event_hash: str


class Intent(_IntentRequired, total=False):
    """An intent: an agent's action that waits for human approval.

    ``approved_payload`` is ``None`` until approved, then the payload with the reviewers' edits
    applied (the payload itself where nobody edited): run the action with it. ``editable`` lists
    the JSON Pointers reviewers may change, ``edits`` what they changed so far (relative to
    ``payload``, which stays as asked) and ``payload_version`` how many times. Servers older than
    these features leave them out; read them with ``intent.get(...)``.
    """

    callback_url: Optional[str]
    step: int
    approved_payload: Optional[JsonObject]
    receipt: str
    editable: List[str]
    added_by_request: List[str]
    edits: JsonObject
    payload_version: int


class ListIntentsResponse(TypedDict):
    """A page of intents, newest first; ``next_cursor`` is ``None`` on the last page."""

    items: List[Intent]
    next_cursor: Optional[str]


class _DecisionRequestRequired(TypedDict):
    outcome: Literal["approve", "reject"]


class DecisionRequest(_DecisionRequestRequired, total=False):
    """The body of ``POST /v1/intents/{id}/decision``."""

    comment: str
    channel: Literal["api", "cli"]
    edits: JsonObject


class AuditEvent(TypedDict):
    """One entry of an intent's hash-chained audit trail."""

    seq: int
    type: str
    at: str
    actor: str
    channel: str
    data: JsonObject
    prev_hash: str
    hash: str


class EventsResponse(TypedDict):
    items: List[AuditEvent]


class _ApiKeyRequired(TypedDict):
    id: str
    role: Role
    principal: str
    prefix: str
    created_at: str
    revoked_at: Optional[str]


class ApiKey(_ApiKeyRequired, total=False):
    """An API key's metadata; the key itself is shown only once, by :class:`CreatedKey`.

    Agent keys also carry ``intent_types`` (``["*"]`` when not scoped) and ``quota`` (``None``
    when the key has none)."""

    intent_types: List[str]
    quota: Optional[Dict[str, int]]


class CreatedKey(ApiKey):
    key: str


class _CreateKeyRequired(TypedDict):
    role: Role
    principal: str


class CreateKeyRequest(_CreateKeyRequired, total=False):
    """The body of ``POST /v1/keys``."""

    intent_types: List[str]
    quota: Dict[str, int]


class ListKeysResponse(TypedDict):
    items: List[ApiKey]


class _PutTeamRequired(TypedDict):
    name: str
    members: List[str]


class PutTeamRequest(_PutTeamRequired, total=False):
    """The body of ``POST /v1/teams``."""

    slack_channel: Optional[str]


class Team(TypedDict):
    name: str
    members: List[str]
    slack_channel: Optional[str]
    updated_at: str


class ListTeamsResponse(TypedDict):
    items: List[Team]


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


# ``from`` is a Python keyword, so this type is spelled the functional way.
OutOfOffice = TypedDict("OutOfOffice", {"from": str, "until": str, "delegate": str})
"""An absence (RFC 3339 ``from`` and ``until``): notices go to ``delegate``, who may decide in
the reviewer's place."""


class ReviewerProfile(TypedDict):
    """A reviewer's availability: ``HH:MM-HH:MM`` ranges per weekday in ``time_zone`` (IANA);
    no working hours at all means always available. ``updated_at`` is ``None`` for a reviewer
    who never set a profile."""

    email: str
    time_zone: str
    working_hours: Optional[Dict[Weekday, List[str]]]
    out_of_office: Optional[OutOfOffice]
    updated_at: Optional[str]
    updated_by: Optional[str]


class PutReviewerProfileRequest(TypedDict, total=False):
    """The body of ``PUT /v1/reviewers/{email}``: fields left out keep their stored value."""

    time_zone: str
    working_hours: Optional[Dict[Weekday, List[str]]]
    out_of_office: Optional[OutOfOffice]


class ListReviewerProfilesResponse(TypedDict):
    items: List[ReviewerProfile]


class _RuleConditionRequired(TypedDict):
    #: A JSON Pointer into the payload (``/amount``).
    pointer: str
    op: Literal["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "exists"]


class RuleCondition(_RuleConditionRequired, total=False):
    """One condition of a rule: a JSON Pointer into the payload, an operator and a value."""

    value: Any


class PolicyRule(TypedDict):
    """An operator's rule: the first whose every condition holds decides at create."""

    name: str
    effect: Literal["approve", "reject"]
    when: List[RuleCondition]


class AllowRequestReviewers(TypedDict, total=False):
    """Whom a request may add; ``"*"`` in ``domains`` or ``teams`` admits any."""

    domains: List[str]
    principals: List[str]
    teams: List[str]


class OperatorPolicy(PolicyInput, total=False):
    """An operator policy as an admin writes it (every field optional): the request policy's
    fields, and who is always asked, whom a request may add, and rules that decide at create."""

    reviewers: List[str]
    allow_request_reviewers: AllowRequestReviewers
    payload_reviewer_fallback: bool
    allow_timeout_approve: bool
    rules: List[PolicyRule]


class StoredPolicy(OperatorPolicy):
    """A policy as stored: the admin's document with its pattern and version."""

    intent_type: str
    version: int
    updated_at: str
    updated_by: str


class ListedPolicy(StoredPolicy):
    source: Literal["api"]


class ConfiguredPolicy(TypedDict):
    """A pattern the deployment's configuration sets that no stored policy replaces."""

    intent_type: str
    source: Literal["config"]


class ListPoliciesResponse(TypedDict):
    items: List[ListedPolicy]
    configured: List[ConfiguredPolicy]


class _PolicyDryRunRequired(TypedDict):
    intent_type: str
    policy: OperatorPolicy


class PolicyDryRunRequest(_PolicyDryRunRequired, total=False):
    """The body of ``POST /v1/policies/dry-run``."""

    #: How many of the most recent intents of that type, 1 to 500 (default 100).
    limit: int


class PolicyDryRunItem(TypedDict):
    id: str
    created_at: str
    would: Literal["approve", "reject", "ask"]
    #: The rule that would have decided; ``None`` where the intent would have been asked.
    rule: Optional[str]


class PolicyDryRunSummary(TypedDict):
    total: int
    approve: int
    reject: int
    ask: int


class PolicyDryRunResponse(TypedDict):
    items: List[PolicyDryRunItem]
    summary: PolicyDryRunSummary


class _HealthRequired(TypedDict):
    ok: bool


class HealthResponse(_HealthRequired, total=False):
    """``GET /healthz``; ``GET /healthz?ready=1`` adds ``ready``."""

    ready: bool


class ErrorDetail(TypedDict):
    """One problem with a request, naming the field."""

    field: str
    message: str


class _ApiErrorObjectRequired(TypedDict):
    code: str
    message: str
    details: List[ErrorDetail]


class ApiErrorObject(_ApiErrorObjectRequired, total=False):
    """The ``error`` of an API error body; ``intent`` on errors about an existing intent (409s)."""

    intent: Intent


class BulkDecisionItem(DecisionRequest):
    """One item of ``POST /v1/decisions``: a decision's body and the intent it decides."""

    intent_id: str


class _BulkDecisionResultRequired(TypedDict):
    intent_id: str
    status: int


class BulkDecisionResult(_BulkDecisionResultRequired, total=False):
    """One result of ``POST /v1/decisions``, in the order asked: ``status`` 200 with ``intent``,
    or the status and ``error`` body that deciding this intent alone would have answered."""

    intent: Intent
    error: ApiErrorObject


class BulkDecisionResponse(TypedDict):
    """The answer of ``POST /v1/decisions``."""

    results: List[BulkDecisionResult]
