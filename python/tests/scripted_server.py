"""A real HTTP server on 127.0.0.1 that each test scripts, so the SDK is exercised through real
sockets: dropped connections, refused connections and restarts on the same port included.

A script is a function from the recorded request to a :class:`Reply` (or ``DROP`` to close the
connection without answering). The server records every request for the test to assert on.
"""

import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Union


@dataclass
class Recorded:
    method: str
    path: str
    query: Dict[str, str]
    headers: Dict[str, str]
    body: Any

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: Dict[str, str] = field(default_factory=dict)
    #: Raw text instead of JSON (a proxy's HTML page, a broken body).
    text: Optional[str] = None


DROP = "drop"

#: The request of the seed's four-line flow.
SEED: Dict[str, Any] = {
    "intent_type": "intent.report.review_approval.v1",
    "to_agent": "agent://myorg/production/report-generator",
    "payload": {"report": "Q1 Financial Summary", "pii_detected": False, "reviewer": "cfo@company.com"},
}
Script = Callable[[Recorded], Union[Reply, str]]


class ScriptedServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: List[Recorded] = []
        self._lock = threading.Lock()
        self._server = self._listen(0)
        self.port = self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests_to(self, suffix: str) -> List[Recorded]:
        with self._lock:
            return [request for request in self.requests if request.path.endswith(suffix)]

    def stop(self) -> None:
        """Stops listening; the port then refuses connections until :meth:`restart`."""
        self._server.shutdown()
        self._server.server_close()

    def restart(self, script: Optional[Script] = None) -> None:
        if script is not None:
            self.script = script
        self._server = self._listen(self.port)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Polls ``condition`` until it holds; fails the test if it does not in time."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for a condition on the scripted server")
            time.sleep(0.01)

    def _listen(self, port: int) -> ThreadingHTTPServer:
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                recorded = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=dict(urllib.parse.parse_qsl(parts.query)),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=json.loads(raw) if raw else None,
                )
                with scripted._lock:
                    scripted.requests.append(recorded)
                reply = scripted.script(recorded)
                if reply == DROP or not isinstance(reply, Reply):
                    self.close_connection = True
                    self.connection.close()
                    return
                data = (
                    reply.text if reply.text is not None else json.dumps(reply.body)
                ).encode("utf-8")
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        return server


def intent(intent_id: str = "int_1", status: str = "pending", **fields: Any) -> Dict[str, Any]:
    """An intent as the API returns it."""
    decided = status != "pending"
    value: Dict[str, Any] = {
        "id": intent_id,
        "intent_type": "intent.report.review_approval.v1",
        "to_agent": "agent://myorg/production/report-generator",
        "from_agent": "agent://myorg/production/report-generator",
        "summary": "Review approval",
        "payload": {},
        "status": status,
        "policy": {},
        "recipients": ["cfo@company.com"],
        "approvals": [],
        "decision": None,
        "created_at": "2026-11-24T09:00:00.000Z",
        "updated_at": "2026-11-24T09:00:00.000Z",
        "deadline_at": "2026-11-24T17:00:00.000Z",
        "next_action_at": None if decided else "2026-11-24T09:05:00.000Z",
        "event_count": 1,
        "last_event_hash": "0" * 64,
    }
    if decided:
        outcome = {"approved": "approved", "cancelled": "cancelled"}.get(status, "rejected")
        value["decision"] = {
            "outcome": outcome,
            "by": "cfo@company.com",
            "at": "2026-11-24T09:10:00.000Z",
            "comment": None,
            "channel": "api",
        }
    value.update(fields)
    return value


def error(status: int, code: str, message: str = "", **fields: Any) -> Reply:
    return Reply(status, {"error": {"code": code, "message": message, "details": [], **fields}})
