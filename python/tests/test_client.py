"""CountersignClient against a scripted HTTP server: requests on the wire, retries, typed errors."""

import os
import unittest
from typing import Any, List
from unittest import mock

from countersign import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CountersignClient,
    CountersignError,
    CountersignNetworkError,
    NotFoundError,
    RateLimitedError,
    ServerError,
)
from tests.scripted_server import DROP, SEED, Recorded, Reply, ScriptedServer, error, intent
from tests.test_audit import FIXTURE

API_KEY = "csk_test_secret_123"


class ClientTestCase(unittest.TestCase):
    def serve(self, script: Any) -> ScriptedServer:
        server = ScriptedServer(script)
        self.addCleanup(server.stop)
        return server

    def client(self, server: ScriptedServer, **options: Any) -> CountersignClient:
        self.sleeps: List[float] = []
        options.setdefault("sleep", self.sleeps.append)
        return CountersignClient(server.base_url, API_KEY, **options)


class SendIntentTest(ClientTestCase):
    def test_posts_the_intent_with_key_idempotency_key_and_json(self) -> None:
        server = self.serve(lambda request: Reply(201, intent("int_42")))
        intent_id = self.client(server).send_intent(SEED)  # type: ignore[arg-type]

        self.assertEqual(intent_id, "int_42")
        [request] = server.requests
        self.assertEqual((request.method, request.path), ("POST", "/v1/intents"))
        self.assertEqual(request.body, SEED)
        self.assertEqual(request.header("Authorization"), f"Bearer {API_KEY}")
        self.assertEqual(request.header("Content-Type"), "application/json")
        self.assertRegex(request.header("Idempotency-Key") or "", r"^[0-9a-f-]{36}$")
        self.assertRegex(request.header("User-Agent") or "", r"^countersign-sdk-python/")

    def test_reads_url_and_key_from_the_environment_when_omitted(self) -> None:
        server = self.serve(lambda request: Reply(201, intent("int_env")))
        environment = {"COUNTERSIGN_URL": server.base_url, "COUNTERSIGN_API_KEY": "csk_env"}
        with mock.patch.dict(os.environ, environment):
            client = CountersignClient()
        self.assertEqual(client.send_intent(SEED), "int_env")  # type: ignore[arg-type]
        self.assertEqual(server.requests[0].header("Authorization"), "Bearer csk_env")

    def test_refuses_to_start_without_a_key_or_with_a_bad_url(self) -> None:
        with mock.patch.dict(os.environ, {}, clear=True):
            with self.assertRaisesRegex(ValueError, "COUNTERSIGN_API_KEY"):
                CountersignClient("http://127.0.0.1:1")
        with self.assertRaisesRegex(ValueError, "absolute http"):
            CountersignClient("127.0.0.1:4700", "csk_x")

    def test_retries_5xx_429_and_dropped_connections_with_one_idempotency_key(self) -> None:
        answers = iter(
            [
                error(503, "internal"),
                DROP,
                Reply(429, {"error": {"code": "rate_limited", "message": "slow down"}},
                      headers={"Retry-After": "7"}),
                Reply(201, intent("int_once")),
            ]
        )
        server = self.serve(lambda request: next(answers))
        client = self.client(server)

        self.assertEqual(client.send_intent(SEED), "int_once")  # type: ignore[arg-type]
        keys = {request.header("Idempotency-Key") for request in server.requests}
        self.assertEqual(len(server.requests), 4)
        self.assertEqual(len(keys), 1, "every retry reuses the first attempt's key")
        self.assertEqual(len(self.sleeps), 3)
        self.assertGreaterEqual(self.sleeps[2], 7.0, "Retry-After is a lower bound")
        self.assertTrue(all(0.1 <= pause <= 7.0 for pause in self.sleeps))

    def test_a_given_idempotency_key_is_sent_as_is(self) -> None:
        server = self.serve(lambda request: Reply(201, intent()))
        self.client(server).send_intent(SEED, idempotency_key="report-q1")  # type: ignore[arg-type]
        self.assertEqual(server.requests[0].header("Idempotency-Key"), "report-q1")

    def test_gives_up_after_max_retries_with_the_last_error(self) -> None:
        server = self.serve(lambda request: error(503, "internal", "down for maintenance"))
        with self.assertRaises(ServerError) as raised:
            self.client(server, max_retries=2).create_intent(SEED)  # type: ignore[arg-type]
        self.assertEqual(len(server.requests), 3)
        self.assertEqual((raised.exception.status, raised.exception.code), (503, "internal"))


class DecideManyTest(ClientTestCase):
    def test_posts_the_decisions_once_and_returns_each_result_in_order(self) -> None:
        conflict = {"code": "already_decided", "message": "Intent int_2 is approved.", "details": []}
        results = [
            {"intent_id": "int_1", "status": 200, "intent": intent("int_1", "approved")},
            {"intent_id": "int_2", "status": 409, "error": conflict},
        ]
        server = self.serve(lambda request: Reply(200, {"results": results}))
        answer = self.client(server).decide_many(
            [
                {"intent_id": "int_1", "outcome": "approve"},
                {"intent_id": "int_2", "outcome": "reject", "comment": "Wrong vendor"},
            ]
        )
        self.assertEqual([r["status"] for r in answer["results"]], [200, 409])
        self.assertEqual(answer["results"][1].get("error"), conflict)
        [request] = server.requests
        self.assertEqual((request.method, request.path), ("POST", "/v1/decisions"))
        self.assertEqual(
            request.body,
            {
                "decisions": [
                    {"intent_id": "int_1", "outcome": "approve"},
                    {"intent_id": "int_2", "outcome": "reject", "comment": "Wrong vendor"},
                ]
            },
        )

    def test_a_request_refused_as_a_whole_raises_and_is_not_retried(self) -> None:
        details = [{"field": "decisions", "message": "Too big: expected array to have <=100 items"}]
        server = self.serve(lambda request: error(400, "validation_failed", "Invalid.", details=details))
        items = [{"intent_id": f"int_{n}", "outcome": "approve"} for n in range(101)]
        with self.assertRaises(BadRequestError) as raised:
            self.client(server).decide_many(items)  # type: ignore[arg-type]
        self.assertEqual(raised.exception.details, details)
        self.assertEqual(len(server.requests), 1)


class TypedErrorTest(ClientTestCase):
    def test_a_409_carries_code_status_and_the_current_intent(self) -> None:
        decided = intent("int_7", "approved")
        server = self.serve(
            lambda request: error(409, "already_decided", "Intent int_7 is approved.", intent=decided)
        )
        with self.assertRaises(ConflictError) as raised:
            self.client(server).approve("int_7", "ok")
        problem = raised.exception
        self.assertEqual((problem.code, problem.status), ("already_decided", 409))
        self.assertEqual(str(problem), "Intent int_7 is approved.")
        self.assertEqual(problem.intent, decided)
        self.assertEqual(len(server.requests), 1, "a decision is never retried")

    def test_a_validation_error_names_each_field(self) -> None:
        details = [{"field": "intent_type", "message": "is required"}]
        server = self.serve(lambda request: error(400, "validation_failed", "Invalid.", details=details))
        with self.assertRaises(BadRequestError) as raised:
            self.client(server).send_intent({"payload": {}})  # type: ignore[typeddict-item]
        self.assertEqual(raised.exception.details, details)
        self.assertEqual(len(server.requests), 1, "a 400 is not retried")

    def test_each_status_has_its_class_and_all_are_countersign_errors(self) -> None:
        cases = [(401, "unauthenticated", AuthenticationError), (404, "not_found", NotFoundError),
                 (429, "rate_limited", RateLimitedError)]
        for status, code, cls in cases:
            with self.subTest(status=status):
                server = self.serve(lambda request, s=status, c=code: error(s, c))
                with self.assertRaises(cls) as raised:
                    self.client(server, max_retries=0).get_intent("int_1")
                self.assertIsInstance(raised.exception, CountersignError)
                self.assertEqual((raised.exception.status, raised.exception.code), (status, code))

    def test_a_proxy_page_becomes_http_status_code_with_a_short_snippet(self) -> None:
        page = "<html><body>" + "Bad gateway " * 50 + "</body></html>"
        server = self.serve(lambda request: Reply(502, text=page))
        with self.assertRaises(ServerError) as raised:
            self.client(server, max_retries=0).get_intent("int_1")
        self.assertEqual(raised.exception.code, "http_502")
        self.assertLess(len(str(raised.exception)), 300)
        self.assertIn("Bad gateway", str(raised.exception))

    def test_a_2xx_body_that_is_not_json_is_invalid_response(self) -> None:
        server = self.serve(lambda request: Reply(200, text="<html>login</html>"))
        with self.assertRaises(CountersignError) as raised:
            self.client(server).health()
        self.assertEqual((raised.exception.code, raised.exception.status), ("invalid_response", 200))

    def test_an_unreachable_server_is_a_network_error_after_the_retries(self) -> None:
        server = self.serve(lambda request: Reply(200, {}))
        url = server.base_url
        server.stop()
        self.addCleanup(lambda: None)
        client = CountersignClient(url, API_KEY, sleep=lambda s: None, max_retries=2)
        with self.assertRaises(CountersignNetworkError) as raised:
            client.list_intents()
        self.assertEqual((raised.exception.code, raised.exception.status), ("network_error", None))
        self.assertIn("could not reach http://127.0.0.1", str(raised.exception))
        server.restart()  # so that the cleanup's stop has a server to stop

    def test_the_api_key_never_appears_in_a_message(self) -> None:
        server = self.serve(lambda request: error(403, "forbidden", f"key {API_KEY} may not"))
        with self.assertRaises(CountersignError) as raised:
            self.client(server).list_keys()
        self.assertNotIn(API_KEY, str(raised.exception))
        self.assertIn("[redacted]", str(raised.exception))


class EndpointTest(ClientTestCase):
    def test_every_method_calls_its_endpoint(self) -> None:
        server = self.serve(lambda request: Reply(200, {"items": [], "next_cursor": None}))
        client = self.client(server)
        calls = [
            (lambda: client.get_intent("int_1"), "GET", "/v1/intents/int_1", None),
            (lambda: client.list_intents(status="pending", reviewer="me", limit=5, cursor="c1"),
             "GET", "/v1/intents", None),
            (lambda: client.decide("int_1", {"outcome": "approve", "channel": "cli"}),
             "POST", "/v1/intents/int_1/decision", {"outcome": "approve", "channel": "cli"}),
            (lambda: client.approve("int_1"), "POST", "/v1/intents/int_1/decision",
             {"outcome": "approve"}),
            (lambda: client.reject("int_1", "PII"), "POST", "/v1/intents/int_1/decision",
             {"outcome": "reject", "comment": "PII"}),
            (lambda: client.cancel("int_1", "withdrawn"), "POST", "/v1/intents/int_1/cancel",
             {"reason": "withdrawn"}),
            (lambda: client.cancel("int_1"), "POST", "/v1/intents/int_1/cancel", {}),
            (lambda: client.events("int_1"), "GET", "/v1/intents/int_1/events", None),
            (lambda: client.create_key({"role": "reviewer", "principal": "a@x.com"}),
             "POST", "/v1/keys", {"role": "reviewer", "principal": "a@x.com"}),
            (lambda: client.list_keys(), "GET", "/v1/keys", None),
            (lambda: client.revoke_key("key_1"), "DELETE", "/v1/keys/key_1", None),
            (lambda: client.put_team({"name": "finance", "members": ["a@x.com"]}),
             "POST", "/v1/teams", {"name": "finance", "members": ["a@x.com"]}),
            (lambda: client.list_teams(), "GET", "/v1/teams", None),
            (lambda: client.delete_team("finance"), "DELETE", "/v1/teams/finance", None),
            (lambda: client.put_reviewer_profile("ada@x.com", {"time_zone": "Asia/Kathmandu"}),
             "PUT", "/v1/reviewers/ada%40x.com", {"time_zone": "Asia/Kathmandu"}),
            (lambda: client.get_reviewer_profile("me"), "GET", "/v1/reviewers/me", None),
            (lambda: client.list_reviewer_profiles(out_of_office=True), "GET", "/v1/reviewers", None),
            (lambda: client.health(), "GET", "/healthz", None),
        ]
        for call, method, path, body in calls:
            with self.subTest(path=path, method=method):
                before = len(server.requests)
                call()
                request = server.requests[before]
                self.assertEqual((request.method, request.path, request.body), (method, path, body))
        self.assertEqual(server.requests_to("/v1/reviewers")[0].query, {"out_of_office": "true"})
        listed = server.requests[1]
        self.assertEqual(listed.query, {"status": "pending", "reviewer": "me", "limit": "5", "cursor": "c1"})
        self.assertIsNone(server.requests_to("/healthz")[0].header("Authorization"))

    def test_ids_are_one_path_segment_whatever_they_contain(self) -> None:
        server = self.serve(lambda request: Reply(200, intent()))
        self.client(server).get_intent("a/../b?c")
        self.assertEqual(server.requests[0].path, "/v1/intents/a%2F..%2Fb%3Fc")

    def test_verify_events_reads_a_growing_trail_again(self) -> None:
        reads: List[int] = []

        def script(request: Recorded) -> Reply:
            if request.path.endswith("/events"):
                reads.append(1)
                # The first read misses the notice appended after it, which the intent counts.
                shown = FIXTURE["events"][: 3 if len(reads) == 1 else 4]
                return Reply(200, {"items": shown})
            return Reply(200, intent("int_1", "approved", event_count=FIXTURE["event_count"],
                                     last_event_hash=FIXTURE["last_event_hash"]))

        result = self.client(self.serve(script)).verify_events("int_1")
        self.assertTrue(result, result.message)
        self.assertEqual((len(reads), result.intact_count), (2, 4))

    def test_verify_events_reports_a_trail_shorter_than_its_intent(self) -> None:
        def script(request: Recorded) -> Reply:
            if request.path.endswith("/events"):
                return Reply(200, {"items": FIXTURE["events"][:3]})
            return Reply(200, intent("int_1", "approved", event_count=FIXTURE["event_count"],
                                     last_event_hash=FIXTURE["last_event_hash"]))

        server = self.serve(script)
        result = self.client(server).verify_events("int_1")
        self.assertEqual((result.ok, result.problem), (False, "event_count"))
        self.assertEqual(len(server.requests_to("/events")), 5)

    def test_iter_intents_follows_next_cursor(self) -> None:
        def pages(request: Recorded) -> Reply:
            if request.query.get("cursor") == "p2":
                return Reply(200, {"items": [intent("int_3")], "next_cursor": None})
            return Reply(200, {"items": [intent("int_1"), intent("int_2")], "next_cursor": "p2"})

        server = self.serve(pages)
        ids = [item["id"] for item in self.client(server).iter_intents(status="pending", limit=2)]
        self.assertEqual(ids, ["int_1", "int_2", "int_3"])
        self.assertEqual(len(server.requests), 2)


if __name__ == "__main__":
    unittest.main()
