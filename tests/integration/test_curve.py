"""ZeroMQ over tcp:// uses CURVE with the keys `oscar keys` makes; without them Oscar refuses to
start, and a peer without them gets no answer."""

from __future__ import annotations

import stat

import pytest
import zmq

from oscar.messages import Request
from tests.support import OscarSystem, free_port, osc_message, stop_and_clean, wait_for


@pytest.fixture
def tcp_system(request):
    endpoints = {
        "OSCAR_CONTROL_ENDPOINT": f"tcp://127.0.0.1:{free_port()}",
        "OSCAR_PUBLISH_ENDPOINT": f"tcp://127.0.0.1:{free_port()}",
        "OSCAR_EVENTS_ENDPOINT": f"tcp://127.0.0.1:{free_port()}",
        # The template only substitutes {name}: one port, so one device in this system.
        "OSCAR_ACTOR_ENDPOINT_TEMPLATE": f"tcp://127.0.0.1:{free_port()}",
    }
    system = OscarSystem(extra_env=endpoints)
    try:
        yield system
    finally:
        stop_and_clean(system, request)


def test_tcp_endpoints_need_keys_then_cues_flow_encrypted(tcp_system, device):
    system = tcp_system
    refused = system.cli("run")
    assert refused.returncode != 0
    assert "CURVE keys" in refused.stderr and "oscar keys" in refused.stderr

    made = system.cli("keys")
    assert made.returncode == 0, made.stderr
    folder = system.home / "keys"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("server.key", "client.key"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    again = system.cli("keys")
    assert again.returncode == 2 and "--force" in again.stderr  # never replaced by accident

    system.start()
    system.add_device("proj1", device.port)
    system.wait_state("proj1", "ready")
    system.send_udp(osc_message("/device/proj1/message", "over curve"))
    wait_for(lambda: b"over curve" in device.lines(), timeout=15, message="cue over tcp://")
    assert not list((system.settings.run_dir / "actors").glob("*.sock"))  # no ipc:// in use

    # A plain ZeroMQ client (no CURVE) that knows the control endpoint gets no answer.
    ctx = zmq.Context()
    try:
        plain = ctx.socket(zmq.REQ)
        plain.linger = 0
        plain.connect(system.settings.control)
        plain.send_multipart(Request(op="ping", args={}).encode())
        assert plain.poll(3000, zmq.POLLIN) == 0
        plain.close()
    finally:
        ctx.term()
    assert system.call("ping")  # while the CURVE client Oscar uses is answered


def test_only_clients_with_oscars_client_key_are_admitted(tmp_path):
    """Real ZeroMQ over tcp:// (no Oscar processes): the server side that Oscar's sockets get."""
    from oscar import keys

    keys.make(tmp_path)
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    ctx = zmq.Context()
    server = ctx.socket(zmq.PULL)
    sockets = [server]
    try:
        keys.secure(server, endpoint, tmp_path, server=True)
        server.bind(endpoint)

        def push(configure) -> bool:
            client = ctx.socket(zmq.PUSH)
            sockets.append(client)
            client.linger = 0
            client.immediate = 1  # nothing is queued for a connection whose handshake failed
            client.sndtimeo = 3000
            configure(client)
            client.connect(endpoint)
            try:
                client.send(b"hello")
            except zmq.Again:
                return False
            return bool(server.poll(3000, zmq.POLLIN)) and server.recv() == b"hello"

        stranger_public, stranger_secret = zmq.curve_keypair()

        def stranger(sock: zmq.Socket) -> None:  # knows the server key, not Oscar's client key
            sock.curve_serverkey = keys.load(tmp_path).server.public
            sock.curve_publickey, sock.curve_secretkey = stranger_public, stranger_secret

        assert not push(lambda sock: None)  # no CURVE at all
        assert not push(stranger)
        assert push(lambda sock: keys.secure(sock, endpoint, tmp_path, server=False))
    finally:
        for sock in sockets:
            sock.close(linger=0)
        ctx.term()
