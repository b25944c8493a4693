"""RFC 8785 canonicalization and the audit trail's hash chain, against the RFC's own examples and a
trail the server sealed (tests/fixtures/sealed-trail.json, written by the server's sealEvents)."""

import copy
import hashlib
import json
import struct
import unittest
from pathlib import Path
from typing import Any, Dict, List

from countersign import GENESIS_HASH, canonicalize, hash_event, verify_events

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "sealed-trail.json").read_text("utf-8"))


def from_bits(hex_bits: str) -> float:
    value: float = struct.unpack(">d", bytes.fromhex(hex_bits))[0]
    return value


class CanonicalizeTest(unittest.TestCase):
    def test_numbers_as_appendix_b_of_rfc_8785_lists_them(self) -> None:
        vectors = [
            ("0000000000000000", "0"),
            ("8000000000000000", "0"),
            ("0000000000000001", "5e-324"),
            ("8000000000000001", "-5e-324"),
            ("7fefffffffffffff", "1.7976931348623157e+308"),
            ("ffefffffffffffff", "-1.7976931348623157e+308"),
            ("4340000000000000", "9007199254740992"),
            ("c340000000000000", "-9007199254740992"),
            ("4430000000000000", "295147905179352830000"),
            ("44b52d02c7e14af5", "9.999999999999997e+22"),
            ("44b52d02c7e14af6", "1e+23"),
            ("44b52d02c7e14af7", "1.0000000000000001e+23"),
            ("444b1ae4d6e2ef4e", "999999999999999700000"),
            ("444b1ae4d6e2ef4f", "999999999999999900000"),
            ("444b1ae4d6e2ef50", "1e+21"),
            ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
            ("3eb0c6f7a0b5ed8d", "0.000001"),
            ("41b3de4355555553", "333333333.3333332"),
            ("41b3de4355555554", "333333333.33333325"),
            ("41b3de4355555555", "333333333.3333333"),
            ("41b3de4355555556", "333333333.3333334"),
            ("41b3de4355555557", "333333333.33333343"),
            ("becbf647612f3696", "-0.0000033333333333333333"),
            ("43143ff3c1cb0959", "1424953923781206.2"),
        ]
        for bits, expected in vectors:
            with self.subTest(bits=bits):
                self.assertEqual(canonicalize(from_bits(bits)), expected)

    def test_integers_are_numbers_like_any_other(self) -> None:
        self.assertEqual(canonicalize([0, -7, 2**53, 2**60, 10**21, 1.0, -0.0]),
                         "[0,-7,9007199254740992,1152921504606847000,1e+21,1,0]")

    def test_refuses_nan_infinity_lone_surrogates_cycles_and_non_json(self) -> None:
        for bad in (float("nan"), float("inf"), "\ud800", {"a\udc00": 1}):
            with self.subTest(value=repr(bad)):
                with self.assertRaises(ValueError):
                    canonicalize(bad)
        cyclic: Dict[str, Any] = {}
        cyclic["self"] = cyclic
        with self.assertRaisesRegex(ValueError, "cycle"):
            canonicalize(cyclic)
        with self.assertRaises(TypeError):
            canonicalize({"when": object()})
        with self.assertRaises(TypeError):
            canonicalize({1: "a"})

    def test_the_example_of_section_3_2_2(self) -> None:
        value = json.loads(
            '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],'
            '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
            '"literals":[null,true,false]}'
        )
        self.assertEqual(
            canonicalize(value),
            '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
            '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
        )

    def test_keys_sorted_by_utf16_code_units_as_the_example_of_section_3_2_3(self) -> None:
        value = {
            "\u20ac": "Euro Sign",
            "\r": "Carriage Return",
            "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\U0001f600": "Emoji: Grinning Face",
            "\u0080": "Control",
            "\u00f6": "Latin Small Letter O With Diaeresis",
        }
        # U+1F600 (surrogates D83D DE00) sorts before U+FB33: code units, not code points.
        self.assertEqual(
            canonicalize(value),
            '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
            '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
            '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
        )

    def test_escapes_only_what_json_requires(self) -> None:
        self.assertEqual(canonicalize("\u0000\b\t\n\f\r\u001f\"\\/\u007f\u2028é"),
                         '"\\u0000\\b\\t\\n\\f\\r\\u001f\\"\\\\/\u007f\u2028é"')


class HashChainTest(unittest.TestCase):
    def events(self) -> List[Dict[str, Any]]:
        return copy.deepcopy(FIXTURE["events"])

    def head(self) -> Dict[str, Any]:
        return {"event_count": FIXTURE["event_count"], "last_event_hash": FIXTURE["last_event_hash"]}

    def test_hashes_are_sha256_of_prev_hash_and_the_canonical_event(self) -> None:
        first = self.events()[0]
        unsealed = {key: value for key, value in first.items() if key != "hash"}
        expected = hashlib.sha256((GENESIS_HASH + canonicalize(unsealed)).encode()).hexdigest()
        self.assertEqual(first["hash"], expected)
        for event in self.events():
            with self.subTest(seq=event["seq"]):
                self.assertEqual(hash_event(event), event["hash"], "the server's seal recomputes")

    def test_a_trail_the_server_sealed_verifies_with_its_head(self) -> None:
        result = verify_events(self.events(), self.head())
        self.assertTrue(result)
        self.assertEqual((result.ok, result.intact_count, result.head_checked), (True, 4, True))
        self.assertEqual(result.last_event_hash, FIXTURE["last_event_hash"])
        self.assertTrue(verify_events([], {"event_count": 0, "last_event_hash": GENESIS_HASH}))

    def test_an_altered_event_is_found(self) -> None:
        events = self.events()
        events[2]["data"]["s"] = "changed"
        result = verify_events(events, self.head())
        self.assertFalse(result)
        self.assertEqual((result.problem, result.index, result.seq, result.intact_count),
                         ("hash", 2, 3, 2))
        self.assertRegex(result.message, r"^event 3 was altered")

    def test_a_rehashed_event_no_longer_chains(self) -> None:
        events = self.events()
        events[1]["data"]["to"] = "attacker@evil.example"
        events[1]["hash"] = hash_event(events[1])
        result = verify_events(events, self.head())
        self.assertEqual((result.problem, result.seq), ("prev_hash", 3))

    def test_removed_duplicated_and_reordered_events_are_found(self) -> None:
        e1, e2, e3, e4 = self.events()
        removed = verify_events([e1, e3, e4], self.head())
        self.assertEqual((removed.problem, removed.index, removed.seq), ("sequence", 1, 3))
        self.assertIn("event 2 is missing", removed.message)
        self.assertEqual(verify_events([e1, e3, e2, e4]).problem, "sequence")
        self.assertEqual(verify_events([e1, e2, e2, e3, e4]).problem, "sequence")

    def test_a_truncated_tail_is_found_only_with_the_intents_head(self) -> None:
        truncated = self.events()[:2]
        self.assertTrue(verify_events(truncated))
        result = verify_events(truncated, self.head())
        self.assertEqual((result.problem, result.intact_count, result.index), ("event_count", 2, None))
        self.assertIn("the last 2 are missing", result.message)
        rewritten = verify_events(self.events(), {**self.head(), "last_event_hash": "f" * 64})
        self.assertEqual(rewritten.problem, "last_event_hash")

    def test_malformed_entries_are_reported_not_raised(self) -> None:
        events: List[Any] = self.events()
        self.assertEqual(verify_events([None, *events[1:]]).problem, "malformed")
        del events[1]["hash"]
        self.assertEqual((verify_events(events).problem, verify_events(events).seq), ("malformed", 2))


if __name__ == "__main__":
    unittest.main()
