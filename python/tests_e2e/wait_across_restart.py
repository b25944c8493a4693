"""End-to-end: ``wait_for`` keeps waiting while the whole local stack is stopped and restarted.

Driven by test/python/python-sdk.test.ts: this script sends an intent, writes its id to
``$COUNTERSIGN_E2E_SIGNAL_FILE`` and blocks in ``wait_for``; the test then stops the stack,
starts it again on the same data and port, approves the intent, and expects this script to print
the approved intent's status and exit 0. Exit 1 with a reason otherwise.
"""

import json
import os
import sys

from countersign import CountersignClient


def main() -> int:
    client = CountersignClient()
    intent_id = client.send_intent(
        {
            "intent_type": "intent.e2e.restart.v1",
            "to_agent": "agent://e2e/restart",
            "payload": {"reviewer": "cfo@company.com"},
        }
    )
    signal_file = os.environ["COUNTERSIGN_E2E_SIGNAL_FILE"]
    with open(signal_file + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(intent_id)
    os.replace(signal_file + ".tmp", signal_file)  # the test never reads half a file
    result = client.wait_for(intent_id, timeout=240)
    print(json.dumps({"id": result["id"], "status": result["status"]}))
    return 0 if result["status"] == "approved" else 1


if __name__ == "__main__":
    sys.exit(main())
