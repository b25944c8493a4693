"""The audit trail's hash chain, as the contract defines it, and its verification.

- ``canonical`` is the event without its ``hash`` field, serialized by RFC 8785 (JSON
  Canonicalization Scheme, JCS), implemented here with the standard library;
- ``hash`` is the lowercase hex SHA-256 of the UTF-8 string ``prev_hash + canonical``;
- the first event's ``prev_hash`` is :data:`GENESIS_HASH` (64 zeros);
- the intent carries ``event_count`` and ``last_event_hash``, which catch what a chain alone
  cannot: the removal of its last events.

The TypeScript SDK and the server compute the same hashes; the tests check both against the
RFC's vectors and against trails the server sealed.
"""

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Set

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first event of every trail."""

_HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")
#: Integers beyond this are not exact in an IEEE 754 double; JCS numbers are doubles.
_MAX_SAFE_INTEGER = 2**53


def canonicalize(value: Any) -> str:
    """Serializes a JSON value by RFC 8785: object keys sorted by their UTF-16 code units, no
    whitespace, numbers as ECMAScript's Number-to-String, strings with JSON's minimal escaping.

    Accepts what ``json.loads`` produces (``dict`` with ``str`` keys, ``list``, ``str``, ``int``,
    ``float``, ``bool``, ``None``) and tuples as arrays. Integers are numbers like any other, so
    one beyond 2**53 is written as the double nearest to it, as JavaScript would.

    Raises ``ValueError`` for what JSON cannot represent canonically (NaN, Infinity, a lone
    surrogate, a cycle) and ``TypeError`` for values that are not JSON.

    >>> canonicalize({"b": [1e21, "é"], "a": None})
    '{"a":null,"b":[1e+21,"é"]}'
    """
    return _serialize(value, set())


def _serialize(value: Any, ancestors: Set[int]) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
            return str(value)
        return _number(float(value))
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple, dict)):
        if id(value) in ancestors:
            raise ValueError("JCS: the value contains a cycle.")
        ancestors.add(id(value))
        if isinstance(value, dict):
            members = []
            for key in sorted(value, key=_utf16_sort_key):
                if not isinstance(key, str):
                    raise TypeError(f"JCS: object keys must be strings, got {type(key).__name__}.")
                members.append(f"{_string(key)}:{_serialize(value[key], ancestors)}")
            result = "{" + ",".join(members) + "}"
        else:
            result = "[" + ",".join(_serialize(item, ancestors) for item in value) + "]"
        ancestors.discard(id(value))
        return result
    raise TypeError(f"JCS: {type(value).__name__} is not a JSON value.")


def _utf16_sort_key(key: Any) -> bytes:
    # Big-endian UTF-16 compares bytewise exactly as its code units compare (RFC 8785 3.2.3).
    return key.encode("utf-16-be", "surrogatepass") if isinstance(key, str) else b""


def _string(text: str) -> str:
    for char in text:
        if "\ud800" <= char <= "\udfff":
            raise ValueError("JCS: a string contains a lone surrogate, which is not Unicode.")
    # Escapes exactly what RFC 8785 3.2.2.2 requires: '"', '\\', and U+0000..U+001F (as \b \t
    # \n \f \r or lowercase \u00hh); everything else is written as it is.
    return json.dumps(text, ensure_ascii=False)


def _number(number: float) -> str:
    """ECMAScript's Number::toString (RFC 8785 3.2.2.3) from Python's shortest round-trip repr."""
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"JCS: {number} is not a JSON number.")
    if number == 0:
        return "0"  # minus zero too
    sign = "-" if number < 0 else ""
    text = repr(abs(number))
    mantissa, _, exponent_text = text.partition("e")
    integer_part, _, fraction = mantissa.partition(".")
    digits = (integer_part + fraction).lstrip("0")
    # `point`: the position of the decimal point relative to the first significant digit.
    point = len(integer_part) + int(exponent_text or "0")
    point -= len(integer_part + fraction) - len((integer_part + fraction).lstrip("0"))
    digits = digits.rstrip("0")
    count = len(digits)
    if count <= point <= 21:
        return sign + digits + "0" * (point - count)
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    exponent = point - 1
    head = digits[0] + ("." + digits[1:] if count > 1 else "")
    return f"{sign}{head}e{'+' if exponent > 0 else '-'}{abs(exponent)}"


def hash_event(event: Mapping[str, Any]) -> str:
    """The hash of one audit event: lowercase hex SHA-256 of ``prev_hash + canonical``, where
    ``canonical`` is the event without its ``hash`` field under RFC 8785. A ``hash`` key on the
    argument is ignored, so a sealed event can be passed as it is to recompute its hash.
    """
    unsealed = {key: value for key, value in event.items() if key != "hash"}
    text = str(event["prev_hash"]) + canonicalize(unsealed)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TrailVerification:
    """What :func:`verify_events` found. True in a boolean context when the trail is intact.

    ``problem`` says why a trail failed (``None`` when intact):

    - ``malformed``: an entry is not an audit event (no integer ``seq``, no 64-hex ``hash``, ...);
    - ``sequence``: an entry is not the next event: something was removed, inserted or moved;
    - ``prev_hash``: an entry does not chain onto the one before it;
    - ``hash``: an entry's content does not match its own hash: it was altered;
    - ``event_count``: the trail has fewer (truncated) or more events than the intent records;
    - ``last_event_hash``: the trail's last hash is not the intent's: its tail was rewritten.
    """

    ok: bool
    #: How many events, from the first, verified: events 1 to ``intact_count`` are sound.
    intact_count: int
    #: The hash of the last sound event (the genesis hash for none).
    last_event_hash: str
    #: Whether the intent's ``event_count`` and ``last_event_hash`` were checked too.
    head_checked: bool
    problem: Optional[str] = None
    #: The 0-based position where the chain breaks; ``None`` when intact or only the head failed.
    index: Optional[int] = None
    #: The ``seq`` the event at ``index`` carries, when it has one.
    seq: Optional[int] = None
    #: A sentence saying where and how the trail breaks, or that it is intact.
    message: str = ""

    def __bool__(self) -> bool:
        return self.ok


def verify_events(
    events: Sequence[Any], intent: Optional[Mapping[str, Any]] = None
) -> TrailVerification:
    """Verifies an intent's audit trail: each event's ``seq`` follows the previous one, chains
    onto its ``prev_hash`` (64 zeros for the first), and hashes to its ``hash``; with ``intent``
    (its ``event_count`` and ``last_event_hash``) it also proves no event was cut from the end.

    Pass the events as the API returned them (``client.events(id)["items"]``), oldest first.
    Entries are checked at run time, so JSON read from a file can be passed as it is.

    >>> result = verify_events(client.events(intent_id)["items"], client.get_intent(intent_id))
    >>> if not result: print(result.message)  # e.g. "event 3 was altered: ..."
    """
    head_checked = intent is not None
    prev_hash = GENESIS_HASH
    for index, entry in enumerate(events):
        expected = index + 1

        def broken(problem: str, seq: Optional[int], message: str) -> TrailVerification:
            return TrailVerification(
                ok=False,
                intact_count=index,
                last_event_hash=prev_hash,
                head_checked=head_checked,
                problem=problem,
                index=index,
                seq=seq,
                message=message,
            )

        seq = entry.get("seq") if isinstance(entry, dict) else None
        if not isinstance(seq, int) or isinstance(seq, bool):
            return broken("malformed", None, f"entry {expected} is not an audit event (no seq).")
        recorded = entry.get("hash")
        if not isinstance(recorded, str) or not _HASH_PATTERN.match(recorded):
            return broken(
                "malformed", seq, f"event {seq} has no valid hash (64 lowercase hex digits)."
            )
        if not isinstance(entry.get("prev_hash"), str):
            return broken("malformed", seq, f"event {seq} has no prev_hash.")
        if seq != expected:
            if seq > expected:
                how = (
                    f"event {expected} is missing"
                    if seq == expected + 1
                    else f"events {expected} to {seq - 1} are missing"
                )
            else:
                how = f"event {seq} appears again or out of order"
            return broken(
                "sequence",
                seq,
                f"position {expected} holds event {seq}: {how} "
                "(events were removed, inserted or reordered).",
            )
        try:
            actual = hash_event(entry)
        except (TypeError, ValueError) as error:
            return broken("malformed", seq, f"event {seq} cannot be canonicalized: {error}")
        if actual != recorded:
            return broken(
                "hash",
                seq,
                f"event {seq} was altered: its content hashes to {_short(actual)}, "
                f"but it records {_short(recorded)}.",
            )
        if entry["prev_hash"] != prev_hash:
            previous = (
                "the genesis hash (64 zeros)" if index == 0 else f"the hash of event {seq - 1}"
            )
            return broken(
                "prev_hash",
                seq,
                f"event {seq} does not chain onto the trail: its prev_hash is "
                f"{_short(entry['prev_hash'])}, but {previous} is {_short(prev_hash)}.",
            )
        prev_hash = recorded

    count = len(events)

    def at_head(problem: str, message: str) -> TrailVerification:
        return TrailVerification(
            ok=False,
            intact_count=count,
            last_event_hash=prev_hash,
            head_checked=True,
            problem=problem,
            message=message,
        )

    if intent is not None:
        event_count = intent.get("event_count")
        if event_count != count:
            if isinstance(event_count, int) and event_count > count:
                missing = event_count - count
                return at_head(
                    "event_count",
                    f"the trail ends at event {count}, but the intent records {event_count} "
                    f"events: the last {missing} {'is' if missing == 1 else 'are'} missing.",
                )
            return at_head(
                "event_count",
                f"the trail has {count} events, but the intent records only {event_count}.",
            )
        if intent.get("last_event_hash") != prev_hash:
            return at_head(
                "last_event_hash",
                f"the trail's last hash is {_short(prev_hash)}, but the intent records "
                f"{_short(str(intent.get('last_event_hash')))}: the trail was rewritten.",
            )
    return TrailVerification(
        ok=True,
        intact_count=count,
        last_event_hash=prev_hash,
        head_checked=head_checked,
        message=f"all {count} events verified"
        + (" and match the intent's event_count and last_event_hash." if head_checked else "."),
    )


def _short(hash_text: str) -> str:
    """Enough of a hash to tell two apart in a message."""
    return f"{hash_text[:12]}…" if len(hash_text) > 12 else json.dumps(hash_text)
