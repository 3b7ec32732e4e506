"""Talking to supervisord through supervisor's own SupervisorTransport, never without a
timeout: a hung supervisord must not hang the registry or `oscar stop` (issue 12)."""

from __future__ import annotations

import socket
import tempfile
import threading
import xmlrpc.client
from pathlib import Path

import pytest
from supervisor.xmlrpc import SupervisorTransport

from oscar import settings as settings_mod
from oscar import supervisor_client


class UnixServer:
    """A unix socket server on a real socket file: answers each request with ``reply`` bytes
    (an HTTP response), or accepts and never answers when ``reply`` is None."""

    def __init__(self, path: Path, reply: bytes | None):
        self.path = path
        self.reply = reply
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(4)
        self.requests: list[bytes] = []
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        self.conns.append(conn)
        data = b""
        while b"</methodCall>" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        self.requests.append(data)
        if self.reply is not None:
            conn.sendall(self.reply)

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.sock.close()


def http_response(body: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


@pytest.fixture
def home():
    with tempfile.TemporaryDirectory(prefix="osc-", dir="/tmp") as path:
        loaded = settings_mod.load({"OSCAR_HOME": path})
        loaded.ensure_dirs()
        yield loaded


def test_the_transport_is_supervisors_own():
    transport = supervisor_client.TimedSupervisorTransport("/tmp/x.sock", 1.0)
    assert isinstance(transport, SupervisorTransport)


def test_a_call_is_answered_over_the_socket(home):
    body = xmlrpc.client.dumps((4242,), methodresponse=True).encode()
    server = UnixServer(home.supervisor_socket, http_response(body))
    try:
        assert supervisor_client.connect(home, timeout=5).supervisor.getPID() == 4242
        assert b"<methodName>supervisor.getPID</methodName>" in server.requests[0]
    finally:
        server.close()


def test_a_supervisord_that_never_answers_times_out(home):
    server = UnixServer(home.supervisor_socket, reply=None)
    try:
        with pytest.raises(TimeoutError):
            supervisor_client.connect(home, timeout=0.3).supervisor.getPID()
    finally:
        server.close()


def test_programs_report_a_hung_supervisord_as_unreachable(home):
    server = UnixServer(home.supervisor_socket, reply=None)
    try:
        with pytest.raises(supervisor_client.SupervisorError, match="not reachable"):
            supervisor_client.Programs(home, timeout=0.3).process_info()
    finally:
        server.close()


def test_no_socket_file_is_an_oserror_not_a_hang(home):
    with pytest.raises(FileNotFoundError):
        supervisor_client.connect(home, timeout=0.3).supervisor.getPID()
