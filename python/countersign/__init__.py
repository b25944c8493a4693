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
checks an audit trail's hash chain.
"""

from ._core import SDK_VERSION as __version__
from .aio import AsyncCountersignClient
from .approval import ApprovalRejected, require_approval
from .audit import GENESIS_HASH, TrailVerification, canonicalize, hash_event, verify_events
from .client import CountersignClient
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
    ApiKey,
    AuditEvent,
    CreatedKey,
    CreateIntentRequest,
    CreateKeyRequest,
    Decision,
    DecisionRequest,
    EventsResponse,
    Intent,
    IntentStatus,
    ListIntentsResponse,
    PolicyInput,
    Team,
)

__all__ = [
    "__version__",
    "ApiKey",
    "ApprovalRejected",
    "AsyncCountersignClient",
    "AuditEvent",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "CountersignClient",
    "CountersignError",
    "CountersignNetworkError",
    "CreatedKey",
    "CreateIntentRequest",
    "CreateKeyRequest",
    "Decision",
    "DecisionRequest",
    "EventsResponse",
    "GENESIS_HASH",
    "Intent",
    "IntentStatus",
    "ListIntentsResponse",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PolicyInput",
    "RateLimitedError",
    "ServerError",
    "Team",
    "TrailVerification",
    "WaitTimeoutError",
    "canonicalize",
    "hash_event",
    "require_approval",
    "verify_events",
]
