"""wait_for on the wait channel, against a scripted WebSocket server (RFC 6455, stdlib only).

It reads the intent once, subscribes on the channel the answer names (``Countersign-Wait-Url``)
with its key, resumes on the pushed decision without a long poll, connects again after a dropped
connection and finds the decision made meanwhile, raises permanent errors as the REST API's
exceptions, answers the server's pings, and long-polls where no usable channel is named.
"""

import base64
import hashlib
import json
import socket
import socketserver
import struct
import threading
import unittest
from typing import Any, Callable, Dict, List, Optional

from countersign import CountersignClient, NotFoundError
from tests.scripted_server import Reply, ScriptedServer, intent

API_KEY = "csk_test_channel"
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_for(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


# The worked example of RFC 6455 section 1.3, so that this server's handshake is the real one.
assert accept_for("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


class Connection:
    """The server's side of one client connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pongs: List[bytes] = []

    def send(self, message: Any) -> None:
        self._frame(0x1, json.dumps(message).encode("utf-8"))

    def ping(self, payload: bytes) -> None:
        self._frame(0x9, payload)

    def drop(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)

    def reset(self) -> None:
        """Closes with a TCP reset, as a server process that dies does."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def _frame(self, opcode: int, payload: bytes) -> None:
        # A server's frames are not masked; a long one exercises the 16-bit length.
        length = len(payload)
        header = (
            struct.pack("!BB", 0x80 | opcode, length)
            if length < 126
            else struct.pack("!BBH", 0x80 | opcode, 126, length)
        )
        self.sock.sendall(header + payload)

    def read(self) -> Optional[Dict[str, Any]]:
        """The next text message from the client (masked, as RFC 6455 requires), else None."""
        while True:
            head = self._exactly(2)
            if head is None:
                return None
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if not head[1] & 0x80:
                raise AssertionError("a client frame must be masked")
            if length == 126:
                length = struct.unpack("!H", self._exactly(2) or b"\0\0")[0]
            mask = self._exactly(4) or b""
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self._exactly(length) or b""))
            if opcode == 0x8:
                return None
            if opcode == 0xA:
                self.pongs.append(data)
                continue
            parsed: Dict[str, Any] = json.loads(data)
            return parsed

    def _exactly(self, count: int) -> Optional[bytes]:
        data = b""
        while len(data) < count:
            try:
                chunk = self.sock.recv(count - len(data))
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        return data


Script = Callable[[Dict[str, Any], Connection, int], None]


class ChannelServer:
    def __init__(self, script: Script) -> None:
        self.received: List[List[Dict[str, Any]]] = []
        self.connections: List[Connection] = []
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                head = b""
                while b"\r\n\r\n" not in head:
                    head += sock.recv(1024)
                key = next(
                    line.split(":", 1)[1].strip()
                    for line in head.decode().split("\r\n")
                    if line.lower().startswith("sec-websocket-key")
                )
                accept = accept_for(key)
                sock.sendall(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n".encode()
                )
                connection = Connection(sock)
                index = len(outer.received)
                outer.received.append([])
                outer.connections.append(connection)
                while True:
                    message = connection.read()
                    if message is None:
                        return
                    outer.received[index].append(message)
                    script(message, connection, index)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        self.url = f"ws://127.0.0.1:{self.server.server_address[1]}/v1/wait"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class WaitChannelTest(unittest.TestCase):
    def channel(self, script: Script) -> ChannelServer:
        server = ChannelServer(script)
        self.addCleanup(server.stop)
        return server

    def api(self, wait_url: Optional[str], status: str = "pending") -> ScriptedServer:
        def script(request: Any) -> Reply:
            if request.path.endswith("/wait"):
                return Reply(200, intent("int_1", "approved"))
            headers = {"Countersign-Wait-Url": wait_url} if wait_url else {}
            return Reply(200, intent("int_1", status), headers=headers)

        server = ScriptedServer(script)
        self.addCleanup(server.stop)
        return server

    def client(self, api: ScriptedServer) -> CountersignClient:
        return CountersignClient(api.base_url, API_KEY, request_timeout=5, sleep=lambda _: None)

    def test_subscribes_and_resumes_on_the_push_without_a_long_poll(self) -> None:
        def script(message: Dict[str, Any], connection: Connection, index: int) -> None:
            connection.send({"type": "intent", "intent": intent("int_1")})
            connection.ping(b"still there?")
            big = intent("int_1", "approved", payload={"notes": "x" * 300})
            connection.send({"type": "intent", "intent": big})

        channel = self.channel(script)
        api = self.api(channel.url)
        result = self.client(api).wait_for("int_1")
        self.assertEqual(result["status"], "approved")
        self.assertEqual(
            channel.received, [[{"action": "subscribe", "intent_id": "int_1", "key": API_KEY}]]
        )
        self.assertEqual(api.requests_to("/wait"), [])
        api.wait_until(lambda: channel.connections[0].pongs == [b"still there?"])

    def test_connects_again_after_a_dropped_connection_and_finds_the_decision(self) -> None:
        def script(message: Dict[str, Any], connection: Connection, index: int) -> None:
            if index == 0:
                connection.send({"type": "intent", "intent": intent("int_1")})
                connection.drop()
            else:
                connection.send({"type": "intent", "intent": intent("int_1", "rejected")})

        channel = self.channel(script)
        result = self.client(self.api(channel.url)).wait_for("int_1", timeout=20)
        self.assertEqual(result["status"], "rejected")
        self.assertEqual(len(channel.received), 2)

    def test_connects_again_after_the_server_resets_the_connection(self) -> None:
        # The stack killed mid-wait: the client's read sees a reset, and its close frame then
        # meets a dead socket. Neither may escape wait_for, which connects again.
        def script(message: Dict[str, Any], connection: Connection, index: int) -> None:
            if index == 0:
                connection.send({"type": "intent", "intent": intent("int_1")})
                connection.reset()
            else:
                connection.send({"type": "intent", "intent": intent("int_1", "approved")})

        channel = self.channel(script)
        result = self.client(self.api(channel.url)).wait_for("int_1", timeout=20)
        self.assertEqual(result["status"], "approved")
        self.assertEqual(len(channel.received), 2)

    def test_raises_the_rest_apis_exception_for_a_permanent_error(self) -> None:
        def script(message: Dict[str, Any], connection: Connection, index: int) -> None:
            if index == 0:
                error = {"code": "internal", "message": "down", "details": []}
                connection.send({"type": "error", "status": 503, "error": error})
            else:
                error = {"code": "not_found", "message": "No such intent.", "details": []}
                connection.send({"type": "error", "intent_id": "int_1", "status": 404, "error": error})

        channel = self.channel(script)
        with self.assertRaises(NotFoundError):
            self.client(self.api(channel.url)).wait_for("int_1", timeout=20)
        self.assertEqual(len(channel.received), 2)

    def test_long_polls_when_the_channel_is_unreachable_but_the_api_answers(self) -> None:
        channel = self.channel(lambda message, connection, index: None)
        channel.stop()
        api = self.api(channel.url)
        self.assertEqual(self.client(api).wait_for("int_1")["status"], "approved")
        # Read, three connections refused, read again (the API answers), then the long poll.
        self.assertEqual(
            [request.path for request in api.requests],
            ["/v1/intents/int_1", "/v1/intents/int_1", "/v1/intents/int_1/wait"],
        )

    def test_long_polls_where_no_usable_channel_is_named(self) -> None:
        channel = self.channel(lambda message, connection, index: None)
        for named in (None, channel.url.replace("127.0.0.1", "localhost")):
            api = self.api(named)
            self.assertEqual(self.client(api).wait_for("int_1")["status"], "approved")
            self.assertEqual(len(api.requests_to("/wait")), 1)
        self.assertEqual(channel.received, [])


if __name__ == "__main__":
    unittest.main()
