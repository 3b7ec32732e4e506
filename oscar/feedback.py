"""Feedback: device replies, states and errors back to the show controller as OSC.

Hosted by the listener (docs/protocol.md, "Feedback"): it follows the registry's PUB stream
(``event.``, ``status.device``, ``config.feedback:``) plus its own refusals, and sends:

- ``/oscar/device/NAME/reply s LINE`` (or ``b BYTES`` for a line that is not printable UTF-8),
  at most REPLIES_PER_SECOND per device; the excess is counted (``feedback_rate_limited``) and
  summarised once a second as ``/oscar/device/NAME/error s "N more replies ..."``;
- ``/oscar/device/NAME/state s STATE`` on every change, and every device's once to a target
  that has just become reachable and to a TCP client after its first packet;
- ``/oscar/device/NAME/error s TEXT`` and ``/oscar/error s TEXT``;
- answers to ``/device/NAME/query`` and ``/oscar/check`` (to the asker only).

Replies and errors go to every target and to the TCP client that sent the cue (``sender``);
states to every target and every TCP client. This module builds and routes packets; sockets
are in oscar.feedback_links (targets) and the listener (TCP clients).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from oscar import escapes, states
from oscar.actor_status import HEARTBEAT as ACTOR_HEARTBEAT
from oscar.feedback_links import Link, Links
from oscar.feedback_targets import Target, parse_targets
from oscar.messages import ActorStatus, Event, FeedbackTargets, Message
from oscar.models import Device
from oscar.osc_decode import encode_message
from oscar.ratelimit import RateLimiter, Window

log = logging.getLogger(__name__)

REPLIES_PER_SECOND = 50  # per device
# An enabled device with no status for this long (three missed heartbeats, the registry's own
# rule in oscar.status_table) is not_running.
STALE = 3 * ACTOR_HEARTBEAT
GRACE = STALE  # after start (or after the registry comes back): no not_running yet
TICK = 0.25
STATES_EVERY = 1.0  # every device's state is checked for silence this often (a status updates
# its own device's state at once)
MAX_TEXT = 1000  # bytes of text in any string argument we send
MAX_QUERY_ANSWERS = 64  # devices one query (a pattern or group) is answered for
NOT_RUNNING = "not_running"
# What an actor reports when it summarises its own reply rate limit (contract C).
COUNTERS = ("feedback_rate_limited", "queries", "feedback_errors")


class Clients(Protocol):
    """The listener's OSC TCP clients, as feedback needs them."""

    def send_to(self, sender: str, packet: bytes) -> bool: ...  # False: no such TCP client
    def send_all(self, packet: bytes) -> None: ...  # every client that has sent a packet


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    """Text fit for an OSC string: no NUL (written ``\\0``), valid UTF-8 (lone surrogates
    escaped), at most ``limit`` bytes (cut on a character boundary, ending in "…")."""
    if "\0" in text:
        text = text.replace("\0", "\\0")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
        data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit - 3].decode("utf-8", "ignore") + "\u2026"


def osc_state(state: str) -> str:
    """An actor's or the registry's state name as feedback sends it."""
    if state == states.NOT_RUNNING or state == "actor not running":
        return NOT_RUNNING
    return state


def reply_argument(detail: str) -> tuple[str, object]:
    """The OSC argument for one reply line, from the actor's event text.

    The actor sends printable UTF-8 lines as they are and escapes anything else (``\\xff``,
    ``\\r``, ``\\\\``; contract C). A text with no backslash is the line: ``s``. A text whose
    escapes decode to bytes that are not printable UTF-8 was escaped by the actor: ``b`` with
    those bytes. Anything else (a printable line that contains backslashes) is sent as ``s``,
    as the device sent it."""
    if "\\" not in detail and detail.isprintable():
        return ("s", _clip(detail))
    try:
        data = escapes.decode(detail, "utf-8")
    except (escapes.EscapeError, UnicodeError):
        return ("s", _clip(detail))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return ("b", data)
    if text.isprintable() or "\\" not in detail:
        return ("s", _clip(detail))
    return ("b", data)


def reply_message(device: str, detail: str) -> bytes:
    return encode_message(f"/oscar/device/{device}/reply", [reply_argument(detail)])


def state_message(device: str, state: str) -> bytes:
    return encode_message(f"/oscar/device/{device}/state", [("s", _clip(state, 64))])


def device_error_message(device: str, text: str) -> bytes:
    return encode_message(f"/oscar/device/{device}/error", [("s", _clip(text))])


def error_message(text: str) -> bytes:
    return encode_message("/oscar/error", [("s", _clip(text))])


def _count(value: int) -> tuple[str, int]:
    return ("i", value) if -2**31 <= value < 2**31 else ("h", value)


def status_message(device: str, state: str, status: ActorStatus | None) -> bytes:
    """``/oscar/device/NAME/status s STATE i SENT i DROPPED i QUEUED i REPLIES s LAST_REPLY
    s LAST_ERROR``: counters of the actor's current run, from its latest status (zeros and
    empty texts when none is known)."""
    if status is None:
        numbers = [0, 0, 0, 0]
        texts = ["", ""]
    else:
        numbers = [status.sent, status.dropped, status.queued + status.in_flight, status.replies]
        texts = [status.last_reply, status.last_error]
    return encode_message(f"/oscar/device/{device}/status",
                          [("s", _clip(state, 64)), *map(_count, numbers),
                           *(("s", _clip(t)) for t in texts)])


def check_message(device_states: Iterable[tuple[str, str]]) -> bytes:
    """``/oscar/check s ok`` when every enabled device is ready or idle, else
    ``/oscar/check s not_ready s "NAME STATE, NAME STATE"`` (disabled devices left out)."""
    bad = [f"{name} {_clip(state, 64)}" for name, state in device_states
           if state not in states.OK and state != states.DISABLED]
    if not bad:
        return encode_message("/oscar/check", [("s", "ok")])
    return encode_message("/oscar/check", [("s", "not_ready"), ("s", _clip(", ".join(bad)))])


class Feedback:
    def __init__(self, links: Links, clients: Clients, counters: dict[str, int],
                 initial_targets: str = "", clock: Callable[[], float] = time.monotonic):
        self.links = links
        self.clients = clients
        self.counters = counters
        for name in COUNTERS:
            counters.setdefault(name, 0)
        self.clock = clock
        self.devices: dict[str, Device] = {}
        self.statuses: dict[str, tuple[ActorStatus, float]] = {}  # latest, when it arrived
        self.published: dict[str, str] = {}  # device -> state last sent
        self.started = clock()
        self.feed_at = 0.0  # when the registry's stream last said anything
        self.feed_back_at = self.started  # when it came back after a silence
        self._windows: dict[str, Window] = {}  # device -> its reply window
        self._hidden_sender: dict[str, str] = {}  # device -> sender of its last hidden reply
        self._tick_due = 0.0
        self._states_due = 0.0
        self.limiter = RateLimiter(1)
        links.on_ready_target = self._target_ready
        try:
            self.set_targets(parse_targets(initial_targets))
        except ValueError as exc:  # settings.check() refuses these at start: a safety net
            log.error("feedback targets ignored: %s", exc)

    # ---- targets -----------------------------------------------------------------------------

    def set_targets(self, targets: list[Target]) -> None:
        self.links.set_targets(targets)

    def _target_ready(self, link: Link) -> None:
        for packet in self._state_set():
            link.send(packet)

    def client_ready(self, sender: str) -> None:
        """A TCP client's first packet: its framing is known, send it every device's state."""
        for packet in self._state_set():
            self.clients.send_to(sender, packet)

    def _state_set(self) -> list[bytes]:
        return [state_message(name, state) for name, state in sorted(self.published.items())]

    # ---- input -------------------------------------------------------------------------------

    def set_devices(self, devices: dict[str, Device]) -> None:
        self.devices = devices
        for name in list(self.published):
            if name not in devices:
                del self.published[name]
        for name in list(self.statuses):
            if name not in devices:
                del self.statuses[name]
        self._update_states()

    def on_message(self, message: Message) -> None:
        """A message from the registry's PUB stream. A bug here must not stop the listener:
        whatever it raises is counted (``feedback_errors``) and logged, rate-limited."""
        try:
            self._on_message(message)
        except Exception:
            self._internal(f"{message.KIND} message")

    def _internal(self, what: str) -> None:
        self.counters["feedback_errors"] = self.counters.get("feedback_errors", 0) + 1
        if self.limiter.allow("internal"):
            log.exception("feedback failed on a %s", what)

    def _on_message(self, message: Message) -> None:
        self.feed_seen()
        if isinstance(message, ActorStatus):
            if message.device in self.devices:  # bounded by the configuration
                self.statuses[message.device] = (message, self.feed_at)
                self._update_state(message.device)
        elif isinstance(message, Event):
            if message.source != "listener":  # the listener's own arrive via local_event
                self.on_event(message)
        elif isinstance(message, FeedbackTargets):
            try:
                targets = parse_targets(message.targets)
            except ValueError as exc:  # decode() checked each; a safety net
                log.error("feedback targets from the registry ignored: %s", exc)
                return
            self.set_targets(targets)

    def feed_seen(self) -> None:
        """Something (a snapshot) arrived from the registry."""
        now = self.clock()
        if now - self.feed_at > STALE:
            self.feed_back_at = now
        self.feed_at = now

    def local_event(self, event: Event) -> None:
        """An event the listener itself reports (refusals, drops)."""
        try:
            self.on_event(event)
        except Exception:
            self._internal("listener event")

    def on_event(self, event: Event) -> None:
        kind = event.event
        if kind == "reply":
            if event.device in self.devices:
                self._reply(event)
        elif kind == "replies_hidden":  # the actor's own rate limit at work
            if event.device in self.devices:
                self._replies_hidden(event)
        elif kind in ("error", "dropped", "rejected"):
            text = event.detail if kind != "dropped" else f"dropped {event.detail}"
            if event.device and event.device in self.devices:
                packet = device_error_message(event.device, text)
            else:
                packet = error_message(text)
            self._send(packet, event.sender)

    def _reply(self, event: Event) -> None:
        name = event.device
        window = self._windows.get(name)
        if window is None:
            window = self._windows[name] = Window(REPLIES_PER_SECOND)
        show, ended = window.admit(self.clock())
        if ended:
            self._summarise(name, ended)
        if not show:
            self._hidden_sender[name] = event.sender
            self.counters["feedback_rate_limited"] += 1
            return
        self._send(reply_message(name, event.detail), event.sender)

    def _replies_hidden(self, event: Event) -> None:
        """The actor's summary: "N more replies within a second, last: ..."."""
        count = event.detail.split(" ", 1)[0]
        missed = int(count) if count.isdigit() and len(count) < 10 else 0
        self.counters["feedback_rate_limited"] += missed
        self._send(_not_forwarded(event.device, missed), event.sender)

    def _summarise(self, name: str, hidden: int) -> None:
        self._send(_not_forwarded(name, hidden), self._hidden_sender.pop(name, ""))

    def _send(self, packet: bytes, sender: str = "") -> None:
        self.links.send(packet)
        if sender:
            self.clients.send_to(sender, packet)

    # ---- states ------------------------------------------------------------------------------

    def state_of(self, name: str) -> str | None:
        """The state feedback reports for a device; None while it cannot tell yet."""
        device = self.devices.get(name)
        if device is None:
            return None
        if not device.enabled:
            return states.DISABLED
        now = self.clock()
        known = self.statuses.get(name)
        if known is not None and now - known[1] <= STALE:
            return osc_state(known[0].state)
        # Silence means "not running" only while the registry is talking and has had time
        # to pass on a status: with the registry away we know nothing new.
        if now - self.feed_at > STALE or now - self.feed_back_at < GRACE:
            return osc_state(known[0].state) if known is not None else None
        return NOT_RUNNING

    def _update_state(self, name: str) -> None:
        state = self.state_of(name)
        if state is None or self.published.get(name) == state:
            return
        self.published[name] = state
        packet = state_message(name, state)
        self.links.send(packet)
        self.clients.send_all(packet)

    def _update_states(self) -> None:
        for name in sorted(self.devices):
            self._update_state(name)

    def tick(self) -> None:
        now = self.clock()
        if now < self._tick_due:
            return
        self._tick_due = now + TICK
        try:
            self._tick(now)
        except Exception:
            self._internal("timer")

    def _tick(self, now: float) -> None:
        if now >= self._states_due:  # silence turns into not_running: seconds matter, not ms
            self._states_due = now + STATES_EVERY
            self._update_states()
        for name, window in list(self._windows.items()):
            if now - window.start >= 1.0:
                hidden = window.take_hidden(now)
                if hidden:
                    self._summarise(name, hidden)
                del self._windows[name]
        self.links.tick()

    # ---- queries -----------------------------------------------------------------------------

    def answer_query(self, names: list[str]) -> list[bytes]:
        self.counters["queries"] += 1
        out = []
        for name in names[:MAX_QUERY_ANSWERS]:
            known = self.statuses.get(name)
            state = self.state_of(name) or "unknown"
            out.append(status_message(name, state, known[0] if known else None))
        return out

    def answer_check(self) -> bytes:
        self.counters["queries"] += 1
        return check_message((name, self.state_of(name) or "unknown")
                             for name in sorted(self.devices))

    def close(self) -> None:
        self.links.close()


def _not_forwarded(name: str, count: int) -> bytes:
    return device_error_message(name, f"{count} more replies within a second not forwarded "
                                      f"(rate limit {REPLIES_PER_SECOND}/s)")
