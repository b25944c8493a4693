"""Ed25519 against RFC 8032's test vectors, and receipts and callbacks signed by the server's own
code (``fixtures/signed_by_server.ts``) verified here with the TypeScript SDK's verdicts."""

import base64
import json
import shutil
import subprocess
import unittest
from pathlib import Path
from typing import Any, Dict, List, Tuple

from countersign import (
    AsyncCountersignClient,
    CountersignClient,
    CountersignError,
    fetch_jwks,
    payload_sha256,
    verify_callback,
    verify_receipt,
)
from countersign import ed25519
from countersign.signatures import CallbackVerification, ReceiptVerification
from tests.scripted_server import Reply, ScriptedServer

FIXTURES = Path(__file__).parent / "fixtures"
RFC8032: List[Dict[str, str]] = json.loads((FIXTURES / "rfc8032-ed25519.json").read_text())
SIGNED: Dict[str, Any] = json.loads((FIXTURES / "signed-by-server.json").read_text())
REPOSITORY = Path(__file__).resolve().parents[2]
TSX = REPOSITORY / "node_modules" / ".bin" / "tsx"


def flip(data: bytes, index: int, bit: int = 0) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 1 << bit
    return bytes(changed)


class Ed25519Test(unittest.TestCase):
    def test_every_rfc_8032_vector_verifies(self) -> None:
        self.assertEqual(
            [vector["name"] for vector in RFC8032],
            ["TEST 1", "TEST 2", "TEST 3", "TEST 1024", "TEST SHA(abc)"],
        )
        for vector in RFC8032:
            with self.subTest(vector["name"]):
                key, message, signature = self.parts(vector)
                self.assertTrue(ed25519.verify(key, message, signature))

    def test_a_changed_message_fails(self) -> None:
        for vector in RFC8032:
            with self.subTest(vector["name"]):
                key, message, signature = self.parts(vector)
                changed = flip(message, len(message) // 2) if message else b"\x00"
                self.assertFalse(ed25519.verify(key, changed, signature))
                self.assertFalse(ed25519.verify(key, message + b"\x00", signature))

    def test_a_changed_signature_fails(self) -> None:
        for vector in RFC8032:
            with self.subTest(vector["name"]):
                key, message, signature = self.parts(vector)
                for index in (0, 17, 31, 32, 50, 63):
                    self.assertFalse(ed25519.verify(key, message, flip(signature, index)))

    def test_another_key_fails(self) -> None:
        for vector, other in zip(RFC8032, RFC8032[1:] + RFC8032[:1]):
            with self.subTest(vector["name"]):
                _, message, signature = self.parts(vector)
                self.assertFalse(ed25519.verify(self.parts(other)[0], message, signature))

    def test_a_non_canonical_s_fails(self) -> None:
        # S + L verifies the same group equation, but RFC 8032 (and Node) require S < L.
        key, message, signature = self.parts(RFC8032[0])
        s = int.from_bytes(signature[32:], "little") + ed25519.L
        self.assertLess(s, 2**256)
        self.assertFalse(ed25519.verify(key, message, signature[:32] + s.to_bytes(32, "little")))

    def test_malformed_keys_and_signatures_fail_without_raising(self) -> None:
        key, message, signature = self.parts(RFC8032[1])
        not_a_point = (2).to_bytes(32, "little")  # y = 2 has no x on the curve
        self.assertIsNone(ed25519._decode_point(not_a_point))
        non_canonical_y = (ed25519.P + 1).to_bytes(32, "little")  # y >= p
        for bad_key in (b"", key[:31], key + b"\x00", not_a_point, non_canonical_y):
            self.assertFalse(ed25519.verify(bad_key, message, signature))
        for bad_signature in (b"", signature[:63], signature + b"\x00", bytes(64)):
            self.assertFalse(ed25519.verify(key, message, bad_signature))

    @staticmethod
    def parts(vector: Dict[str, str]) -> Tuple[bytes, bytes, bytes]:
        return (
            bytes.fromhex(vector["public_key"]),
            bytes.fromhex(vector["message"]),
            bytes.fromhex(vector["signature"]),
        )


class SignedByServerTest(unittest.TestCase):
    """Every case of the fixture: the Python SDK reaches the TypeScript SDK's verdict and reason."""

    def assert_same_verdicts(self, signed: Dict[str, Any]) -> None:
        jwks = signed["jwks"]
        kinds = {case["kind"] for case in signed["cases"]}
        self.assertEqual(kinds, {"receipt", "callback"})
        for case in signed["cases"]:
            with self.subTest(f"{case['kind']}: {case['name']}"):
                args = case["args"]
                verdict: "ReceiptVerification | CallbackVerification"
                if case["kind"] == "receipt":
                    verdict = verify_receipt(args["receipt"], jwks, args.get("intent"))
                else:
                    verdict = verify_callback(
                        args["header"] or None,
                        args["body"].encode("utf-8"),
                        args["url"],
                        jwks,
                        now=args["now"],
                    )
                expected = case["expected"]
                self.assertEqual(verdict.ok, expected["ok"], verdict.reason)
                self.assertEqual(bool(verdict), expected["ok"])
                self.assertEqual(verdict.reason, expected["reason"] or "")
                self.assertEqual(verdict.problem is None, expected["ok"])

    def test_the_recorded_run_gets_the_typescript_verdicts(self) -> None:
        self.assertGreaterEqual(len(SIGNED["cases"]), 20)
        self.assert_same_verdicts(SIGNED)

    @unittest.skipUnless(
        TSX.exists() and shutil.which("node"), "needs node and the repository's tsx (npm ci)"
    )
    def test_a_fresh_run_with_fresh_keys_gets_the_typescript_verdicts(self) -> None:
        run = subprocess.run(
            [str(TSX), str(FIXTURES / "signed_by_server.ts")],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        fresh = json.loads(run.stdout)
        self.assertNotEqual(fresh["jwks"], SIGNED["jwks"])
        self.assert_same_verdicts(fresh)

    def test_a_valid_receipt_gives_its_claims_and_kid(self) -> None:
        case = self.case("receipt", "valid, with the intent")
        verdict = verify_receipt(case["receipt"], SIGNED["jwks"], case["intent"])
        self.assertEqual(verdict.claims, SIGNED["claims"])
        self.assertEqual(verdict.kid, SIGNED["jwks"]["keys"][0]["kid"])
        # The payload hash is RFC 8785 over unicode, floats and 1e21, computed the same way here.
        self.assertEqual(payload_sha256(case["intent"]["payload"]), SIGNED["claims"]["payload_sha256"])

    def test_failures_name_their_problem(self) -> None:
        problems = {
            ("receipt", "signed by another key under the deployment kid"): "signature",
            ("receipt", "signed by a key not in the set"): "key",
            ("receipt", "claims changed after signing"): "signature",
            ("receipt", "intent with another payload"): "intent",
            ("receipt", "a callback signature as a receipt"): "type",
            ("receipt", "header asks for another algorithm"): "algorithm",
            ("receipt", "not a JWS"): "malformed",
            ("callback", "body changed"): "body",
            ("callback", "sent to another URL"): "url",
            ("callback", "replayed after the tolerance"): "time",
            ("callback", "no header"): "missing",
        }
        for (kind, name), problem in problems.items():
            with self.subTest(name):
                args = self.case(kind, name)
                if kind == "receipt":
                    found = verify_receipt(args["receipt"], SIGNED["jwks"], args.get("intent"))
                    self.assertEqual(found.problem, problem)
                else:
                    verdict = verify_callback(
                        args["header"], args["body"].encode(), args["url"], SIGNED["jwks"],
                        now=args["now"],
                    )
                    self.assertEqual(verdict.problem, problem)

    def test_a_callback_is_read_from_the_request_headers_in_any_case(self) -> None:
        case = self.case("callback", "valid")
        for name in ("Countersign-JWS", "countersign-jws", "COUNTERSIGN-JWS"):
            headers = {"Content-Type": "application/json", name: case["header"]}
            verdict = verify_callback(
                headers, case["body"].encode("utf-8"), case["url"], SIGNED["jwks"], now=case["now"]
            )
            self.assertTrue(verdict, verdict.reason)
            self.assertEqual(verdict.intent_id, "int_01JCROSSCHECK")
            self.assertEqual(verdict.timestamp, case["now"] - 299)
        # The body may be given as text too; it is hashed as UTF-8.
        self.assertTrue(
            verify_callback(case["header"], case["body"], case["url"], SIGNED["jwks"], now=case["now"])
        )
        missing = verify_callback({"Content-Type": "application/json"}, b"{}", case["url"], SIGNED["jwks"])
        self.assertEqual(missing.problem, "missing")

    def test_the_tolerance_is_adjustable(self) -> None:
        case = self.case("callback", "replayed after the tolerance")
        args = (case["header"], case["body"].encode("utf-8"), case["url"], SIGNED["jwks"])
        self.assertFalse(verify_callback(*args, now=case["now"]))
        self.assertTrue(verify_callback(*args, tolerance_seconds=301, now=case["now"]))
        signed_at = case["now"] - 301
        self.assertTrue(verify_callback(*args, tolerance_seconds=60, now=signed_at + 60))
        self.assertFalse(verify_callback(*args, tolerance_seconds=60, now=signed_at + 61))

    def test_a_changed_es256_receipt_fails(self) -> None:
        receipt = self.case("receipt", "ES256 key")["receipt"]
        header, payload, signature = receipt.split(".")
        self.assertTrue(verify_receipt(receipt, SIGNED["jwks"]))
        claims = dict(SIGNED["claims"], by="intern@acme.example")
        forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        raw = base64.urlsafe_b64decode(signature + "==")
        # s = 0 has no inverse: it must fail as a signature, not raise.
        zero_s = base64.urlsafe_b64encode(raw[:32] + bytes(32)).decode().rstrip("=")
        for forged in (
            f"{header}.{forged_payload}.{signature}",
            f"{header}.{payload}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}",
            f"{header}.{payload}.{zero_s}",
        ):
            verdict = verify_receipt(forged, SIGNED["jwks"])
            self.assertEqual(verdict.problem, "signature", verdict.reason)

    def test_anything_around_the_compact_form_is_malformed(self) -> None:
        receipt = self.case("receipt", "valid, without the intent")["receipt"]
        self.assertTrue(verify_receipt(receipt, SIGNED["jwks"]))
        for bad in (receipt + "\n", receipt + "=", " " + receipt, receipt + ".x", ""):
            with self.subTest(bad=bad[-3:]):
                verdict = verify_receipt(bad, SIGNED["jwks"])
                self.assertEqual((verdict.problem, verdict.reason), ("malformed", "not a compact JWS"))

    def test_an_empty_or_odd_key_set_fails_cleanly(self) -> None:
        receipt = self.case("receipt", "valid, without the intent")["receipt"]
        kid = SIGNED["jwks"]["keys"][0]["kid"]
        key_sets: List[Tuple[Dict[str, Any], str]] = [
            ({"keys": []}, "key"),
            ({}, "key"),
            ({"keys": [{"kty": "RSA", "kid": kid, "n": "x", "e": "AQAB"}]}, "key"),
            ({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": "AAAA"}]}, "key"),
            ({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": kid}]}, "key"),
        ]
        for jwks, problem in key_sets:
            with self.subTest(jwks=jwks):
                self.assertEqual(verify_receipt(receipt, jwks).problem, problem)

    @staticmethod
    def case(kind: str, name: str) -> Dict[str, Any]:
        for case in SIGNED["cases"]:
            if case["kind"] == kind and case["name"] == name:
                args: Dict[str, Any] = case["args"]
                return args
        raise KeyError(name)


class JwksTest(unittest.TestCase):
    def serve(self, reply: Reply) -> ScriptedServer:
        server = ScriptedServer(lambda request: reply)
        self.addCleanup(server.stop)
        return server

    def test_the_client_reads_the_key_set_without_sending_the_api_key(self) -> None:
        server = self.serve(Reply(200, SIGNED["jwks"]))
        client = CountersignClient(server.base_url, "csk_never_sent")
        self.assertEqual(client.jwks(), SIGNED["jwks"])
        [request] = server.requests
        self.assertEqual((request.method, request.path), ("GET", "/.well-known/jwks.json"))
        self.assertIsNone(request.header("Authorization"))

    def test_the_async_client_reads_the_key_set(self) -> None:
        import asyncio

        server = self.serve(Reply(200, SIGNED["jwks"]))
        client = AsyncCountersignClient(server.base_url, "csk_never_sent")
        self.assertEqual(asyncio.run(client.jwks()), SIGNED["jwks"])
        self.assertEqual(server.requests[0].path, "/.well-known/jwks.json")

    def test_fetch_jwks_takes_the_base_url_or_the_jwks_url(self) -> None:
        server = self.serve(Reply(200, SIGNED["jwks"]))
        self.assertEqual(fetch_jwks(server.base_url + "/"), SIGNED["jwks"])
        self.assertEqual(fetch_jwks(server.base_url + "/keys/jwks.json"), SIGNED["jwks"])
        self.assertEqual(
            [request.path for request in server.requests],
            ["/.well-known/jwks.json", "/keys/jwks.json"],
        )

    def test_a_base_url_as_the_key_source_is_fetched(self) -> None:
        server = self.serve(Reply(200, SIGNED["jwks"]))
        receipt = SignedByServerTest.case("receipt", "valid, with the intent")
        verdict = verify_receipt(receipt["receipt"], server.base_url, receipt["intent"])
        self.assertTrue(verdict, verdict.reason)
        callback = SignedByServerTest.case("callback", "valid")
        verdict_cb = verify_callback(
            callback["header"], callback["body"], callback["url"], server.base_url,
            now=callback["now"],
        )
        self.assertTrue(verdict_cb, verdict_cb.reason)
        self.assertEqual(len(server.requests), 2)

    def test_fetch_jwks_raises_on_an_error_or_a_body_that_is_not_a_key_set(self) -> None:
        for reply, pattern in [
            (Reply(404, {"error": {"code": "not_found"}}), "answered HTTP 404"),
            (Reply(200, {"items": []}), "is not a JWK Set"),
            (Reply(200, text="<html>"), "is not a JWK Set"),
        ]:
            with self.subTest(pattern):
                server = self.serve(reply)
                with self.assertRaisesRegex(CountersignError, pattern):
                    fetch_jwks(server.base_url)


if __name__ == "__main__":
    unittest.main()
