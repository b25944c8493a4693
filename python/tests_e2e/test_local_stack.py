"""End-to-end: the Python SDK against a running local stack (``npm start``).

Run by test/python/python-sdk.test.ts, which starts a stack and passes ``COUNTERSIGN_URL``,
``COUNTERSIGN_API_KEY`` (the agent key) and ``COUNTERSIGN_ADMIN_KEY``. Reviewers decide through
keys the admin key makes, from a thread, while the agent side blocks in ``wait_for`` as an agent
would. Skipped when those variables are absent (``python3 -m unittest discover`` of the unit tests
does not look here anyway).
"""

import asyncio
import os
import threading
import time
import unittest
import uuid
from typing import Any, Callable, List, Optional

from countersign import (
    ApprovalRejected,
    AsyncCountersignClient,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CountersignClient,
    NotFoundError,
    PermissionDeniedError,
    require_approval,
    verify_receipt,
)

CONFIGURED = all(
    name in os.environ
    for name in ("COUNTERSIGN_URL", "COUNTERSIGN_API_KEY", "COUNTERSIGN_ADMIN_KEY")
)


def reviewer(email: str) -> CountersignClient:
    admin = CountersignClient(api_key=os.environ["COUNTERSIGN_ADMIN_KEY"])
    return CountersignClient(api_key=admin.create_key({"role": "reviewer", "principal": email})["key"])


class Decider(threading.Thread):
    """Decides from another thread once an intent of that type waits for this reviewer, as a
    person would while the agent waits. Its failure is printed at once (threading's excepthook)
    and raised again by :meth:`join`."""

    def __init__(self, client: CountersignClient, intent_type: str, decide: Callable[[str], Any]) -> None:
        super().__init__(daemon=True)
        self._find = lambda: reviewer_inbox(client, intent_type)
        self._decide = decide
        self.error: Optional[BaseException] = None

    def run(self) -> None:
        try:
            self._decide(self._find())
        except BaseException as error:
            self.error = error
            raise

    def join(self, timeout: Optional[float] = 60.0) -> None:
        super().join(timeout)
        if self.error is not None:
            raise self.error


def decide_when_listed(client: CountersignClient, intent_type: str, decide: Callable[[str], Any]) -> Decider:
    decider = Decider(client, intent_type, decide)
    decider.start()
    return decider


@unittest.skipUnless(CONFIGURED, "needs a local stack: run through test/python/python-sdk.test.ts")
class LocalStackTest(unittest.TestCase):
    def test_the_seeds_four_lines_verbatim(self) -> None:
        cfo = reviewer("cfo@company.com")
        approving = decide_when_listed(cfo, "intent.report.review_approval.v1", lambda i: cfo.approve(i, "Numbers check out"))
        # --- the seed, verbatim ---
        client = CountersignClient(api_key=os.environ["COUNTERSIGN_API_KEY"])
        intent_id = client.send_intent({"intent_type": "intent.report.review_approval.v1", "to_agent": "agent://myorg/production/report-generator", "payload": {"report": "Q1 Financial Summary", "pii_detected": False, "reviewer": "cfo@company.com"}})
        result = client.wait_for(intent_id)
        # ---
        approving.join()
        self.assertEqual(result["status"], "approved")
        decision = result["decision"]
        assert decision is not None
        self.assertEqual((decision["by"], decision["comment"]), ("cfo@company.com", "Numbers check out"))
        self.assertEqual(result["recipients"], ["cfo@company.com"])
        verification = client.verify_events(intent_id)
        self.assertTrue(verification, verification.message)
        self.assertGreaterEqual(verification.intact_count, 3)  # created, notified, ..., approved

    def test_typed_errors_from_the_real_api(self) -> None:
        agent = CountersignClient()
        with self.assertRaises(NotFoundError) as not_found:
            agent.get_intent("int_does_not_exist")
        self.assertEqual((not_found.exception.status, not_found.exception.code), (404, "not_found"))

        with self.assertRaises(BadRequestError) as invalid:
            agent.send_intent({"intent_type": "not a dotted name!", "to_agent": "agent://x", "payload": {}})
        self.assertEqual(invalid.exception.status, 400)
        self.assertIn("intent_type", [detail["field"] for detail in invalid.exception.details])

        with self.assertRaises(AuthenticationError) as unauthenticated:
            CountersignClient(api_key="csk_not_a_key").list_intents()
        self.assertEqual(unauthenticated.exception.code, "unauthenticated")

        intent_id = agent.send_intent({"intent_type": "intent.e2e.errors.v1", "to_agent": "agent://e2e", "payload": {"reviewer": "lead@company.com"}})
        with self.assertRaises(PermissionDeniedError) as forbidden:
            agent.approve(intent_id)
        self.assertEqual(forbidden.exception.status, 403)

        cancelled = agent.cancel(intent_id, "no longer needed")
        self.assertEqual(cancelled["status"], "cancelled")
        with self.assertRaises(ConflictError) as conflict:
            agent.cancel(intent_id)
        self.assertEqual(conflict.exception.code, "not_pending")
        assert conflict.exception.intent is not None
        self.assertEqual(conflict.exception.intent["status"], "cancelled")
        self.assertEqual(agent.wait_for(intent_id)["status"], "cancelled")

    def test_an_idempotency_key_makes_one_intent(self) -> None:
        agent = CountersignClient()
        key = f"e2e-{uuid.uuid4()}"
        body = {"intent_type": "intent.e2e.idem.v1", "to_agent": "agent://e2e", "payload": {"reviewer": "lead@company.com"}}
        first = agent.send_intent(body, idempotency_key=key)  # type: ignore[arg-type]
        self.assertEqual(agent.send_intent(body, idempotency_key=key), first)  # type: ignore[arg-type]
        with self.assertRaises(ConflictError) as conflict:
            agent.send_intent({**body, "payload": {"reviewer": "other@company.com"}}, idempotency_key=key)  # type: ignore[arg-type]
        self.assertEqual(conflict.exception.code, "idempotency_conflict")

    def test_require_approval_runs_approved_calls_and_refuses_rejected_ones(self) -> None:
        lead = reviewer("payments@company.com")
        agent = CountersignClient()
        refunds: List[int] = []

        @require_approval(agent, reviewers=["payments@company.com"], to_agent="agent://e2e/payments")
        def refund(amount: int, customer: str) -> str:
            refunds.append(amount)
            return f"refunded {amount} to {customer}"

        def decide(approve: bool) -> Decider:
            if approve:
                return decide_when_listed(lead, "intent.tool.refund.v1", lambda i: lead.approve(i, "fine"))
            return decide_when_listed(
                lead, "intent.tool.refund.v1", lambda i: lead.reject(i, "Customer already refunded last week")
            )

        deciding = decide(approve=False)
        with self.assertRaises(ApprovalRejected) as raised:
            refund(40, customer="ACME")
        deciding.join()
        self.assertEqual((raised.exception.status, raised.exception.reason),
                         ("rejected", "Customer already refunded last week"))
        self.assertEqual(refunds, [])

        deciding = decide(approve=True)
        self.assertEqual(refund(12, customer="ACME"), "refunded 12 to ACME")
        deciding.join()
        self.assertEqual(refunds, [12])
        decided = agent.get_intent(raised.exception.intent_id)
        self.assertEqual(decided["payload"], {"amount": 40, "customer": "ACME"})
        self.assertEqual(decided["summary"], 'refund(amount=40, customer="ACME")')

    def test_require_approval_runs_with_the_reviewers_edits(self) -> None:
        lead = reviewer("edits@company.com")
        agent = CountersignClient()
        sent: List[Any] = []

        @require_approval(
            agent,
            reviewers=["edits@company.com"],
            to_agent="agent://e2e/mail",
            editable=["/subject"],
        )
        def send_mail(to: str, subject: str) -> str:
            sent.append((to, subject))
            return f"sent {subject!r} to {to}"

        deciding = decide_when_listed(
            lead,
            "intent.tool.send_mail.v1",
            lambda i: lead.decide(i, {"outcome": "approve", "edits": {"/subject": "Q1 numbers (final)"}}),
        )
        self.assertEqual(send_mail("board@company.com", "Q1 numbers"), "sent 'Q1 numbers (final)' to board@company.com")
        deciding.join()
        self.assertEqual(sent, [("board@company.com", "Q1 numbers (final)")])

        intent_id = next(
            intent["id"]
            for intent in agent.list_intents(status="approved")["items"]
            if intent["intent_type"] == "intent.tool.send_mail.v1"
        )
        decided = agent.wait_for(intent_id)
        self.assertEqual(decided["payload"], {"to": "board@company.com", "subject": "Q1 numbers"})
        self.assertEqual(decided.get("approved_payload"), {"to": "board@company.com", "subject": "Q1 numbers (final)"})
        self.assertEqual(decided.get("decision", {}).get("edits"), {"/subject": "Q1 numbers (final)"})
        self.assertTrue(verify_receipt(decided.get("receipt", ""), agent.jwks(), decided))
        tampered = dict(decided, approved_payload={"to": "board@company.com", "subject": "Q1 numbers"})
        self.assertFalse(verify_receipt(decided.get("receipt", ""), agent.jwks(), tampered))

    def test_the_async_client(self) -> None:
        cfo = reviewer("cfo@company.com")

        async def scenario() -> str:
            client = AsyncCountersignClient()
            intent_id = await client.send_intent({"intent_type": "intent.e2e.async.v1", "to_agent": "agent://e2e", "payload": {"reviewer": "cfo@company.com"}})
            waiting = asyncio.ensure_future(client.wait_for(intent_id, timeout=60))
            await asyncio.to_thread(cfo.reject, intent_id, "not now")
            result = await waiting
            decision = result["decision"]
            assert decision is not None
            self.assertTrue(await client.verify_events(intent_id))
            return f"{result['status']}: {decision['comment']}"

        self.assertEqual(asyncio.run(scenario()), "rejected: not now")


def reviewer_inbox(client: CountersignClient, intent_type: str, timeout: float = 30.0) -> str:
    """The id of the oldest intent of that type waiting for this reviewer, polling until one is."""
    deadline = time.monotonic() + timeout
    while True:
        items = client.list_intents(status="pending", reviewer="me")["items"]
        waiting = [item["id"] for item in items if item["intent_type"] == intent_type]
        if waiting:
            return waiting[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no {intent_type} arrived in the reviewer's list")
        time.sleep(0.05)


if __name__ == "__main__":
    unittest.main()
