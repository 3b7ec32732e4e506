"""The test emulators themselves behave as /work/shared/devices.md says, checked with a raw
socket client, so an emulator bug is never mistaken for an Oscar bug."""

from __future__ import annotations

import hashlib
import socket
import time

import pytest

from tests.emulators import (
    Christie,
    EpsonEscVP,
    ExtronSIS,
    KramerP3000,
    LineDevice,
    NTControl,
    PJLink,
    SonyADCP,
    UdpEmulator,
    Videohub,
    Watchout,
)
from tests.support import wait_for


class Client:
    """A raw TCP client that reads until it sees what it expects."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=3)
        self.data = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def until(self, marker: bytes) -> bytes:
        """Everything up to and including ``marker`` (consumed)."""
        while marker not in self.data:
            chunk = self.sock.recv(65536)
            assert chunk, f"closed before {marker!r}; got {self.data!r}"
            self.data += chunk
        index = self.data.index(marker) + len(marker)
        head, self.data = self.data[:index], self.data[index:]
        return head

    def closed(self) -> bool:
        """True once the device has hung up (after any pending bytes)."""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return True
            self.data += chunk

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def emulators():
    started = []

    def start(emulator):
        started.append(emulator.start())
        return emulator
    yield start
    for emulator in started:
        emulator.stop()


def test_pjlink_worked_example_login(emulators, monkeypatch):
    device = emulators(PJLink(password="password"))
    monkeypatch.setattr(device, "random_hex", lambda nbytes=4: "a572f60c")
    client = Client(device.port)
    assert client.until(b"\r") == b"PJLINK 1 a572f60c\r"
    client.send(b"e3d97429adffa11bce1f7275813d4bde%1POWR 1\r")
    assert client.until(b"\r") == b"%1POWR=OK\r"
    client.send(b"%1POWR ?\r")  # later commands may omit the hash
    assert client.until(b"\r") == b"%1POWR=1\r"
    client.send(b"%1XXXX 1\r")
    assert client.until(b"\r") == b"%1XXXX=ERR1\r"
    client.close()
    assert device.texts == [b"%1POWR 1", b"%1POWR ?", b"%1XXXX 1"]
    assert device.refused == []


def test_pjlink_wrong_hash_gets_erra_and_close(emulators):
    device = emulators(PJLink(password="secret"))
    client = Client(device.port)
    assert client.until(b"\r").startswith(b"PJLINK 1 ")
    client.send(b"0" * 32 + b"%1POWR 1\r")
    assert client.until(b"\r") == b"PJLINK ERRA\r"
    assert client.closed()
    assert device.commands == [] and device.refused[0].reason == "wrong password"


def test_pjlink_without_password_and_idle_close(emulators):
    device = emulators(PJLink(idle_close=0.3))
    client = Client(device.port)
    assert client.until(b"\r") == b"PJLINK 0\r"
    client.send(b"%1POWR 0\r")
    assert client.until(b"\r") == b"%1POWR=OK\r"
    started = time.monotonic()
    assert client.closed()
    assert time.monotonic() - started < 2


def test_ntcontrol_one_command_per_connection(emulators):
    device = emulators(NTControl(username="admin1", password="panasonic"))
    for expected in (b"00PON\r", b"00001\r"):
        client = Client(device.port)
        greeting = client.until(b"\r")
        assert greeting.startswith(b"NTCONTROL 1 ") and len(greeting) == len(b"NTCONTROL 1 ") + 9
        random = greeting[12:20].decode()
        digest = hashlib.md5(f"admin1:panasonic:{random}".encode()).hexdigest().encode()
        client.send(digest + (b"00PON\r" if expected == b"00PON\r" else b"00QPW\r"))
        assert client.until(b"\r") == expected
        assert client.closed()
    assert device.texts == [b"PON", b"QPW"] and len(device.accepts) == 2


def test_ntcontrol_wrong_password(emulators):
    device = emulators(NTControl(username="admin1", password="panasonic"))
    client = Client(device.port)
    client.until(b"\r")
    client.send(hashlib.md5(b"admin1:wrong:x").hexdigest().encode() + b"00PON\r")
    assert client.until(b"\r") == b"ERRA\r"
    assert client.closed()
    assert device.commands == [] and len(device.refused) == 1


def test_extron_banner_password_prompt_and_commands(emulators):
    device = emulators(ExtronSIS(password="extron"))
    client = Client(device.port)
    assert b"Extron Electronics" in client.until(b"Password:")
    client.send(b"nope\r")
    assert client.until(b"Password:") == b"\r\nPassword:"  # a wrong one repeats the prompt
    client.send(b"extron\r")
    assert client.until(b"\r\n") == b"Login Administrator\r\n"
    client.send(b"1*2!")  # no terminator
    assert client.until(b"\r\n") == b"Out2 In1 All\r\n"
    client.send(b"Q")
    assert client.until(b"\r\n") == b"1.04\r\n"
    client.send(b"\x1b3CV\r")
    assert client.until(b"\r\n") == b"Vrb3\r\n"
    client.close()
    assert device.texts == [b"1*2!", b"Q", b"\x1b3CV"]
    assert [r.data for r in device.refused] == [b"nope"]


def test_extron_closes_idle_connections(emulators):
    device = emulators(ExtronSIS(idle_close=0.3))
    client = Client(device.port)
    client.until(b"\r\n")
    assert client.closed()
    assert device.closes[-1][2] == "device"


def test_videohub_dump_ack_nak_and_ping(emulators):
    device = emulators(Videohub())
    client = Client(device.port)
    dump = client.until(b"END PRELUDE:\n\n")
    assert dump.startswith(b"PROTOCOL PREAMBLE:\nVersion: 2.3\n\n")
    assert b"\nVIDEO OUTPUT ROUTING:\n0 0\n" in dump
    client.send(b"VIDEO OUTPUT ROUTING:\n4 2\n\n")
    assert client.until(b"\n\n") == b"ACK\n\n"
    assert client.until(b"\n\n") == b"VIDEO OUTPUT ROUTING:\n4 2\n\n"
    client.send(b"VIDEO OUTPUT ROUTING:\n99 2\n\n")
    assert client.until(b"\n\n") == b"NAK\n\n"
    client.send(b"PING:\n\n")
    assert client.until(b"\n\n") == b"ACK\n\n"
    client.close()
    assert device.texts[-1] == b"PING:"


def test_watchout_needs_authenticate_first(emulators):
    device = emulators(Watchout())
    client = Client(device.port)
    client.send(b"getStatus\r")
    assert client.until(b"\r\n") == b"error 8.1 not authorized\r\n"
    client.send(b"authenticate 1\n")
    assert client.until(b"\r\n").startswith(b'Ready "')
    client.send(b"getStatus\r\n")
    assert client.until(b"\r\n").startswith(b'Reply "Show"')
    client.close()
    assert device.texts == [b"getStatus"] and len(device.refused) == 1


def test_kramer_handshake_login_and_route(emulators):
    device = emulators(KramerP3000(password="1234"))
    client = Client(device.port)
    client.send(b"#\r")
    assert client.until(b"\r\n") == b"~01@ OK\r\n"
    client.send(b"#VID 1>2\r")
    assert client.until(b"\r\n") == b"~01@VID ERR 004\r\n"
    client.send(b"#LOGIN 9999\r")
    assert client.until(b"\r\n") == b"~01@LOGIN ERR 004\r\n"
    client.send(b"#LOGIN 1234\r")
    assert client.until(b"\r\n") == b"~01@LOGIN 1234 OK\r\n"
    client.send(b"#VID 1>2\r")
    assert client.until(b"\r\n") == b"~01@VID 1>2 OK\r\n"
    client.close()
    assert device.texts == [b"#VID 1>2"] and len(device.refused) == 2


def test_christie_parenthesised_without_terminator(emulators):
    device = emulators(Christie())
    client = Client(device.port)
    client.send(b"(PWR0)(PW")
    client.send(b"R?)")
    assert client.until(b")") == b'(PWR!000 "Off")'
    client.close()
    assert device.texts == [b"PWR0", b"PWR?"]


def test_sony_adcp_challenge_and_nokey(emulators):
    device = emulators(SonyADCP(password="Projector"))
    client = Client(device.port)
    challenge = client.until(b"\r\n")[:-2]
    answer = hashlib.sha256(challenge + b"Projector").hexdigest().encode()
    client.send(answer + b"\r\n")
    assert client.until(b"\r\n") == b"OK\r\n"
    client.send(b'power "on"\r\n')
    assert client.until(b"\r\n") == b"ok\r\n"
    client.close()
    wrong = Client(device.port)
    wrong.until(b"\r\n")
    wrong.send(b"0" * 64 + b"\r\n")
    assert wrong.until(b"\r\n") == b"ERR_AUTH\r\n"
    assert wrong.closed()
    assert device.texts == [b'power "on"'] and len(device.refused) == 1

    open_device = emulators(SonyADCP())
    client = Client(open_device.port)
    assert client.until(b"\r\n") == b"NOKEY\r\n"
    client.send(b"power_status ?\r\n")
    assert client.until(b"\r\n") == b'"on"\r\n'
    client.close()


def test_epson_header_exchange_and_prompt(emulators):
    device = emulators(EpsonEscVP())
    client = Client(device.port)
    client.send(b"ESC/VP.net\x10\x03\x00\x00\x00\x00")
    header = client.until(b"\x00")  # up to the first reserved byte
    header += client.until(b"\x00") + client.until(b"\x00")
    assert header.startswith(b"ESC/VP.net") and header[14:15] == b"\x20"
    client.send(b"PWR ON\r")
    assert client.until(b":") == b":"
    client.send(b"PWR?\r")
    assert client.until(b":") == b"PWR=01\r:"
    client.close()
    bad = Client(device.port)
    bad.send(b"PWR ON\r")
    assert bad.closed()
    assert device.texts == [b"PWR ON", b"PWR?"] and len(device.refused) == 1


def test_line_device_answers_and_hangs_up_after_silence(emulators):
    device = emulators(LineDevice(idle_close=0.3))
    client = Client(device.port)
    client.send(b"HELLO\r\n")
    assert client.until(b"\r") == b"OK\r"
    assert client.closed()
    assert device.texts == [b"HELLO"]
    device.silent = True
    client = Client(device.port)
    client.send(b"PING\r")
    wait_for(lambda: len(device.commands) == 2, message="second command")
    assert client.closed() and client.data == b""


def test_udp_device_records_datagrams_whole(emulators):
    device = emulators(UdpEmulator(reply=b"ACK"))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.sendto(b"PLAY\r", ("127.0.0.1", device.port))
        assert sock.recvfrom(100)[0] == b"ACK"
        sock.sendto(b"STOP\r", ("127.0.0.1", device.port))
        sock.recvfrom(100)
    assert device.payloads == [b"PLAY\r", b"STOP\r"]


def test_slow_device_answers_later_in_order(emulators):
    device = emulators(LineDevice(idle_close=None))
    device.reply_delay = 0.2
    client = Client(device.port)
    client.send(b"ONE\rTWO\r")
    assert client.until(b"\r") == b"OK\r"
    assert client.until(b"\r") == b"OK\r"
    client.close()
    assert device.texts == [b"ONE", b"TWO"] and device.replies == [b"OK", b"OK"]


def test_arrival_stamps_never_show_a_paced_sender_early(emulators):
    """The min_gap test trusts ``wire_at``: a sender that waits ``gap`` after each write
    returned is never seen closer than ``gap`` (the stamps are the kernel's, not this thread's
    read times)."""
    device = emulators(LineDevice(idle_close=None))
    gap = 0.05  # long enough that two writes never land in one read
    with socket.create_connection(("127.0.0.1", device.port), timeout=3) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        last = time.time()
        for number in range(30):
            time.sleep(max(0.0, last + gap - time.time() - 0.002))
            while time.time() < last + gap:
                pass
            sock.sendall(b"N%d\r" % number)
            last = time.time()
        wait_for(lambda: len(device.commands) == 30, message="30 commands")
    stamps = [command.wire_at for command in device.commands]
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert min(gaps) >= gap, min(gaps)
