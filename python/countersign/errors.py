"""The exceptions the SDK raises, and the one place where an HTTP answer becomes one.

Every error is a :class:`CountersignError` carrying the contract's ``code`` (or one of the SDK's
own: ``network_error``, ``request_timeout``, ``wait_timeout``, ``invalid_response``,
``http_<status>`` for an answer without the contract's error body), the HTTP ``status`` (``None``
when no answer arrived), the ``details`` naming each invalid field, and, on errors about an
existing intent (the 409s), the ``intent`` as it is now. Subclasses by status let callers write
``except NotFoundError`` where they prefer that to comparing codes.
"""

from typing import Dict, List, Optional, Type

from .types import ErrorDetail, Intent


class CountersignError(Exception):
    """The base of every error the SDK raises."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: Optional[int] = None,
        details: Optional[List[ErrorDetail]] = None,
        intent: Optional[Intent] = None,
        request_id: Optional[str] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.details: List[ErrorDetail] = details if details is not None else []
        self.intent = intent
        self.request_id = request_id
        #: Seconds the server asked to wait before trying again (429/503 ``Retry-After``).
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message

    @property
    def transient(self) -> bool:
        """Whether another try may succeed: network errors, 408, 429 and 5xx."""
        if self.status is None:
            return self.code in ("network_error", "request_timeout")
        return self.status >= 500 or self.status in (408, 429)


class CountersignNetworkError(CountersignError):
    """The API could not be reached, the connection broke, or one call timed out.

    ``code`` is ``network_error`` or ``request_timeout``; ``status`` is ``None``; the exception
    from the socket layer is ``__cause__``.
    """


class BadRequestError(CountersignError):
    """400: ``invalid_request`` or ``validation_failed`` (``details`` name each field)."""


class AuthenticationError(CountersignError):
    """401 ``unauthenticated``: the API key is missing, unknown or revoked."""


class PermissionDeniedError(CountersignError):
    """403: ``forbidden``, ``not_a_reviewer`` or ``policy_violation``."""


class NotFoundError(CountersignError):
    """404 ``not_found``, also where the caller may not see the intent."""


class ConflictError(CountersignError):
    """409: ``already_decided``, ``already_voted``, ``idempotency_conflict``, ``not_pending``.

    ``intent`` is the intent as it is now.
    """


class PayloadTooLargeError(CountersignError):
    """413 ``payload_too_large``."""


class RateLimitedError(CountersignError):
    """429 ``rate_limited``; ``retry_after`` says how long the server asked to wait."""


class ServerError(CountersignError):
    """A 5xx answer."""


class WaitTimeoutError(CountersignError):
    """``wait_for`` gave up because its own ``timeout`` passed while the intent was pending.

    The intent itself is unaffected and may still be decided; wait again to keep waiting.
    ``intent`` is the last (pending) intent the API returned, if any answer arrived.
    """

    def __init__(self, intent_id: str, timeout: float, intent: Optional[Intent]) -> None:
        why = (
            "without an answer from the API"
            if intent is None
            else f"and intent {intent_id} is still {intent['status']}"
        )
        super().__init__(
            f"Stopped waiting after {timeout:g} s {why}.", code="wait_timeout", intent=intent
        )
        self.intent_id = intent_id
        self.timeout = timeout


_BY_STATUS: Dict[int, Type[CountersignError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: RateLimitedError,
}


def error_for_status(
    status: int,
    message: str,
    *,
    code: str,
    details: Optional[List[ErrorDetail]] = None,
    intent: Optional[Intent] = None,
    request_id: Optional[str] = None,
    retry_after: Optional[float] = None,
) -> CountersignError:
    """The exception for an HTTP error answer: the subclass of its status, else the base."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else CountersignError)
    return cls(
        message,
        code=code,
        status=status,
        details=details,
        intent=intent,
        request_id=request_id,
        retry_after=retry_after,
    )


