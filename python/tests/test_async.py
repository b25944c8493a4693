"""AsyncCountersignClient: the same calls on an event loop, which the waiting never blocks."""

import asyncio
import threading
import unittest
from typing import Any, List

from countersign import AsyncCountersignClient, ConflictError, verify_events
from tests.scripted_server import DROP, SEED, Recorded, Reply, ScriptedServer, error, intent
from tests.test_audit import FIXTURE

API_KEY = "csk_test_async"


class AsyncClientTest(unittest.IsolatedAsyncioTestCase):
    def serve(self, script: Any) -> ScriptedServer:
        server = ScriptedServer(script)
        self.addCleanup(server.stop)
        return server

    async def test_sends_and_waits_through_failures_with_one_idempotency_key(self) -> None:
        answers = iter([error(503, "internal"), Reply(201, intent("int_a")), DROP,
                        Reply(200, intent("int_a")), Reply(200, intent("int_a", "approved"))])
        server = self.serve(lambda request: next(answers))
        sleeps: List[float] = []

        async def record(seconds: float) -> None:
            sleeps.append(seconds)

        client = AsyncCountersignClient(server.base_url, API_KEY, sleep=record, wait_channel=False)
        intent_id = await client.send_intent(SEED)  # type: ignore[arg-type]
        result = await client.wait_for(intent_id)

        self.assertEqual(result["status"], "approved")
        creates = server.requests_to("/v1/intents")
        self.assertEqual(len(creates), 2)
        self.assertEqual(creates[0].header("Idempotency-Key"), creates[1].header("Idempotency-Key"))
        self.assertEqual(len(server.requests_to("/wait")), 3)
        self.assertEqual(len(sleeps), 3)

    async def test_decide_many_posts_once_and_answers_each_result(self) -> None:
        results = [{"intent_id": "int_a", "status": 200, "intent": intent("int_a", "approved")}]
        server = self.serve(lambda request: Reply(200, {"results": results}))
        client = AsyncCountersignClient(server.base_url, API_KEY)
        answer = await client.decide_many([{"intent_id": "int_a", "outcome": "approve"}])
        self.assertEqual(answer["results"][0]["status"], 200)
        [request] = server.requests
        self.assertEqual((request.method, request.path), ("POST", "/v1/decisions"))
        self.assertEqual(request.body, {"decisions": [{"intent_id": "int_a", "outcome": "approve"}]})

    async def test_the_loop_keeps_running_while_a_long_poll_is_held(self) -> None:
        release = threading.Event()

        def script(request: Recorded) -> Reply:
            release.wait(10)
            return Reply(200, intent("int_a", "approved"))

        server = self.serve(script)
        client = AsyncCountersignClient(server.base_url, API_KEY, wait_channel=False)
        waiting = asyncio.ensure_future(client.wait_for("int_a"))
        ticks = 0
        while len(server.requests) == 0 or ticks < 5:
            await asyncio.sleep(0.01)
            ticks += 1
        self.assertFalse(waiting.done())
        release.set()
        self.assertEqual((await waiting)["status"], "approved")

    async def test_cancelling_the_task_stops_the_wait(self) -> None:
        server = self.serve(lambda request: Reply(200, intent("int_a")))
        client = AsyncCountersignClient(server.base_url, API_KEY, wait_channel=False)
        waiting = asyncio.ensure_future(client.wait_for("int_a", poll_seconds=1))
        while len(server.requests) < 2:
            await asyncio.sleep(0.01)
        waiting.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await waiting

    async def test_typed_errors_and_trail_verification(self) -> None:
        def script(request: Recorded) -> Reply:
            if request.path.endswith("/events"):
                return Reply(200, {"items": FIXTURE["events"]})
            if request.path.endswith("/cancel"):
                return error(409, "not_pending", "Already decided.", intent=intent("int_a", "approved"))
            return Reply(200, intent("int_a", "approved", event_count=FIXTURE["event_count"],
                                     last_event_hash=FIXTURE["last_event_hash"]))

        client = AsyncCountersignClient(self.serve(script).base_url, API_KEY, wait_channel=False)
        with self.assertRaises(ConflictError) as raised:
            await client.cancel("int_a", "changed my mind")
        self.assertEqual(raised.exception.code, "not_pending")
        self.assertEqual(raised.exception.intent and raised.exception.intent["status"], "approved")
        self.assertTrue(await client.verify_events("int_a"))
        events = (await client.events("int_a"))["items"]
        self.assertFalse(verify_events(events[:3], await client.get_intent("int_a")))


if __name__ == "__main__":
    unittest.main()
