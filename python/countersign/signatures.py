"""Receipts and signed callbacks, verified with the deployment's public keys only.

A deployment signs with one private key and publishes the public half as a JWK Set at
``GET /.well-known/jwks.json``, without authentication. Signatures are compact JWS (RFC 7515),
``EdDSA`` (Ed25519) or ``ES256``, with ``kid`` naming the key in the set. Nobody else holds the
private key, so no agent can sign a callback or a receipt for another agent's intent.

- A **receipt** (``intent["receipt"]``, once the intent left ``pending``) is a JWS of type
  ``countersign-receipt`` whose payload is :class:`ReceiptClaims`: who decided what, when, about
  which payload (its RFC 8785 SHA-256), and where the trail stood.
- A **callback** carries the header ``Countersign-JWS``: a JWS of type ``countersign-callback``
  whose payload is :class:`CallbackClaims`: the time, the callback URL it was sent to, and the
  SHA-256 of the raw body. A body replayed to another URL, altered, or older than the tolerance
  does not verify.

The checks are those of the TypeScript SDK's ``verifyJws``, ``verifyReceipt`` and
``verifyCallback``, in the same order and with the same reasons; the signature mathematics is
plain Python (:mod:`countersign.ed25519`), since the standard library has no Ed25519.
"""

import base64
import binascii
import hashlib
import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, TypedDict, Union

from . import _p256, ed25519
from ._http import _parse_json
from .audit import canonicalize
from .errors import CountersignError

CALLBACK_JWS_HEADER = "Countersign-JWS"
"""The callback header that carries the asymmetric signature (a compact JWS)."""
RECEIPT_TYPE = "countersign-receipt"
CALLBACK_TYPE = "countersign-callback"
JWKS_PATH = "/.well-known/jwks.json"
"""Where a deployment publishes its public keys, relative to its base URL."""
DEFAULT_CALLBACK_TOLERANCE = 300
"""How far (in seconds) a callback's signing time may be from the receiver's clock."""

#: base64url without padding; matched whole (``fullmatch``: ``$`` would let a final newline in).
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class _PublicJwkRequired(TypedDict):
    kty: str
    kid: str


class PublicJwk(_PublicJwkRequired, total=False):
    """A public key as the JWK Set serves it (RFC 7517): Ed25519 (``OKP``) or P-256 (``EC``)."""

    alg: str
    use: str
    crv: str
    x: str
    y: str


class JsonWebKeySet(TypedDict):
    """``GET /.well-known/jwks.json``."""

    keys: List[PublicJwk]


class ReceiptClaims(TypedDict):
    """The payload of a receipt."""

    intent_id: str
    #: ``approved``, ``rejected``, ``timed_out`` or ``cancelled``.
    status: str
    #: ``decision.outcome``: ``approved``, ``rejected`` or ``cancelled``.
    outcome: str
    #: ``decision.by``: a reviewer's email, ``timeout``, or the agent (or admin) that cancelled.
    by: str
    at: str
    from_agent: str
    to_agent: str
    intent_type: str
    #: Lowercase hex SHA-256 of the RFC 8785 canonical payload, as asked.
    payload_sha256: str
    #: The hash of the payload that was approved; ``None`` unless the outcome is ``approved``.
    approved_payload_sha256: Optional[str]
    #: The trail up to and including the final event: its length and last hash.
    event_count: int
    last_event_hash: str


class CallbackClaims(TypedDict):
    """The payload of a callback's ``Countersign-JWS`` header."""

    intent_id: str
    #: When it was signed, in unix seconds.
    iat: int
    #: The callback URL the request was sent to.
    url: str
    #: Lowercase hex SHA-256 of the raw request body.
    body_sha256: str


KeySource = Union[JsonWebKeySet, Mapping[str, Any], str]
"""The public keys: the JWK Set itself, or the deployment's base URL (or its JWKS URL)."""


@dataclass(frozen=True)
class JwsVerification:
    """What :func:`verify_jws` found. True in a boolean context when the JWS verified.

    ``problem`` says why it failed (``None`` when it verified), ``reason`` says it in a sentence
    (the TypeScript SDK's ``reason``):

    - ``malformed``: not a compact JWS, its header has no ``kid`` or ``alg``, or its payload is
      not a JSON object;
    - ``type``: a JWS of another ``typ`` (a callback signature is never a receipt);
    - ``key``: no key with that ``kid`` in the set, or not an Ed25519/P-256 public key;
    - ``algorithm``: the header asks for an algorithm the key is not for;
    - ``signature``: the signature does not match.
    """

    ok: bool
    claims: Optional[Mapping[str, Any]] = None
    kid: Optional[str] = None
    alg: Optional[str] = None
    problem: Optional[str] = None
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class ReceiptVerification:
    """What :func:`verify_receipt` found. True in a boolean context when the receipt verified.

    ``problem`` is one of :class:`JwsVerification`'s, or ``intent`` when the receipt is about
    another intent, decision, agent, type or payload than the one given.
    """

    ok: bool
    claims: Optional[ReceiptClaims] = None
    kid: Optional[str] = None
    problem: Optional[str] = None
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class CallbackVerification:
    """What :func:`verify_callback` found. True in a boolean context when the callback verified.

    ``problem`` is one of :class:`JwsVerification`'s, or ``missing`` (no ``Countersign-JWS``
    header), ``url`` (signed for another URL), ``body`` (not the body that was signed) or
    ``time`` (signed longer ago, or further ahead, than the tolerance: a replay).
    """

    ok: bool
    intent_id: Optional[str] = None
    #: The signing time, in unix seconds.
    timestamp: Optional[int] = None
    kid: Optional[str] = None
    claims: Optional[CallbackClaims] = None
    problem: Optional[str] = None
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


def verify_jws(jws: str, jwks: Mapping[str, Any], typ: str) -> JwsVerification:
    """Verifies a compact JWS of type ``typ`` against a JWK Set: the key named by ``kid``, the
    algorithm that key is for (never the one the token asks for), and the signature. The
    verified payload is ``claims``."""

    def failed(problem: str, reason: str) -> JwsVerification:
        return JwsVerification(False, problem=problem, reason=reason)

    parts = jws.split(".") if isinstance(jws, str) else []
    if len(parts) != 3 or not all(_BASE64URL.fullmatch(part) for part in parts):
        return failed("malformed", "not a compact JWS")
    encoded_header, encoded_payload, encoded_signature = parts
    header = _parse_base64url_json(encoded_header)
    if (
        not isinstance(header, dict)
        or not isinstance(header.get("kid"), str)
        or not isinstance(header.get("alg"), str)
    ):
        return failed("malformed", "the JWS header has no kid or alg")
    if header.get("typ") != typ:
        return failed("type", f"the JWS is of type {_js_string(header.get('typ'))}, not {typ}")
    kid: str = header["kid"]
    jwk = next(
        (key for key in _keys_of(jwks) if isinstance(key, Mapping) and key.get("kid") == kid),
        None,
    )
    if jwk is None:
        return failed("key", f"no key {kid} in the key set")
    algorithm = _algorithm_of(jwk)
    if algorithm is None:
        return failed("key", f"key {kid} is not Ed25519 or P-256")
    if header["alg"] != algorithm:
        return failed("algorithm", f"key {kid} signs {algorithm}, not {header['alg']}")
    x = _decode(jwk.get("x"))
    y = _decode(jwk.get("y")) if algorithm == "ES256" else b""
    if x is None or y is None or len(x) != 32 or (algorithm == "ES256" and len(y) != 32):
        return failed("key", f"key {kid} is not a usable public key")
    signing_input = f"{encoded_header}.{encoded_payload}".encode("ascii")
    signature = _decode(encoded_signature) or b""
    valid = (
        ed25519.verify(x, signing_input, signature)
        if algorithm == "EdDSA"
        else _p256.verify(x, y, signing_input, signature)
    )
    if not valid:
        return failed("signature", "the signature does not match")
    claims = _parse_base64url_json(encoded_payload)
    if not isinstance(claims, dict):
        return failed("malformed", "the JWS payload is not a JSON object")
    return JwsVerification(True, claims=claims, kid=kid, alg=algorithm)


def verify_receipt(
    receipt: str, jwks: KeySource, intent: Optional[Mapping[str, Any]] = None
) -> ReceiptVerification:
    """Verifies a receipt (``intent["receipt"]``): signed by a key of the deployment and, with
    ``intent``, about this intent as it is: same id, status, decision, agents, type and payload
    (its RFC 8785 SHA-256), and, where the intent carries ``approved_payload``, the same approved
    payload. The claims' ``event_count`` and ``last_event_hash`` name the trail's
    final event, so a trail checked with :func:`~countersign.verify_events` can be tied to it.

    ``jwks`` is the JWK Set (``client.jwks()``, cached), or the deployment's base URL to fetch it
    from.

    >>> intent = client.wait_for(intent_id)
    >>> verdict = verify_receipt(intent.get("receipt", ""), client.jwks(), intent)
    >>> if not verdict: raise RuntimeError(f"not a Countersign decision: {verdict.reason}")
    """
    verdict = verify_jws(receipt, _keys_from(jwks), RECEIPT_TYPE)
    if not verdict.ok or verdict.claims is None:
        return ReceiptVerification(False, problem=verdict.problem, reason=verdict.reason)
    claims = verdict.claims
    if intent is not None:
        decision = intent.get("decision")
        decision = decision if isinstance(decision, Mapping) else {}
        expected = {
            "intent_id": intent.get("id"),
            "status": intent.get("status"),
            "outcome": decision.get("outcome"),
            "by": decision.get("by"),
            "at": decision.get("at"),
            "from_agent": intent.get("from_agent"),
            "to_agent": intent.get("to_agent"),
            "intent_type": intent.get("intent_type"),
            "payload_sha256": payload_sha256(intent.get("payload")),
        }
        # What the agent runs with: a receipt for other values than those does not cover it.
        if "approved_payload" in intent:
            approved = intent.get("approved_payload")
            expected["approved_payload_sha256"] = None if approved is None else payload_sha256(approved)
        for field, value in expected.items():
            claimed = claims.get(field)
            if claimed != value or type(claimed) is not type(value):
                return ReceiptVerification(
                    False,
                    problem="intent",
                    reason=f"the receipt's {field} is {_js_json(claimed)}, "
                    f"but the intent's is {_js_json(value)}",
                )
    return ReceiptVerification(True, claims=claims, kid=verdict.kid)  # type: ignore[arg-type]


def verify_callback(
    headers: Union[Mapping[str, str], str, None],
    body: Union[bytes, str],
    url: str,
    jwks: KeySource,
    tolerance_seconds: float = DEFAULT_CALLBACK_TOLERANCE,
    *,
    now: Optional[float] = None,
) -> CallbackVerification:
    """Verifies a callback: its ``Countersign-JWS`` header is signed by a key of the deployment,
    was made for this URL and this exact body, and is recent. Needs no secret, and no agent can
    produce one for another agent's receiver.

    Args:
        headers: the request's headers (any mapping; the name is matched case-insensitively), or
            the ``Countersign-JWS`` value itself.
        body: the request body exactly as received, before any JSON parsing.
        url: the ``callback_url`` you gave when creating the intent (the signature covers it).
        jwks: the JWK Set (``client.jwks()``, cached), or the deployment's base URL.
        tolerance_seconds: how far the signing time may be from ``now`` (a replay otherwise).
        now: the receiver's clock in unix seconds; default ``time.time()``.

    >>> verdict = verify_callback(request.headers, request.body,
    ...     "https://agent.example.com/hooks/countersign", jwks)
    >>> if not verdict: return 401
    >>> intent = json.loads(request.body)  # final, with its receipt
    """
    header = _header_value(headers)
    if not header:
        return CallbackVerification(
            False, problem="missing", reason=f"missing {CALLBACK_JWS_HEADER} header"
        )
    verdict = verify_jws(header.strip(), _keys_from(jwks), CALLBACK_TYPE)
    if not verdict.ok or verdict.claims is None:
        return CallbackVerification(False, problem=verdict.problem, reason=verdict.reason)
    claims = verdict.claims
    if claims.get("url") != url:
        return CallbackVerification(
            False, problem="url", reason=f"signed for {_js_json(claims.get('url'))}, not this URL"
        )
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if claims.get("body_sha256") != hashlib.sha256(raw).hexdigest():
        return CallbackVerification(
            False, problem="body", reason="the body is not the one that was signed"
        )
    current = int((time.time() if now is None else now) // 1)
    iat = claims.get("iat")
    if (
        not isinstance(iat, (int, float))
        or isinstance(iat, bool)
        or abs(current - iat) > tolerance_seconds
    ):
        return CallbackVerification(
            False, problem="time", reason="the signing time is outside the tolerance"
        )
    return CallbackVerification(
        True,
        intent_id=claims.get("intent_id"),
        timestamp=int(iat),
        kid=verdict.kid,
        claims=claims,  # type: ignore[arg-type]
    )


def fetch_jwks(source: str, *, timeout: float = 30.0) -> JsonWebKeySet:
    """Fetches a deployment's JWK Set: ``source`` is its base URL
    (``https://approvals.example.com``) or the full JWKS URL. Cache it: the keys change only when
    the deployment rotates them. Raises :class:`~countersign.CountersignError` when the answer is
    not 200 with a JWK Set. With a client at hand, ``client.jwks()`` does the same with retries.
    """
    url = source if source.endswith(".json") else f"{source.rstrip('/')}{JWKS_PATH}"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        error.close()
        raise CountersignError(
            f"GET {url} answered HTTP {error.code}", code=f"http_{error.code}", status=error.code
        ) from None
    except (OSError, ValueError) as cause:
        raise CountersignError(f"GET {url} failed: {cause}", code="network_error") from cause
    body = _parse_json(text)
    if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
        raise CountersignError(f"{url} is not a JWK Set", code="invalid_response")
    result: JsonWebKeySet = body  # type: ignore[assignment]
    return result


def payload_sha256(payload: Any) -> str:
    """Lowercase hex SHA-256 of the RFC 8785 canonical JSON of a payload (receipts'
    ``payload_sha256``, the ``created`` event's ``data.payload_sha256``)."""
    return hashlib.sha256(canonicalize(payload).encode("utf-8")).hexdigest()


def _keys_from(source: KeySource) -> Mapping[str, Any]:
    return fetch_jwks(source) if isinstance(source, str) else source


def _keys_of(jwks: Mapping[str, Any]) -> List[Any]:
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    return keys if isinstance(keys, list) else []


def _algorithm_of(jwk: Mapping[str, Any]) -> Optional[str]:
    """The JWS algorithm a public key is for."""
    if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        return "EdDSA"
    if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        return "ES256"
    return None


def _header_value(headers: Union[Mapping[str, str], str, None]) -> Optional[str]:
    if headers is None or isinstance(headers, str):
        return headers
    wanted = CALLBACK_JWS_HEADER.lower()
    for name, value in headers.items():
        if name.lower() == wanted:
            return value
    return None


def _decode(text: Any) -> Optional[bytes]:
    """base64url without padding, as JOSE writes it; ``None`` when it is not that."""
    if not isinstance(text, str) or not _BASE64URL.fullmatch(text):
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _parse_base64url_json(encoded: str) -> Any:
    raw = _decode(encoded)
    if raw is None:
        return None
    try:
        return _parse_json(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None


def _js_string(value: Any) -> str:
    """``String(value)`` as JavaScript writes it, so reasons read as the TypeScript SDK's."""
    if value is None:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _js_json(value: Any) -> str:
    """``JSON.stringify(value)``: ``undefined`` for a missing value."""
    if value is None:
        return "undefined"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
