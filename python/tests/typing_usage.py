"""Checked by ``mypy --strict`` (test/python/python-sdk.test.ts), never run: the public API keeps
its types for callers. Each ``type: ignore`` marks a misuse mypy must report; were the types lost
(``Any``), ``--strict``'s ``warn_unused_ignores`` would fail on the ignore instead."""

import os

from countersign import CountersignClient, Intent, require_approval, verify_callback, verify_receipt

# The seed's four lines type-check as they are.
client = CountersignClient(api_key=os.environ["COUNTERSIGN_API_KEY"])
intent_id = client.send_intent({"intent_type": "intent.report.review_approval.v1", "to_agent": "agent://myorg/production/report-generator", "payload": {"report": "Q1 Financial Summary", "pii_detected": False, "reviewer": "cfo@company.com"}})
result = client.wait_for(intent_id)
status: str = result["status"]
client.send_intent({"intent_type": "x", "payload": {}})  # type: ignore[typeddict-item]
result["no_such_field"]  # type: ignore[typeddict-item]


@require_approval(client, reviewers=["cfo@company.com"])
def refund(amount: int, customer: str) -> str:
    return f"{amount} {customer}"


@require_approval
def ping(host: str) -> bool:
    return True


async def deploy_later(build: int) -> Intent:
    return await deploy(build)


@require_approval(client)
async def deploy(build: int) -> Intent:
    return result


text: str = refund(40, "ACME")
refund("forty", "ACME")  # type: ignore[arg-type]
up: bool = ping("db1")
ping(1)  # type: ignore[arg-type]
wrong: int = refund(1, "x")  # type: ignore[assignment]

# Receipts, callbacks and policies, as the README writes them.
jwks = client.jwks()
verdict = verify_receipt(result.get("receipt", ""), jwks, result)
if verdict and verdict.claims is not None:
    count: int = verdict.claims["event_count"]
    verdict.claims["no_such_claim"]  # type: ignore[typeddict-item]
headers = {"Countersign-JWS": "a.b.c", "Content-Type": "application/json"}
callback = verify_callback(headers, b"{}", "https://agent.example.com/hook", jwks, 60)
because: str = callback.reason
verify_callback(headers, 42, "https://agent.example.com/hook", jwks)  # type: ignore[arg-type]
stored = client.put_policy("intent.payment.*", {"reviewers": ["cfo@company.com"], "rules": [{"name": "small", "effect": "approve", "when": [{"pointer": "/amount", "op": "lt", "value": 100}]}]})
version: int = stored["version"]
client.put_policy("*", {"rules": [{"name": "x", "effect": "maybe", "when": []}]})  # type: ignore[typeddict-item]
would: str = client.dry_run_policy("intent.payment.refund.v1", stored, limit=10)["items"][0]["would"]
