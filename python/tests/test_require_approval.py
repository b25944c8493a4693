"""@require_approval against a scripted server that plays the reviewer's decision."""

import dataclasses
import inspect
import os
import typing
import unittest
from typing import Any, Dict, List, Optional
from unittest import mock

from countersign import (
    ApprovalRejected,
    AsyncCountersignClient,
    CountersignClient,
    require_approval,
)
from tests.scripted_server import Recorded, Reply, ScriptedServer, intent

API_KEY = "csk_test_tools"


class Reviewer:
    """Scripts the API: creates answer 201, the wait answers the final intent it is told."""

    def __init__(self, status: str, **final: Any) -> None:
        self.status = status
        self.final = final
        self.created: List[Dict[str, Any]] = []

    def __call__(self, request: Recorded) -> Reply:
        if request.method == "POST" and request.path == "/v1/intents":
            self.created.append(request.body)
            return Reply(201, intent("int_t", payload=request.body["payload"]))
        sent = self.created[-1]["payload"]
        return Reply(200, intent("int_t", self.status, payload=sent, **self.final))


@dataclasses.dataclass
class Recipient:
    email: str
    name: str


class RequireApprovalTest(unittest.TestCase):
    def start(self, reviewer: Reviewer) -> CountersignClient:
        server = ScriptedServer(reviewer)
        self.addCleanup(server.stop)
        self.server = server
        return CountersignClient(server.base_url, API_KEY, sleep=lambda seconds: None)

    def test_asks_with_the_arguments_then_runs_and_returns(self) -> None:
        reviewer = Reviewer("approved")
        client = self.start(reviewer)
        calls: List[Any] = []

        @require_approval(client, reviewers=["cfo@company.com"], policy={"timeout": {"after": "1h"}})
        def send_report(report: str, to: str, copies: int = 1) -> str:
            calls.append((report, to, copies))
            return f"sent {report}"

        self.assertEqual(send_report("Q1 Financial Summary", to="board@company.com"), "sent Q1 Financial Summary")
        self.assertEqual(calls, [("Q1 Financial Summary", "board@company.com", 1)])
        [created] = reviewer.created
        self.assertEqual(created["payload"], {"report": "Q1 Financial Summary", "to": "board@company.com", "copies": 1})
        self.assertEqual(created["summary"], 'send_report(report="Q1 Financial Summary", to="board@company.com", copies=1)')
        self.assertEqual(created["intent_type"], "intent.tool.send_report.v1")
        self.assertEqual(created["to_agent"], "agent://tools/send_report")
        self.assertEqual(created["reviewers"], ["cfo@company.com"])
        self.assertEqual(created["policy"], {"timeout": {"after": "1h"}})
        self.assertEqual(send_report.__name__, "send_report")

    def test_a_rejection_raises_with_the_reason_and_does_not_run(self) -> None:
        client = self.start(Reviewer("rejected", decision={
            "outcome": "rejected", "by": "cfo@company.com", "at": "2026-11-24T09:10:00.000Z",
            "comment": "The report still names customers", "channel": "email"}))
        calls: List[str] = []

        @require_approval(client)
        def send_report(report: str) -> None:
            calls.append(report)

        with self.assertRaises(ApprovalRejected) as raised:
            send_report("Q1")
        self.assertEqual(calls, [])
        rejection = raised.exception
        self.assertEqual((rejection.status, rejection.reason), ("rejected", "The report still names customers"))
        self.assertEqual((rejection.decided_by, rejection.tool, rejection.intent_id),
                         ("cfo@company.com", "send_report", "int_t"))
        self.assertEqual(str(rejection), "cfo@company.com rejected send_report: The report still names customers")

    def test_timed_out_and_cancelled_are_rejections_unless_the_timeout_approves(self) -> None:
        for status, outcome, by, runs in [("timed_out", "rejected", "timeout", False),
                                           ("cancelled", "cancelled", "agent://x", False),
                                           ("timed_out", "approved", "timeout", True)]:
            with self.subTest(status=status, outcome=outcome):
                client = self.start(Reviewer(status, decision={
                    "outcome": outcome, "by": by, "at": "2026-11-24T17:00:00.000Z",
                    "comment": None, "channel": "timeout" if by == "timeout" else "api"}))
                tool = require_approval(client)(lambda amount: f"refunded {amount}")
                if runs:
                    self.assertEqual(tool(40), "refunded 40")
                    continue
                with self.assertRaises(ApprovalRejected) as raised:
                    tool(40)
                self.assertEqual(raised.exception.status, status)
                self.assertIsNone(raised.exception.reason)

    def test_runs_with_the_values_a_reviewer_edited_and_keeps_the_other_objects(self) -> None:
        client = self.start(Reviewer("approved", approved_payload={
            "amount": 400, "recipient": {"email": "a@x.com", "name": "A"}, "note": "edited"}))
        received: List[Any] = []
        original = Recipient("a@x.com", "A")

        @require_approval(client, editable=["/amount", "/note"])
        def refund(amount: int, recipient: Recipient, note: Optional[str] = None) -> None:
            received.extend([amount, recipient, note])

        refund(40000, original)
        self.assertEqual(received[0], 400)
        self.assertIs(received[1], original, "an unchanged argument stays the caller's object")
        self.assertEqual(received[2], "edited")
        self.assertEqual(self.server.requests[0].body["payload"]["recipient"], {"email": "a@x.com", "name": "A"})
        self.assertEqual(self.server.requests[0].body["editable"], ["/amount", "/note"])

    def test_summary_template_or_function_and_methods_without_self(self) -> None:
        reviewer = Reviewer("approved")
        client = self.start(reviewer)

        class Payments:
            @require_approval(client, summary="Refund {amount} EUR to {customer}", name="refund")
            def refund(self, amount: int, customer: str) -> int:
                return amount

        @require_approval(client, summary=lambda path: f"Delete {path}?", intent_type="intent.fs.delete.v1")
        def delete(path: str) -> bool:
            return True

        self.assertEqual(Payments().refund(12, customer="ACME"), 12)
        self.assertTrue(delete("/tmp/x"))
        first, second = reviewer.created
        self.assertEqual((first["summary"], first["payload"]), ("Refund 12 EUR to ACME", {"amount": 12, "customer": "ACME"}))
        self.assertEqual((second["summary"], second["intent_type"]), ("Delete /tmp/x?", "intent.fs.delete.v1"))

    def test_bare_decorator_uses_a_client_from_the_environment(self) -> None:
        reviewer = Reviewer("approved")
        server = ScriptedServer(reviewer)
        self.addCleanup(server.stop)

        @require_approval
        def ping(host: str) -> str:
            return f"pong {host}"

        with mock.patch.dict(os.environ, {"COUNTERSIGN_URL": server.base_url, "COUNTERSIGN_API_KEY": "csk_env"}):
            self.assertEqual(ping("db1"), "pong db1")
        self.assertEqual(server.requests[0].header("Authorization"), "Bearer csk_env")

    def test_keeps_what_frameworks_read_to_build_a_tool_schema(self) -> None:
        client = CountersignClient("http://127.0.0.1:1", "k")

        def refund(order_id: str, amount_eur: float = 0.0) -> str:
            """Refund an order, partly or in full."""
            return order_id

        wrapped = require_approval(client)(refund)
        self.assertEqual((wrapped.__name__, wrapped.__doc__), ("refund", refund.__doc__))
        self.assertEqual(inspect.signature(wrapped), inspect.signature(refund))
        self.assertEqual(typing.get_type_hints(wrapped), typing.get_type_hints(refund))

    def test_arguments_that_are_not_json_become_json(self) -> None:
        class Model:
            def model_dump(self) -> Dict[str, Any]:
                return {"sku": "A-1", "tags": ("x",)}

        reviewer = Reviewer("approved")
        client = self.start(reviewer)
        tool = require_approval(client)(lambda item, to, extra: None)
        tool(Model(), Recipient("a@x.com", "A"), {1: {2, 2}, "when": object})
        payload = reviewer.created[0]["payload"]
        self.assertEqual(payload["item"], {"sku": "A-1", "tags": ["x"]})
        self.assertEqual(payload["to"], {"email": "a@x.com", "name": "A"})
        self.assertEqual(payload["extra"], {"1": [2], "when": "<class 'object'>"})

    def test_the_summary_stays_within_what_the_api_accepts(self) -> None:
        reviewer = Reviewer("approved")
        client = self.start(reviewer)
        require_approval(client, name="post")(lambda text, tags: None)("word " * 200, ["a"] * 3)
        require_approval(client, name="post", summary=lambda text: text)(lambda text: None)("word " * 200)
        shortened, cut = (created["summary"] for created in reviewer.created)
        # Each argument is previewed in at most 80 characters; the whole line in at most 500,
        # which is what the API accepts.
        self.assertEqual(shortened, 'post(text="' + "word " * 15 + 'wor…, tags=["a", "a", "a"])')
        self.assertEqual(len(cut), 500)
        self.assertTrue(cut.endswith("word…"))

    def test_a_sync_function_with_an_async_client_is_refused_at_decoration(self) -> None:
        with self.assertRaisesRegex(TypeError, "not async"):
            require_approval(AsyncCountersignClient("http://127.0.0.1:1", "k"))(lambda: None)


class AsyncRequireApprovalTest(unittest.IsolatedAsyncioTestCase):
    async def test_async_tools_with_either_client(self) -> None:
        reviewer = Reviewer("rejected", decision={
            "outcome": "rejected", "by": "lead@x.com", "at": "2026-11-24T09:10:00.000Z",
            "comment": "not today", "channel": "slack"})
        server = ScriptedServer(reviewer)
        self.addCleanup(server.stop)
        for client in (AsyncCountersignClient(server.base_url, API_KEY),
                       CountersignClient(server.base_url, API_KEY)):
            with self.subTest(client=type(client).__name__):
                @require_approval(client)
                async def deploy(build: int) -> str:
                    return f"deployed {build}"

                with self.assertRaises(ApprovalRejected) as raised:
                    await deploy(4711)
                self.assertEqual(raised.exception.reason, "not today")
        reviewer.status, reviewer.final = "approved", {}
        self.assertEqual(await deploy(4712), "deployed 4712")
        self.assertEqual(reviewer.created[-1]["payload"], {"build": 4712})


if __name__ == "__main__":
    unittest.main()
