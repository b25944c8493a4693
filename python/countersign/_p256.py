"""ECDSA over P-256 with SHA-256 (JWS ``ES256``) verification in plain Python.

Deployments sign with Ed25519 (see :mod:`countersign.ed25519`), but the TypeScript SDK also
accepts ``ES256`` keys should a deployment publish one, and so does this SDK. Verification only:
no secret, so no constant-time concerns. Affine coordinates, modular inverses by ``pow``; the
textbook algorithm (SEC 1, section 4.1.4).
"""

import hashlib
from typing import Optional, Tuple

Point = Optional[Tuple[int, int]]
"""An affine point; ``None`` is the point at infinity."""

P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
A = P - 3
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
G = (
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
)


def _on_curve(x: int, y: int) -> bool:
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def _add(p: Point, q: Point) -> Point:
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0] and (p[1] + q[1]) % P == 0:
        return None
    if p == q:
        slope = (3 * p[0] * p[0] + A) * pow(2 * p[1], -1, P) % P
    else:
        slope = (q[1] - p[1]) * pow(q[0] - p[0], -1, P) % P
    x = (slope * slope - p[0] - q[0]) % P
    return (x, (slope * (p[0] - x) - p[1]) % P)


def _multiply(scalar: int, point: Point) -> Point:
    result: Point = None
    while scalar > 0:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def verify(x: bytes, y: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` (64 bytes, ``r || s`` as JWS has it) is the ES256 signature of
    ``message`` by the public key ``(x, y)`` (the JWK's decoded coordinates, 32 bytes each)."""
    if len(x) != 32 or len(y) != 32 or len(signature) != 64:
        return False
    key = (int.from_bytes(x, "big"), int.from_bytes(y, "big"))
    if not _on_curve(*key):
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < N and 0 < s < N):
        return False
    e = int.from_bytes(hashlib.sha256(message).digest(), "big")
    w = pow(s, -1, N)
    point = _add(_multiply(e * w % N, G), _multiply(r * w % N, key))
    return point is not None and point[0] % N == r
