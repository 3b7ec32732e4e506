"""``oscar send``: a real OSC message to the listener, the way QLab sends one, and its answer.

The message goes in a bundle (timetag "immediately") whose last element is
``/oscar/receipt s TOKEN``; the listener answers ``/oscar/receipt s TOKEN s STATUS s DETAIL``
once it has handled the message (see oscar.receipts), so the command can say what happened
instead of printing "sent" for a cue that went nowhere.

Arguments keep their order of appearance: plain words are strings, typed options add one
argument each (``-i 3 -f 1.5 -s text -T``).
"""

from __future__ import annotations

import argparse
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from oscar import osc_decode, receipts
from oscar.framing import FramingError, SlipDecoder, slip_encode

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_NO_ANSWER = 3
EXIT_REFUSED = 5

# option -> (OSC type tag, converter, help). Each adds one argument where it appears.
TYPED = {
    "-i": ("i", int, "a 32-bit integer argument"),
    "-f": ("f", float, "a 32-bit float argument"),
    "-d": ("d", float, "a 64-bit float argument"),
    "-s": ("s", str, "a string argument (plain words are strings too)"),
    "-c": ("c", str, "a one-character argument"),
    "-b": ("b", None, "a blob argument, as hex digits (BEEF03 or 'BE EF 03')"),
}
FLAGS = {
    "-T": ("T", True, "a True argument"),
    "-F": ("F", False, "a False argument"),
    "-N": ("N", None, "a Nil argument"),
    "-I": ("I", osc_decode.INFINITUM, "an Infinitum argument"),
}
VALUE_OPTIONS = {"--host", "--port", "--timeout"}


class UsageError(ValueError):
    pass


class NoAnswer(Exception):
    pass


@dataclass
class Request:
    target: str
    args: list[tuple[str, object]] = field(default_factory=list)
    verb: str = "message"
    scope: str = "device"
    tcp: bool = False
    host: str = "127.0.0.1"
    port: int | None = None
    timeout: float = 2.0

    @property
    def address(self) -> str:
        return f"/{self.scope}/{self.target}/{self.verb}"


@dataclass
class Receipt:
    status: str
    detail: str


def build_parser() -> argparse.ArgumentParser:
    """For ``--help`` and the connection options; argument order is kept by ``parse``."""
    parser = argparse.ArgumentParser(
        prog="oscar send",
        description="Send /device/NAME/VERB (or /group/TAG/VERB) to the OSC listener, like "
                    "QLab, and report what the listener did with it. Exit status: 0 forwarded "
                    "(or scheduled), 5 refused (the reason is printed), 3 no answer, 2 usage.",
        epilog="Plain words are string arguments; typed options add one argument each, in the "
               "order given. Everything after -- is a string. Example: oscar send sw SET -i 3 "
               "-f 0.5 -T",
    )
    parser.add_argument("name", help="device name (or OSC pattern, or with --group a tag)")
    parser.add_argument("words", nargs="*", help="string arguments")
    for option, (_, _, help_text) in TYPED.items():
        parser.add_argument(option, metavar="VALUE", help=help_text)
    for option, (_, _, help_text) in FLAGS.items():
        parser.add_argument(option, action="store_true", help=help_text)
    verb = parser.add_mutually_exclusive_group()
    verb.add_argument("--raw", action="store_true",
                      help="verb raw: the text without the device's terminator")
    verb.add_argument("--hex", action="store_true",
                      help="verb hex: the words are hex digit pairs, sent as those bytes")
    parser.add_argument("--group", action="store_true", help="NAME is a tag: /group/TAG/VERB")
    parser.add_argument("--tcp", action="store_true", help="use TCP (SLIP) instead of UDP")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", help="default: the configured OSC port (1-65535)")
    parser.add_argument("--timeout", default="2", help="seconds to wait for the answer")
    return parser


def _convert(option: str, raw: str) -> tuple[str, object]:
    if option in FLAGS:
        tag, value, _ = FLAGS[option]
        return tag, value
    tag, kind, _ = TYPED[option]
    if tag == "b":
        try:
            return "b", _parse_blob(raw)
        except ValueError as exc:
            raise UsageError(f"-b {raw[:40]!r}: {exc}") from None
    try:
        value = kind(raw)
    except ValueError:
        raise UsageError(f"{option} {raw[:40]!r}: not {TYPED[option][2]}") from None
    if tag == "i" and not -2**31 <= value < 2**31:
        raise UsageError(f"-i {raw}: out of the 32-bit range")
    if tag == "c" and len(value) != 1:
        raise UsageError(f"-c {raw!r}: give exactly one character")
    if tag == "f" and abs(value) > 3.4028234663852886e38 and value == value:
        if abs(value) != float("inf"):
            raise UsageError(f"-f {raw}: too large for a 32-bit float (use -d)")
    return tag, value


def _parse_blob(raw: str) -> bytes:
    try:
        from oscar.hexbytes import HexError, parse_hex
    except ImportError:  # pragma: no cover - hexbytes ships with the codec
        return bytes.fromhex(raw)
    try:
        return parse_hex(raw)
    except HexError as exc:
        raise ValueError(str(exc)) from None


def parse(argv: list[str]) -> Request:
    """``oscar send`` arguments -> Request. Raises UsageError (or SystemExit for --help)."""
    args: list[tuple[str, object]] = []
    rest: list[str] = []
    name_seen = False
    position = 0
    only_words = False
    while position < len(argv):
        token = argv[position]
        position += 1
        if only_words:
            args.append(("s", token))
        elif token == "--":
            only_words = True
        elif token in FLAGS:
            args.append(_convert(token, ""))
        elif token in TYPED:
            if position >= len(argv):
                raise UsageError(f"{token} needs a value")
            args.append(_convert(token, argv[position]))
            position += 1
        elif token in VALUE_OPTIONS:
            rest.append(token)
            if position < len(argv):
                rest.append(argv[position])
                position += 1
        elif token.startswith("-") and not _is_number(token):
            rest.append(token)  # --tcp, --help, --port=1 ...: argparse checks them
        elif not name_seen:
            rest.append(token)
            name_seen = True
        else:
            args.append(("s", token))
    try:
        options = build_parser().parse_args(rest)
    except SystemExit as exc:
        if exc.code == 0:
            raise
        raise UsageError("see oscar send --help") from None
    port = None
    if options.port is not None:
        try:
            port = int(options.port)
        except ValueError:
            raise UsageError(f"--port {options.port!r}: must be 1-65535") from None
        if not 1 <= port <= 65535:
            raise UsageError(f"--port {port}: must be 1-65535")
    try:
        timeout = float(options.timeout)
    except ValueError:
        raise UsageError(f"--timeout {options.timeout!r}: not a number of seconds") from None
    if not 0 < timeout <= 60:
        raise UsageError(f"--timeout {options.timeout}: must be more than 0 and at most 60")
    verb = "raw" if options.raw else "hex" if options.hex else "message"
    if verb == "hex":
        if any(tag != "s" for tag, _ in args):
            raise UsageError("--hex takes hex digits only, as plain words")
        args = [("s", " ".join(str(value) for _, value in args))] if args else []
    if not args:
        raise UsageError("nothing to send: give at least one argument")
    if "/" in options.name or not options.name:
        raise UsageError(f"{options.name!r} is not a device name or pattern")
    return Request(target=options.name, args=args, verb=verb,
                   scope="group" if options.group else "device", tcp=options.tcp,
                   host=options.host, port=port, timeout=timeout)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def build(device: str, words: list[str], verb: str = "message") -> bytes:
    """A plain ``/device/NAME/VERB`` message of string arguments (no receipt asked)."""
    return osc_decode.encode_message(f"/device/{device}/{verb}", [("s", w) for w in words])


def send(packet: bytes, host: str, port: int, tcp: bool = False) -> None:
    """Fire and forget (the web UI's test button); ``ask`` waits for the listener's answer."""
    if tcp:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(slip_encode(packet))
    else:
        family, kind, proto, _, address = socket.getaddrinfo(host, port,
                                                              type=socket.SOCK_DGRAM)[0]
        with socket.socket(family, kind, proto) as sock:
            sock.sendto(packet, address)


def build_request(request: Request, token: str) -> bytes:
    message = osc_decode.encode_message(request.address, request.args)
    ask = osc_decode.encode_message(receipts.ADDRESS, [("s", token)])
    return osc_decode.encode_bundle(None, [message, ask])


def parse_receipt(packet: bytes, token: str) -> Receipt | None:
    try:
        messages = osc_decode.decode_packet(packet)
    except osc_decode.OscError:
        return None
    for message in messages:
        args = message.args
        if (message.address == receipts.ADDRESS and len(args) == 3
                and all(tag == "s" for tag, _ in args) and args[0][1] == token):
            return Receipt(status=str(args[1][1]), detail=str(args[2][1]))
    return None


def ask(request: Request, port: int) -> Receipt:
    """Send the request and wait for its receipt. NoAnswer when none comes in time;
    OSError when the listener cannot be reached at all."""
    token = secrets.token_hex(8)
    packet = build_request(request, token)
    if request.tcp:
        return _send_tcp(packet, token, request.host, port, request.timeout)
    return _send_udp(packet, token, request.host, port, request.timeout)


def _send_udp(packet: bytes, token: str, host: str, port: int, timeout: float) -> Receipt:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    with socket.socket(family, kind, proto) as sock:
        sock.connect(address)  # only the listener's answers reach us
        sock.send(packet)
        return _await_receipt(sock, token, timeout, lambda data: [data])


def _send_tcp(packet: bytes, token: str, host: str, port: int, timeout: float) -> Receipt:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(slip_encode(packet))
        decoder = SlipDecoder()
        return _await_receipt(sock, token, timeout, decoder.feed)


def _await_receipt(sock: socket.socket, token: str, timeout: float,
                   frames: Callable[[bytes], list]) -> Receipt:
    """Read until our receipt arrives; ``frames`` splits what was read into OSC packets."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionRefusedError:  # UDP: ICMP port unreachable, nobody listens there
            raise NoAnswer("nothing listens on that UDP port") from None
        if not data and sock.type == socket.SOCK_STREAM:
            raise NoAnswer("the listener closed the connection without answering")
        for frame in frames(data):
            if isinstance(frame, FramingError):
                continue
            receipt = parse_receipt(frame, token)
            if receipt is not None:
                return receipt
    raise NoAnswer(f"no answer within {timeout:g}s")


def describe(args: list[tuple[str, object]]) -> str:
    """The arguments as the terminal shows them: ``'SET' 'IN' i:3 T``."""
    parts = []
    for tag, value in args:
        if tag in ("s", "S", "c"):
            # As the operator typed it: 'ROUTE 1 2\r', not repr's doubled backslash.
            text = str(value)
            parts.append(f"'{text}'" if text.isprintable() else repr(text))
        elif tag == "b":
            parts.append(f"b:{bytes(value).hex()}")  # type: ignore[arg-type]
        elif tag in ("T", "F", "N", "I"):
            parts.append(tag)
        else:
            parts.append(f"{tag}:{value}")
    return " ".join(parts)
