"""wait_for against a scripted server: the long poll (the wait channel off), and waiting through
failures and restarts. The wait channel: test_wait_channel.py."""

import threading
import time
import unittest
from typing import Any, List

from countersign import CountersignClient, NotFoundError, WaitTimeoutError
from tests.scripted_server import DROP, Recorded, Reply, ScriptedServer, error, intent

API_KEY = "csk_test_wait"


class WaitForTest(unittest.TestCase):
    def serve(self, script: Any) -> ScriptedServer:
        server = ScriptedServer(script)
        self.addCleanup(server.stop)
        return server

    def client(self, server: ScriptedServer) -> CountersignClient:
        self.sleeps: List[float] = []
        return CountersignClient(
            server.base_url, API_KEY, sleep=self.sleeps.append, wait_channel=False
        )

    def test_long_polls_until_the_intent_is_decided(self) -> None:
        answers = iter([intent("int_1"), intent("int_1"), intent("int_1", "approved")])
        server = self.serve(lambda request: Reply(200, next(answers)))

        result = self.client(server).wait_for("int_1")

        self.assertEqual(result["status"], "approved")
        polls = server.requests_to("/v1/intents/int_1/wait")
        self.assertEqual(len(polls), 3)
        self.assertTrue(all(poll.query == {"timeout": "20"} for poll in polls))
        self.assertEqual(polls[0].header("Authorization"), f"Bearer {API_KEY}")

    def test_a_pending_answer_that_comes_early_does_not_make_a_tight_loop(self) -> None:
        answers = iter([intent("int_1"), intent("int_1", "rejected")])
        server = self.serve(lambda request: Reply(200, next(answers)))
        self.client(server).wait_for("int_1")
        self.assertEqual(len(self.sleeps), 1)
        self.assertGreater(self.sleeps[0], 0.5, "polls start at most once a second")

    def test_keeps_waiting_through_5xx_429_and_dropped_connections(self) -> None:
        answers = iter(
            [
                error(502, "internal"),
                DROP,
                Reply(429, {"error": {"code": "rate_limited", "message": "x"}},
                      headers={"Retry-After": "3"}),
                error(503, "internal"),
                error(500, "internal"),
                Reply(200, intent("int_1", "timed_out")),
            ]
        )
        server = self.serve(lambda request: next(answers))
        result = self.client(server).wait_for("int_1")
        self.assertEqual(result["status"], "timed_out")
        self.assertEqual(len(server.requests), 6, "wait_for is not bounded by max_retries")
        self.assertGreaterEqual(self.sleeps[2], 3.0, "Retry-After is honoured")
        self.assertTrue(self.sleeps[1] < self.sleeps[4], "the backoff grows while failures repeat")

    def test_waits_across_a_restart_of_the_server(self) -> None:
        decided = threading.Event()

        def script(request: Recorded) -> Any:
            if decided.is_set():
                return Reply(200, intent("int_1", "approved"))
            return DROP  # the server goes away in the middle of the long poll

        server = self.serve(script)
        client = CountersignClient(server.base_url, API_KEY, wait_channel=False)  # real backoff
        results: List[Any] = []
        waiter = threading.Thread(target=lambda: results.append(client.wait_for("int_1")))
        waiter.start()
        server.wait_until(lambda: len(server.requests) >= 1)
        server.stop()  # connections are now refused
        stopped_at = len(server.requests)
        decided.set()
        server.restart()
        waiter.join(timeout=20)
        self.assertFalse(waiter.is_alive(), "wait_for came back after the restart")
        self.assertEqual(results[0]["status"], "approved")
        self.assertGreater(len(server.requests), stopped_at)

    def test_a_permanent_error_is_raised_at_once(self) -> None:
        server = self.serve(lambda request: error(404, "not_found", "No intent int_x."))
        with self.assertRaises(NotFoundError):
            self.client(server).wait_for("int_x")
        self.assertEqual(len(server.requests), 1)

    def test_gives_up_after_its_timeout_with_the_last_intent(self) -> None:
        server = self.serve(lambda request: Reply(200, intent("int_1")))
        client = CountersignClient(server.base_url, API_KEY, wait_channel=False)
        started = time.monotonic()
        with self.assertRaises(WaitTimeoutError) as raised:
            client.wait_for("int_1", timeout=1.5, poll_seconds=1)
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, 1.5)
        self.assertLess(elapsed, 4.0)
        self.assertEqual(raised.exception.code, "wait_timeout")
        self.assertEqual(raised.exception.intent and raised.exception.intent["status"], "pending")
        self.assertTrue(all(poll.query["timeout"] == "1" for poll in server.requests))

    def test_the_hold_is_clamped_to_what_the_api_accepts(self) -> None:
        server = self.serve(lambda request: Reply(200, intent("int_1", "approved")))
        self.client(server).wait_for("int_1", poll_seconds=600)
        self.assertEqual(server.requests[0].query, {"timeout": "25"})


if __name__ == "__main__":
    unittest.main()
