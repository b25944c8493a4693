"""Ed25519 signature verification (RFC 8032, section 5.1.7) in plain Python.

The standard library has no Ed25519, and the SDK takes no dependencies, so this module verifies
the deployment's signatures itself. It only *verifies*: there is no secret here, so it need not
be constant-time, and it favours the RFC's readable formulas over speed (one verification takes
a few milliseconds). Points are in extended homogeneous coordinates ``(X, Y, Z, T)`` with
``x = X/Z``, ``y = Y/Z``, ``x*y = T/Z`` (RFC 8032, section 5.1.4).

The check is the RFC's permitted cofactorless equation ``[S]B = R + [k]A`` (the one OpenSSL, and
so Node's ``crypto.verify``, makes), with ``S < L`` and canonical encodings of ``R`` and ``A``
required, so a signature verifies here exactly when it verifies for the TypeScript SDK.
"""

import hashlib
from typing import Optional, Tuple

Point = Tuple[int, int, int, int]

#: The field prime 2^255 - 19.
P = 2**255 - 19
#: The order of the base point.
L = 2**252 + 27742317777372353535851937790883648493
#: The curve constant d = -121665/121666.
D = -121665 * pow(121666, P - 2, P) % P
#: A square root of -1 modulo P.
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _recover_x(y: int, sign: int) -> Optional[int]:
    """The x of the point with this y and sign bit (RFC 8032, section 5.1.3), or ``None``."""
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if x & 1 != sign:
        x = P - x
    return x


def _decode_point(encoded: bytes) -> Optional[Point]:
    """A 32-byte point encoding (little-endian y, the top bit x's sign), or ``None``."""
    if len(encoded) != 32:
        return None
    value = int.from_bytes(encoded, "little")
    y = value & ((1 << 255) - 1)
    x = _recover_x(y, value >> 255)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


_BASE_Y = 4 * pow(5, P - 2, P) % P
_BASE_X = _recover_x(_BASE_Y, 0)
assert _BASE_X is not None
#: The base point B.
BASE: Point = (_BASE_X, _BASE_Y, 1, _BASE_X * _BASE_Y % P)
_IDENTITY: Point = (0, 1, 1, 0)


def _add(p: Point, q: Point) -> Point:
    """P + Q on the twisted Edwards curve (complete: also doubles and adds the identity)."""
    a = (p[1] - p[0]) * (q[1] - q[0]) % P
    b = (p[1] + p[0]) * (q[1] + q[0]) % P
    c = 2 * p[3] * q[3] * D % P
    d = 2 * p[2] * q[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _multiply(scalar: int, point: Point) -> Point:
    """[scalar]point, by double-and-add."""
    result = _IDENTITY
    while scalar > 0:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _equal(p: Point, q: Point) -> bool:
    """Whether two points in projective coordinates are the same point."""
    return (p[0] * q[2] - q[0] * p[2]) % P == 0 and (p[1] * q[2] - q[1] * p[2]) % P == 0


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` (64 bytes, ``R || S``) is the Ed25519 signature of ``message`` by
    ``public_key`` (32 bytes, the JWK's decoded ``x``). Never raises on malformed input."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a = _decode_point(public_key)
    r = _decode_point(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return False
    digest = hashlib.sha512(signature[:32] + public_key + message).digest()
    k = int.from_bytes(digest, "little") % L
    return _equal(_multiply(s, BASE), _add(r, _multiply(k, a)))
