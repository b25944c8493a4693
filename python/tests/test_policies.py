"""Operator policy calls of both clients against a scripted server: routes, bodies, retries."""

import asyncio
import unittest
from typing import Any, Dict

from countersign import (
    AsyncCountersignClient,
    NotFoundError,
    OperatorPolicy,
    PermissionDeniedError,
    ServerError,
)
from tests.scripted_server import Recorded, Reply, ScriptedServer, error
from tests.test_client import API_KEY, ClientTestCase


POLICY: OperatorPolicy = {
    "reviewers": ["cfo@company.com"],
    "allow_request_reviewers": {"domains": ["company.com"]},
    "timeout": {"after": "2h", "action": "reject"},
    "rules": [
        {"name": "small", "effect": "approve", "when": [{"pointer": "/amount", "op": "lt", "value": 100}]}
    ],
}


def stored(intent_type: str = "intent.payment.*", version: int = 1) -> Dict[str, Any]:
    return {
        **POLICY,
        "intent_type": intent_type,
        "version": version,
        "updated_at": "2026-12-01T09:00:00.000Z",
        "updated_by": "admin@company.com",
    }


class PolicyTest(ClientTestCase):
    def test_put_policy_sends_the_policy_as_json_to_the_encoded_pattern(self) -> None:
        server = self.serve(lambda request: Reply(201, stored()))
        result = self.client(server).put_policy("intent.payment.*", POLICY)

        self.assertEqual(result["version"], 1)
        [request] = server.requests
        self.assertEqual((request.method, request.path), ("PUT", "/v1/policies/intent.payment.*"))
        self.assertEqual(request.body, POLICY)
        self.assertEqual(request.header("Content-Type"), "application/json")
        self.assertEqual(request.header("Authorization"), f"Bearer {API_KEY}")

    def test_put_policy_of_an_empty_policy_still_sends_a_json_body(self) -> None:
        server = self.serve(lambda request: Reply(200, stored("*", 2)))
        self.client(server).put_policy("*", {})
        self.assertEqual(server.requests[0].path, "/v1/policies/*")
        self.assertEqual(server.requests[0].body, {})

    def test_put_policy_is_retried_with_the_same_body(self) -> None:
        answers = iter([error(503, "internal"), Reply(200, stored(version=2))])
        server = self.serve(lambda request: next(answers))
        self.assertEqual(self.client(server).put_policy("intent.payment.*", POLICY)["version"], 2)
        self.assertEqual([request.body for request in server.requests], [POLICY, POLICY])
        self.assertEqual(len(self.sleeps), 1)

    def test_a_pattern_cannot_change_the_route(self) -> None:
        server = self.serve(lambda request: Reply(200, stored("a/b?c")))
        self.client(server).get_policy("a/b?c")
        self.assertEqual(server.requests[0].path, "/v1/policies/a%2Fb%3Fc")
        self.assertEqual(server.requests[0].query, {})

    def test_get_list_and_delete(self) -> None:
        listing = {
            "items": [{**stored(), "source": "api"}],
            "configured": [{"intent_type": "*", "source": "config"}],
        }

        def script(request: Recorded) -> Reply:
            if request.path == "/v1/policies":
                return Reply(200, listing)
            return Reply(200, stored())

        server = self.serve(script)
        client = self.client(server)
        self.assertEqual(client.get_policy("intent.payment.*")["intent_type"], "intent.payment.*")
        self.assertEqual(client.list_policies(), listing)
        self.assertEqual(client.delete_policy("intent.payment.*")["version"], 1)
        self.assertEqual(
            [(request.method, request.path, request.body) for request in server.requests],
            [
                ("GET", "/v1/policies/intent.payment.*", None),
                ("GET", "/v1/policies", None),
                ("DELETE", "/v1/policies/intent.payment.*", None),
            ],
        )

    def test_a_missing_policy_is_not_found_and_delete_is_not_retried(self) -> None:
        server = self.serve(lambda request: error(404, "not_found", "No policy."))
        with self.assertRaises(NotFoundError):
            self.client(server).get_policy("intent.other.v1")

        failing = self.serve(lambda request: error(503, "internal"))
        with self.assertRaises(ServerError):
            self.client(failing).delete_policy("intent.payment.*")
        self.assertEqual(len(failing.requests), 1)

    def test_other_roles_get_permission_denied(self) -> None:
        server = self.serve(lambda request: error(403, "forbidden", "Admins only."))
        with self.assertRaisesRegex(PermissionDeniedError, "Admins only"):
            self.client(server).put_policy("*", POLICY)

    def test_dry_run_posts_the_type_the_policy_and_the_limit(self) -> None:
        answer = {
            "items": [
                {"id": "int_1", "created_at": "2026-12-01T09:00:00.000Z", "would": "approve",
                 "rule": "small"},
                {"id": "int_2", "created_at": "2026-12-01T08:00:00.000Z", "would": "ask",
                 "rule": None},
            ],
            "summary": {"total": 2, "approve": 1, "reject": 0, "ask": 1},
        }
        server = self.serve(lambda request: Reply(200, answer))
        client = self.client(server)
        self.assertEqual(client.dry_run_policy("intent.payment.refund.v1", POLICY, limit=50), answer)
        client.dry_run_policy("intent.payment.refund.v1", POLICY)
        first, second = server.requests
        self.assertEqual((first.method, first.path), ("POST", "/v1/policies/dry-run"))
        self.assertEqual(
            first.body, {"intent_type": "intent.payment.refund.v1", "policy": POLICY, "limit": 50}
        )
        self.assertEqual(second.body, {"intent_type": "intent.payment.refund.v1", "policy": POLICY})


class AsyncPolicyTest(unittest.TestCase):
    def test_the_async_client_has_the_same_calls(self) -> None:
        def script(request: Recorded) -> Reply:
            if request.path == "/v1/policies/dry-run":
                return Reply(200, {"items": [], "summary": {"total": 0, "approve": 0, "reject": 0,
                                                            "ask": 0}})
            if request.path == "/v1/policies":
                return Reply(200, {"items": [], "configured": []})
            return Reply(201 if request.method == "PUT" else 200, stored())

        server = ScriptedServer(script)
        self.addCleanup(server.stop)
        client = AsyncCountersignClient(server.base_url, API_KEY)

        async def run() -> None:
            self.assertEqual((await client.put_policy("intent.payment.*", POLICY))["version"], 1)
            await client.get_policy("intent.payment.*")
            await client.list_policies()
            await client.delete_policy("intent.payment.*")
            summary = (await client.dry_run_policy("intent.payment.*", POLICY, limit=5))["summary"]
            self.assertEqual(summary["total"], 0)

        asyncio.run(run())
        self.assertEqual(
            [(request.method, request.path) for request in server.requests],
            [
                ("PUT", "/v1/policies/intent.payment.*"),
                ("GET", "/v1/policies/intent.payment.*"),
                ("GET", "/v1/policies"),
                ("DELETE", "/v1/policies/intent.payment.*"),
                ("POST", "/v1/policies/dry-run"),
            ],
        )
        self.assertEqual(server.requests[0].body, POLICY)
        self.assertEqual(server.requests[4].body["limit"], 5)


if __name__ == "__main__":
    unittest.main()
