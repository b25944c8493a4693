"""End-to-end: a ``@require_approval`` tool keeps waiting while the whole local stack restarts.

Driven by test/python/python-sdk.test.ts: this script calls ``send_email``, a tool wrapped with
``@require_approval`` whose intent goes to ``$COUNTERSIGN_E2E_TO_AGENT``; the test finds that
intent, stops the stack, starts it again on the same data and port, and approves or rejects it.
Prints ``{"sent": [...], "seen": "..."}``: the emails the tool sent and what an agent's model
would be told (the tool's result, or the rejection's sentence), then exits 0.
"""

import json
import os
import sys
from typing import Dict, List

from countersign import ApprovalRejected, require_approval

sent: List[Dict[str, str]] = []


@require_approval(reviewers=["cfo@company.com"], to_agent=os.environ["COUNTERSIGN_E2E_TO_AGENT"])
def send_email(to: str, subject: str) -> str:
    sent.append({"to": to, "subject": subject})
    return f"sent to {to}: {subject}"


def main() -> int:
    try:
        seen = send_email("board@company.com", subject="Q1 results")
    except ApprovalRejected as rejected:
        seen = str(rejected)
    print(json.dumps({"sent": sent, "seen": seen}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
