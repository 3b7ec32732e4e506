"""Epson ESC/VP.net (TCP 3629): a 16-byte binary header exchange before ESC/VP21 text.

Request: ``ESC/VP.net`` + version 0x10 + type 0x03 (CONNECT) + 2 reserved + status 0 + the
number of 18-byte headers that follow (one password header, identifier 0x01, attribute 0x01,
the password NUL-padded to 16 bytes, when a password is set). The answer has the same layout;
byte 14 is the status (0x20 OK, 0x41 password required, 0x43 wrong password, 0x53 busy...).
Sources in docs/devices.md.
"""

from __future__ import annotations

from typing import NamedTuple

from oscar.devices.login_base import WAIT, Step, TerminalMixin, quote

ESCVP_SIGNATURE = b"ESC/VP.net"
ESCVP_HEADER_LEN = 16
ESCVP_SUB_HEADER_LEN = 18
ESCVP_VERSION = 0x10
ESCVP_TYPE_CONNECT = 0x03
ESCVP_STATUS = {
    0x20: "OK",
    0x40: "bad request",
    0x41: "projector asks for a password",
    0x43: "wrong password",
    0x45: "request not allowed",
    0x53: "projector busy",
    0x55: "protocol version not supported",
}
ESCVP_PASSWORD_MAX = 16


class EscvpHeader(NamedTuple):
    version: int
    kind: int
    status: int
    sub_headers: int


def escvp_connect_header(password: str = "") -> bytes:
    """The CONNECT request: 16 bytes, plus one 18-byte password header when a password is given
    (identifier 0x01, attribute 0x01, the password NUL-padded to 16 bytes).

    Raises ValueError for a password longer than 16 bytes (the message does not contain it)."""
    if not password:
        return ESCVP_SIGNATURE + bytes([ESCVP_VERSION, ESCVP_TYPE_CONNECT, 0, 0, 0, 0])
    secret = password.encode("utf-8")
    if len(secret) > ESCVP_PASSWORD_MAX:
        raise ValueError(f"ESC/VP.net passwords are at most {ESCVP_PASSWORD_MAX} bytes")
    head = ESCVP_SIGNATURE + bytes([ESCVP_VERSION, ESCVP_TYPE_CONNECT, 0, 0, 0, 1])
    return head + bytes([0x01, 0x01]) + secret.ljust(ESCVP_PASSWORD_MAX, b"\0")


def parse_escvp_header(data: bytes) -> EscvpHeader:
    """The first 16 bytes of a projector's answer. Raises ValueError if they are not one."""
    if len(data) < ESCVP_HEADER_LEN or not data.startswith(ESCVP_SIGNATURE):
        raise ValueError("not an ESC/VP.net header")
    return EscvpHeader(version=data[10], kind=data[11], status=data[14], sub_headers=data[15])


def _first_mismatch(start: bytes) -> int:
    """Index of the first byte of ``start`` that differs from the signature, else -1."""
    for index, byte in enumerate(start):
        if byte != ESCVP_SIGNATURE[index]:
            return index
    return -1


class EscvpSession(TerminalMixin):
    """Epson ESC/VP.net: send the CONNECT header, read the answer header (and any 18-byte
    headers it announces), then ESC/VP21 text flows."""

    prefix = b""
    prefix_every = False

    def __init__(self, username: str, password: str):
        self._password = password
        self._buf = bytearray()
        self._header: EscvpHeader | None = None

    def opening(self) -> Step:
        try:
            return Step(send=escvp_connect_header(self._password))
        except ValueError as exc:
            return self._finish(Step(state="failed", detail=str(exc)))

    def feed(self, data: bytes) -> Step:
        final = self._after_final(data)
        if final is not None:
            return final
        self._buf += data
        if self._header is None:
            mismatch = _first_mismatch(bytes(self._buf[:len(ESCVP_SIGNATURE)]))
            if mismatch >= 0:
                return self._finish(Step(state="failed",
                                         detail=f"not an ESC/VP.net answer (starts "
                                                f"{quote(bytes(self._buf[:mismatch + 1]))})"))
            if len(self._buf) < ESCVP_HEADER_LEN:
                return WAIT
            self._header = parse_escvp_header(bytes(self._buf))
            status = self._header.status
            if status != 0x20:
                text = ESCVP_STATUS.get(status, "unknown status")
                if status == 0x41 and self._password:
                    text = "wrong password"
                elif status == 0x41:
                    text += "; none is set"
                return self._finish(Step(state="failed",
                                         detail=f"{text} (ESC/VP.net status 0x{status:02x})"))
        need = ESCVP_HEADER_LEN + ESCVP_SUB_HEADER_LEN * self._header.sub_headers
        if len(self._buf) < need:  # at most 16 + 255 * 18 bytes: bounded
            return WAIT
        rest = bytes(self._buf[need:])
        self._buf.clear()
        return self._finish(Step(state="ready", rest=rest))

    def reply_failed(self, line: bytes) -> str | None:
        return None

