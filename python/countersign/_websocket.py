"""A minimal WebSocket client (RFC 6455) over ``socket`` and ``ssl``, for the wait channel.

Enough for ``wait_for``: the opening handshake (checking ``Sec-WebSocket-Accept``), masked text
frames out, text frames in (fragmented or not), answering pings, and the closing handshake. No
extensions, no subprotocols. Internal: ``wait_for`` is the public surface.
"""

import base64
import hashlib
import os
import socket
import ssl
import struct
import urllib.parse
from typing import Dict, List, Optional, Tuple

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: The wait channel's messages are an intent at most: anything larger is refused.
MAX_MESSAGE_BYTES = 1024 * 1024
_TEXT, _CONTINUATION, _CLOSE, _PING, _PONG = 0x1, 0x0, 0x8, 0x9, 0xA


class WebSocketClosed(Exception):
    """The connection ended: closed by the server, reset, or refused during the handshake."""


class WebSocket:
    """One client connection. Not thread-safe: one waiter uses it at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()
        self._fragments: List[bytes] = []

    @classmethod
    def connect(cls, url: str, timeout: float) -> "WebSocket":
        """Opens ``ws://`` or ``wss://`` (TLS with the system's CA certificates)."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"not a WebSocket URL: {url}")
        secure = parts.scheme == "wss"
        port = parts.port or (443 if secure else 80)
        sock = socket.create_connection((parts.hostname, port), timeout=timeout)
        try:
            if secure:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
            key = base64.b64encode(os.urandom(16)).decode("ascii")
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            host = parts.netloc.rsplit("@", 1)[-1]
            sock.sendall(
                (
                    f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n"
                ).encode("ascii")
            )
            connection = cls(sock)
            status, headers = connection._read_handshake()
            expected = base64.b64encode(hashlib.sha1((key + _GUID).encode("ascii")).digest())
            if status != 101 or headers.get("sec-websocket-accept", "").encode() != expected:
                raise WebSocketClosed(f"the server refused the WebSocket (HTTP {status})")
            return connection
        except BaseException:
            sock.close()
            raise

    def send_text(self, text: str) -> None:
        self._send_frame(_TEXT, text.encode("utf-8"))

    def receive(self, timeout: float) -> Optional[str]:
        """The next text message, or ``None`` when none arrives within ``timeout`` seconds."""
        self._sock.settimeout(max(0.001, timeout))
        while True:
            frame = self._take_frame()
            if frame is None:
                try:
                    chunk = self._sock.recv(65536)
                except (socket.timeout, TimeoutError):
                    return None
                except OSError as error:
                    raise WebSocketClosed(str(error)) from error
                if not chunk:
                    raise WebSocketClosed("the connection was closed")
                self._buffer += chunk
                continue
            final, opcode, payload = frame
            if opcode == _PING:
                self._send_frame(_PONG, payload)
            elif opcode == _CLOSE:
                raise WebSocketClosed("the server closed the connection")
            elif opcode in (_TEXT, _CONTINUATION):
                self._fragments.append(payload)
                if sum(len(part) for part in self._fragments) > MAX_MESSAGE_BYTES:
                    raise WebSocketClosed("a message was too large")
                if final:
                    message = b"".join(self._fragments)
                    self._fragments = []
                    return message.decode("utf-8")

    def close(self) -> None:
        """Says goodbye if the connection still works, and closes it either way; never raises."""
        try:
            self._send_frame(_CLOSE, struct.pack("!H", 1000))
        except (OSError, WebSocketClosed):
            pass
        finally:
            self._sock.close()

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        try:
            self._sock.sendall(header + mask + masked)
        except OSError as error:
            raise WebSocketClosed(str(error)) from error

    def _take_frame(self) -> Optional[Tuple[bool, int, bytes]]:
        """One whole frame from the buffer, or ``None`` until more has arrived."""
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        first, second = buffer[0], buffer[1]
        length = second & 0x7F
        offset = 2
        if length == 126:
            if len(buffer) < 4:
                return None
            length = struct.unpack("!H", bytes(buffer[2:4]))[0]
            offset = 4
        elif length == 127:
            if len(buffer) < 10:
                return None
            length = struct.unpack("!Q", bytes(buffer[2:10]))[0]
            offset = 10
        if length > MAX_MESSAGE_BYTES:
            raise WebSocketClosed("a frame was too large")
        masked = bool(second & 0x80)
        mask = bytes(buffer[offset : offset + 4]) if masked else b""
        offset += 4 if masked else 0
        if len(buffer) < offset + length:
            return None
        payload = bytes(buffer[offset : offset + length])
        del buffer[: offset + length]
        if masked:
            payload = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        return bool(first & 0x80), first & 0x0F, payload

    def _read_handshake(self) -> Tuple[int, Dict[str, str]]:
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > 16384:
                raise WebSocketClosed("the handshake answer was too large")
            chunk = self._sock.recv(4096)
            if not chunk:
                raise WebSocketClosed("the connection was closed during the handshake")
            self._buffer += chunk
        head, _, rest = bytes(self._buffer).partition(b"\r\n\r\n")
        self._buffer = bytearray(rest)
        lines = head.decode("iso-8859-1").split("\r\n")
        status_parts = lines[0].split(" ")
        status = int(status_parts[1]) if len(status_parts) > 1 and status_parts[1].isdigit() else 0
        headers: Dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers
