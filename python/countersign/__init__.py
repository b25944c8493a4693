"""``countersign``: the Python client for the Countersign human-approval API.

>>> from countersign import CountersignClient
>>> client = CountersignClient(api_key=os.environ["COUNTERSIGN_API_KEY"])
>>> intent_id = client.send_intent({"intent_type": "intent.report.review_approval.v1",
...     "to_agent": "agent://myorg/production/report-generator",
...     "payload": {"report": "Q1 Financial Summary", "pii_detected": False,
...                 "reviewer": "cfo@company.com"}})
>>> result = client.wait_for(intent_id)

Standard library only, Python 3.9+. ``AsyncCountersignClient`` has the same methods for asyncio;
``@require_approval`` turns a tool function into one that asks people first; ``verify_events``
checks an audit trail's hash chain; ``verify_receipt`` and ``verify_callback`` check the
deployment's Ed25519 signatures on receipts and callbacks.
"""

from ._core import SDK_VERSION as __version__
from .aio import AsyncCountersignClient
from .approval import ApprovalRejected, require_approval
from .audit import GENESIS_HASH, TrailVerification, canonicalize, hash_event, verify_events
from .client import CountersignClient
from .signatures import (
    CALLBACK_JWS_HEADER,
    CallbackClaims,
    CallbackVerification,
    JsonWebKeySet,
    JwsVerification,
    PublicJwk,
    ReceiptClaims,
    ReceiptVerification,
    fetch_jwks,
    payload_sha256,
    verify_callback,
    verify_jws,
    verify_receipt,
)
from .errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CountersignError,
    CountersignNetworkError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    WaitTimeoutError,
)
from .types import (
    ApiErrorObject,
    ApiKey,
    AuditEvent,
    BulkDecisionItem,
    BulkDecisionResponse,
    BulkDecisionResult,
    CreatedKey,
    CreateIntentRequest,
    CreateKeyRequest,
    Decision,
    DecisionRequest,
    EventsResponse,
    Intent,
    IntentStatus,
    ListIntentsResponse,
    ListPoliciesResponse,
    OperatorPolicy,
    PolicyDryRunResponse,
    PolicyInput,
    PolicyRule,
    RuleCondition,
    ReviewerProfile,
    StoredPolicy,
    Team,
)

__all__ = [
    "__version__",
    "ApiErrorObject",
    "ApiKey",
    "ApprovalRejected",
    "AsyncCountersignClient",
    "AuditEvent",
    "AuthenticationError",
    "BadRequestError",
    "BulkDecisionItem",
    "BulkDecisionResponse",
    "BulkDecisionResult",
    "CALLBACK_JWS_HEADER",
    "CallbackClaims",
    "CallbackVerification",
    "ConflictError",
    "CountersignClient",
    "CountersignError",
    "CountersignNetworkError",
    "CreateIntentRequest",
    "CreateKeyRequest",
    "CreatedKey",
    "Decision",
    "DecisionRequest",
    "EventsResponse",
    "GENESIS_HASH",
    "Intent",
    "IntentStatus",
    "JsonWebKeySet",
    "JwsVerification",
    "ListIntentsResponse",
    "ListPoliciesResponse",
    "NotFoundError",
    "OperatorPolicy",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PolicyDryRunResponse",
    "PolicyInput",
    "PolicyRule",
    "PublicJwk",
    "RateLimitedError",
    "ReceiptClaims",
    "ReceiptVerification",
    "RuleCondition",
    "ReviewerProfile",
    "ServerError",
    "StoredPolicy",
    "Team",
    "TrailVerification",
    "WaitTimeoutError",
    "canonicalize",
    "fetch_jwks",
    "hash_event",
    "payload_sha256",
    "require_approval",
    "verify_callback",
    "verify_events",
    "verify_jws",
    "verify_receipt",
]
