"""Waits on intents with the Python SDK, for `npm run bench`.

Reads a JSON list of intent ids on standard input, waits on each in its own thread with its own
client (`COUNTERSIGN_URL`, `COUNTERSIGN_API_KEY`), prints `ready` once every wait has begun,
then `<id> <epoch milliseconds>` as each returns, so the bench can time decision-to-resume.
"""
import json
import sys
import threading
import time

from countersign import CountersignClient


def main() -> None:
    ids = json.load(sys.stdin)
    lock = threading.Lock()

    def wait(intent_id: str) -> None:
        CountersignClient().wait_for(intent_id, timeout=180)
        resumed = time.time() * 1000
        with lock:
            print(f"{intent_id} {resumed:.3f}", flush=True)

    threads = [threading.Thread(target=wait, args=(intent_id,)) for intent_id in ids]
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
