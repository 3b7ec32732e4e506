"""oscar.event_poll over real ZeroMQ sockets (ipc and inproc) and real UDP/TCP sockets: a
message waiting is never slept on, whatever was done to its socket since it arrived."""

from __future__ import annotations

import select
import shutil
import socket
import tempfile
import time

import pytest
import zmq

from oscar import event_poll, zmqutil
from oscar.event_poll import POLLERR, POLLIN, POLLOUT, Poller
from oscar.messages import Ack


@pytest.fixture(autouse=True, params=["epoll", "poll"])
def backend(request, monkeypatch):
    """Every test with epoll (Linux) and with poll() (what macOS and the BSDs get)."""
    if request.param == "poll":
        monkeypatch.setattr(event_poll, "_os_poller", select.poll)
    return request.param


@pytest.fixture
def ctx():
    context = zmq.Context()
    folder = tempfile.mkdtemp(prefix="evpoll-", dir="/tmp")
    sockets: list[zmq.Socket] = []

    def pair(kind_a=zmq.PUSH, kind_b=zmq.PULL) -> tuple[zmq.Socket, zmq.Socket]:
        a, b = context.socket(kind_a), context.socket(kind_b)
        endpoint = f"ipc://{folder}/s{len(sockets)}"
        b.bind(endpoint)
        a.connect(endpoint)
        sockets.extend((a, b))
        return a, b

    try:
        yield pair
    finally:
        for sock in sockets:
            sock.close(linger=0)
        context.term()
        shutil.rmtree(folder, ignore_errors=True)


def ready_socks(poller: Poller, timeout: int) -> list:
    return [sock for sock, _ in poller.poll(timeout)]


def nothing_waiting(poller: Poller, timeout: int) -> bool:
    """No message is reported. A ZeroMQ socket may be reported with none (its descriptor
    also announces ZeroMQ's own commands: the caller's read finds nothing); it is then asked
    before the next sleep, like any socket reported ready."""
    return not any(isinstance(sock, zmq.Socket) and zmqutil.readable(sock)
                   or not isinstance(sock, zmq.Socket)
                   for sock in ready_socks(poller, timeout))


def test_a_message_wakes_the_poll_and_a_drained_socket_does_not(ctx):
    push, pull = ctx()
    poller = Poller()
    poller.register(pull, POLLIN)
    assert nothing_waiting(poller, 0)
    push.send(b"cue")
    assert ready_socks(poller, 2000) == [pull]
    assert [m for m in zmqutil.drain(pull)] == []  # not an Oscar message: counted, dropped
    assert nothing_waiting(poller, 50), "a drained socket was reported again"
    push.send(b"next")
    assert ready_socks(poller, 2000) == [pull]


def test_a_message_left_unread_is_reported_at_once(ctx):
    """The caller read one of two: the socket's descriptor will not announce the second."""
    push, pull = ctx()
    poller = Poller()
    poller.register(pull, POLLIN)
    push.send(b"one")
    push.send(b"two")
    assert ready_socks(poller, 2000) == [pull]
    assert pull.recv() == b"one"
    assert ready_socks(poller, 5000) == [pull], "slept on a waiting message"
    assert pull.recv(zmq.NOBLOCK) == b"two"


def test_a_socket_sent_on_is_asked_again_before_sleeping(ctx):
    """Sending on a socket can take in the notice of a message arriving on it (a ROUTER that
    sends acks while commands come in): ``touch`` makes the poller look before it sleeps."""
    dealer, router = ctx(zmq.DEALER, zmq.ROUTER)
    poller = Poller()
    poller.register(router, POLLIN)
    dealer.send(b"hello")
    assert ready_socks(poller, 2000) == [router]
    peer, _ = router.recv_multipart()
    assert nothing_waiting(poller, 0)
    for n in range(20):
        assert nothing_waiting(poller, 0)  # settled: only its descriptor can wake us now
        dealer.send(b"cue %d" % n)
        time.sleep(0.005)  # arrived, and the ROUTER's send below looks at its commands
        router.send_multipart([peer, b"ack"])
        poller.touch(router)
        assert ready_socks(poller, 2000) == [router], f"round {n}: a waiting message slept"
        assert router.recv_multipart() == [peer, b"cue %d" % n]
        assert dealer.recv() == b"ack"


def test_plain_sockets_report_their_descriptor_and_poll_flags():
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    poller = Poller()
    try:
        poller.register(udp, POLLIN)
        poller.register(client, POLLIN | POLLOUT)
        assert dict(poller.poll(1000)) == {client.fileno(): POLLOUT}
        sender.sendto(b"/cue", udp.getsockname())
        poller.register(client, POLLIN)  # again: new flags
        assert dict(poller.poll(2000)) == {udp.fileno(): POLLIN}
        udp.recv(100)
        accepted.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        accepted.close()  # a reset: the client's socket is readable and in error
        flags = dict(poller.poll(2000)).get(client.fileno(), 0)
        assert flags & POLLIN and flags & POLLERR
    finally:
        poller.close()
        for sock in (udp, sender, server, client):
            sock.close()


def test_a_closed_socket_s_number_reused_by_a_new_one_stays_registered():
    poller = Poller()
    old = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    poller.register(old, POLLIN)
    number = old.fileno()
    old.close()
    new = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert new.fileno() == number  # the lowest free number comes back
        new.bind(("127.0.0.1", 0))
        poller.register(new, POLLIN)
        poller.unregister(old)  # late, as a loop that swaps its device socket does
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"x", new.getsockname())
            assert dict(poller.poll(2000)) == {number: POLLIN}
        poller.register(new, 0)  # 0: unregister, as zmq.Poller
        assert poller.poll(50) == []
        with pytest.raises(KeyError):
            poller.unregister(new)
    finally:
        new.close()
        poller.close()


def test_only_pollin_is_taken_for_zeromq_sockets(ctx):
    _, pull = ctx()
    with pytest.raises(ValueError):
        Poller().register(pull, POLLIN | POLLOUT)


def test_a_socket_its_reader_settled_wakes_the_poll_for_the_next_message(ctx):
    """The actor's way: read at once when reported (``ready``), settle when found empty."""
    dealer, router = ctx(zmq.DEALER, zmq.ROUTER)
    poller = Poller()
    poller.register(router, POLLIN)
    for n in range(20):
        dealer.send_multipart(Ack("d", [n]).encode())
        taken: list = []
        for _ in range(5):  # a report may come before the message (ZeroMQ's own commands)
            assert ready_socks(poller, 2000) == [router], f"round {n}"
            taken = list(zmqutil.drain_routed(router, ready=True, emptied=poller.settle))
            if taken:
                break
        assert [m.seqs for _, m in taken] == [[n]]
        assert nothing_waiting(poller, 0)
