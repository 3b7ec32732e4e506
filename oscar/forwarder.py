"""The listener's routing core: OSC packets in, Command messages out to device actors.

One ActorLink per device, *connected* to the actor's bound endpoint: commands for an actor that
is restarting wait (and are resent if a connection broke under them), and one slow device cannot
block another's queue.

``handle_packet`` is the one boundary for network input: whatever decoding, routing or rendering
raises is caught there, counted under a named reason, logged rate-limited and truncated, and
never reaches the receive loop.

Addresses name one device, a pattern of device names (``/device/proj*/message``) or a group
(``/group/TAG/message``, TAG a name or pattern). A cue fans out to every *enabled* device that
matches, in name order, each getting its own Command. The devices are chosen when the cue
arrives; a cue dated in the future by its bundle is held in the scheduler and submitted when
due (its TTL counting from then), unless its device was disabled or removed meanwhile.

``/device/NAME/query`` and ``/oscar/check`` send nothing: their answers (oscar.feedback) are
left in ``answers`` for the caller to send back to the sender. Every cue handed to an actor is
reported as a "received" event, batched per device (oscar.received_events); the events this
module reports go to the registry and, through ``emit``, to feedback.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from collections.abc import Callable

import zmq

from oscar import desired_state, escapes, osc_decode, osc_pattern, osc_routing, receipts, zmqutil
from oscar.actor_link import ACK_WAIT, COALESCE, ActorLink, OutboxFull, shared_hold
from oscar.bounded import remember
from oscar.desired_state import RevisionGate
from oscar.messages import Command, ConfigBeacon, ConfigSnapshot, DeviceConfig, Event, Message
from oscar.models import Device, from_dict
from oscar.osc_decode import OscError, OscMessage
from oscar.osc_routing import RouteError
from oscar.ratelimit import RateLimiter
from oscar.received_events import ReceivedBatch
from oscar.schedule import ScheduledCue, Scheduler
from oscar.settings import Settings

log = logging.getLogger(__name__)
# python-osc logs whole datagrams at WARNING from inside its parser: never let it write ours.
logging.getLogger("pythonosc").setLevel(logging.CRITICAL)

COUNTERS = ("packets", "forwarded", "scheduled", "malformed", "framing_errors",
            "unknown_address", "unknown_device", "unknown_verb", "wrong_type", "bad_escape",
            "bad_encoding", "bad_hex", "bad_pattern", "disabled_device", "too_far_ahead",
            "queue_full", "not_allowed", "internal_error", "expired", "cancelled", "resent",
            "tcp_connections", "tcp_evicted", "tcp_idle_closed", "receipts",
            "bad_messages", "udp_kernel_drops")
TEXT_LIMIT = 200  # characters of any detail, sender or device name we log or put in an Event
IMMEDIATE_SLACK = 0.002  # due sooner than this: send now, the poll could not wake earlier anyway
PACKET_COMMAND_LIMIT = 4096  # commands (messages x devices) one packet may ask for
SELECTION_CACHE = 1024  # (scope, target) -> devices, for patterns and groups; reset on config
ROUTE_CACHE = 1024  # address -> (scope, target, verb) of one-string cues; cleared when full
LANE_VERBS = frozenset({"message", "raw"})  # verbs whose one-string cues take the fast lane
# Outboxes are checked against TTL this often (not every turn); a command sent a moment past
# its TTL is still dropped by the actor, which checks again.
EXPIRE_EVERY = 0.02
# Links holding nothing are not polled; their connection events are read this often (their
# monitor queue stays short, so a link's state is known when a cue comes for it).
IDLE_WATCH_EVERY = 1.0
RETRY_WAIT = 0.02  # while commands wait for an actor that is away or not taking them


def _one_string(args: tuple) -> bool:
    """The usual cue's arguments: one string (its route depends on its address alone)."""
    return len(args) == 1 and args[0][0] == "s"


def short(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def matcher(text: str) -> Callable[[str], bool]:
    """A name matcher for a device name, tag or OSC pattern (compiled patterns are cached by
    osc_pattern); PatternError if malformed."""
    if not osc_pattern.is_pattern(text):
        return text.__eq__
    return osc_pattern.compile_pattern(text)


def select(devices: list[Device], scope: str, target: str) -> list[Device]:
    """The enabled devices a cue for ``scope``/``target`` goes to, in the order given (by name).
    RouteError ``unknown_device`` when there are none, ``bad_pattern`` for a malformed one."""
    try:
        match = matcher(target)
    except osc_pattern.PatternError as exc:
        raise RouteError("bad_pattern", f"bad address pattern {short(target, 80)!r}: {exc}",
                         short(target, 64)) from None
    if scope == "group":
        chosen = [d for d in devices
                  if d.enabled and any(match(tag) for tag in d.tags)]
        if not chosen:
            raise RouteError("unknown_device", f"no enabled device in group {short(target, 80)!r}",
                             "")
    else:
        chosen = [d for d in devices if d.enabled and match(d.name)]
        if not chosen:
            raise RouteError("unknown_device",
                             f"no enabled device matches {short(target, 80)!r}", "")
    return chosen


class Outcome:
    """What one packet did, for the receipt (a plain class: one is made per packet)."""

    __slots__ = ("sent", "scheduled", "error")

    def __init__(self, sent: list[str] | None = None, scheduled: list[str] | None = None,
                 error: str = "") -> None:
        self.sent = sent if sent is not None else []
        self.scheduled = scheduled if scheduled is not None else []
        self.error = error

    def status(self) -> tuple[str, str]:
        if self.error:
            return "refused", self.error
        parts = []
        if self.sent:
            parts.append(f"forwarded to {_devices(self.sent)}")
        if self.scheduled:
            parts.append(f"scheduled for {_devices(self.scheduled)}")
        return "ok", "; ".join(parts) or "nothing to forward"


def _devices(names: list[str]) -> str:
    unique = list(dict.fromkeys(names))
    noun = "device" if len(unique) == 1 else "devices"
    return f"{len(unique)} {noun}: {', '.join(unique)}"


class Forwarder:
    def __init__(self, ctx: zmq.Context, settings: Settings, events: zmq.Socket,
                 on_busy: Callable[[ActorLink, bool], None] | None = None):
        self.ctx = ctx
        self.settings = settings
        self.events = events
        # (link, busy): a link starts or stops holding commands; the listener polls the
        # connection events (monitor) of busy links only.
        self.on_busy = on_busy
        self.devices: dict[str, Device] = {}
        self._ordered: list[Device] = []
        self._selection: dict[tuple[str, str], list[Device]] = {}
        self._routes: dict[str, tuple[str, str, str]] = {}
        self._lanes: dict[str, tuple[str, str, bool]] = {}  # address -> (device, encoding, term.)
        self.revision = -1
        self.gate = RevisionGate()  # which config messages are newer than what we have
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.limiter = RateLimiter()
        self.receipt_limiter = RateLimiter(receipts.PER_SECOND, max_keys=receipts.MAX_HOSTS)
        # Answers to /device/NAME/query and /oscar/check, per sender host like receipts.
        self.query_limiter = RateLimiter(receipts.PER_SECOND, max_keys=receipts.MAX_HOSTS)
        self.feedback = None  # oscar.feedback.Feedback, set by the listener
        self.answers: list[bytes] = []  # query answers for the packet just handled
        self.received = ReceivedBatch()  # "received" events, one per device per 0.2 s
        self.links: dict[str, ActorLink] = {}
        # The links holding commands (queued or unacked): the only ones a loop turn visits, so
        # idle devices cost nothing per turn. Idle links catch up with their connection events
        # every IDLE_WATCH_EVERY and when they become busy.
        self._busy: dict[str, ActorLink] = {}
        self._idle_watch_due = 0.0
        self._acks_due = 0.0
        self._hold = COALESCE  # a fast link's pause after a send (actor_link.shared_hold)
        self.scheduler = Scheduler()
        # Unique per listener run, so an actor can tell a resend from a new command.
        self.identity = f"listener-{os.getpid()}-{time.time():.0f}".encode()
        self._seq = 0
        self._expire_due = 0.0

    # ---- desired state ---------------------------------------------------------------------

    def set_devices(self, devices: dict[str, Device], revision: int) -> None:
        self.devices = dict(devices)
        self._ordered = [self.devices[name] for name in sorted(self.devices)]
        self._selection.clear()
        self._lanes.clear()
        self.revision = self.gate.revision = revision
        for name in list(self.links):
            if name not in self.devices:
                link = self.links.pop(name)
                if self._busy.pop(name, None) is not None and self.on_busy is not None:
                    self.on_busy(link, False)
                link.close()
        self._cancel_scheduled()

    def apply(self, message: Message) -> None:
        if isinstance(message, ConfigBeacon):  # behind it: the file has what we missed
            state = desired_state.catch_up(self.gate, self.settings.desired_state_path,
                                           message.store_id, message.revision)
            if state is not None:
                self.set_devices(state.devices, state.revision)
            return
        if not isinstance(message, (ConfigSnapshot, DeviceConfig)):
            return
        snapshot = isinstance(message, ConfigSnapshot)
        if not self.gate.accepts(message.store_id, message.revision, whole=snapshot):
            return
        if snapshot:
            self.set_devices({d["name"]: from_dict(d) for d in message.devices},
                             message.revision)
        else:
            devices = dict(self.devices)
            if message.device is None:
                devices.pop(message.name, None)
            else:
                devices[message.name] = from_dict(message.device)
            self.set_devices(devices, message.revision)

    def _enabled(self, name: str) -> bool:
        device = self.devices.get(name)
        return device is not None and device.enabled

    def _cancel_scheduled(self) -> None:
        """Scheduled cues whose device was disabled or removed are dropped and reported."""
        cancelled = self.scheduler.cancel(self._enabled)
        if not cancelled:
            return
        per_device: dict[str, int] = {}
        for cue in cancelled:
            per_device[cue.device] = per_device.get(cue.device, 0) + 1
        self.counters["cancelled"] += len(cancelled)
        self.counters["scheduled"] = len(self.scheduler)
        for name, count in per_device.items():
            why = "removed" if name not in self.devices else "disabled"
            detail = f"{count} scheduled cue{'s' if count > 1 else ''} cancelled: device {why}"
            log.warning("%s: %s", name, detail)
            self.emit(Event("listener", "dropped", detail, device=name))

    # ---- packets -------------------------------------------------------------------------

    def handle_packet(self, packet: bytes, sender: str,
                      received_at: float | None = None) -> bytes | None:
        """Decode, route and submit (or schedule) one packet. Returns the receipt to send back
        to the sender when the packet asked for one (``/oscar/receipt`` last), else None."""
        received_at = time.time() if received_at is None else received_at
        self.counters["packets"] += 1
        if self.answers:
            self.answers = []
        if self._fast_lane(packet, sender, received_at):
            return None
        try:
            messages = osc_decode.decode_packet(packet)
        except OscError as exc:
            self.reject("malformed", f"malformed OSC packet ({len(packet)} bytes): {exc}", sender)
            return None
        except Exception as exc:  # a decoder bug must not stop the show
            self._internal(exc, sender, len(packet))
            return None
        token = None
        if messages and messages[-1].address == receipts.ADDRESS:
            token = receipts.token_of(messages.pop().args)
            if token is None:
                self.reject("wrong_type", f"{receipts.ADDRESS} needs one string, the token "
                            f"(at most {receipts.MAX_TOKEN} characters)", sender)
        outcome = Outcome()
        for index, message in enumerate(messages):
            if len(outcome.sent) + len(outcome.scheduled) >= PACKET_COMMAND_LIMIT:
                # A 64 KB bundle of patterns could otherwise ask for millions of commands.
                self.reject("queue_full", f"packet asks for more than {PACKET_COMMAND_LIMIT} "
                            f"commands; its last {len(messages) - index} messages refused",
                            sender)
                outcome.error = outcome.error or "queue_full: too many commands in one packet"
                break
            try:
                self._dispatch(message, sender, received_at, outcome)
            except RouteError as exc:
                self.reject(exc.counter, str(exc), sender, exc.device)
                outcome.error = outcome.error or f"{exc.counter}: {short(str(exc))}"
            except Exception as exc:  # a routing or rendering bug: count it, keep going
                self._internal(exc, sender, len(packet))
                outcome.error = outcome.error or f"internal_error: {type(exc).__name__}"
        if token is None:
            return None
        host = sender.rsplit(":", 1)[0]
        if not self.receipt_limiter.allow(host):
            return None
        self.counters["receipts"] += 1
        return receipts.encode_reply(token, *outcome.status())

    def _fast_lane(self, packet: bytes, sender: str, received_at: float) -> bool:
        """The usual cue, sent on with the fewest steps: one string to an address whose whole
        route (one enabled device, verb message or raw) the general path found before, with
        the device list unchanged since (see ``_dispatch``). True when it was handled; else,
        or on any error, the general path handles the packet from scratch and reports."""
        common = osc_decode.one_string(packet)
        if common is None:
            return False
        target = self._lanes.get(common[0])
        if target is None:
            return False
        name, encoding, terminate = target
        try:
            data = escapes.decode(common[1], encoding)
        except Exception:  # a bad escape or encoding: the general path names it
            return False
        self._submit(name, data, terminate, sender, received_at)
        return True

    def _route(self, message: OscMessage) -> osc_routing.Route:
        """osc_routing.route(), remembered per address for the usual cue (one string): its
        route depends on nothing else, and shows send the same addresses again and again."""
        if not _one_string(message.args):
            return osc_routing.route(message)
        known = self._routes.get(message.address)
        if known is not None:
            return osc_routing.Route(known[0], known[1], known[2], message.args)
        found = osc_routing.route(message)  # raises for an address it refuses: not kept
        remember(self._routes, message.address, (found.scope, found.target, found.verb),
                 ROUTE_CACHE)
        return found

    def _dispatch(self, message: OscMessage, sender: str, received_at: float,
                  outcome: Outcome) -> None:
        found = self._route(message)
        if found.verb in osc_routing.QUERY_VERBS:
            self._query(found, sender)
            return
        devices = self._select(found)
        due = message.due
        if due is None and len(devices) == 1:  # the usual cue: one device, now
            device = devices[0]
            data, terminate = osc_routing.command_bytes(found, device.encoding)
            self._submit(device.name, data, terminate, sender, received_at, outcome)
            if (found.verb in LANE_VERBS and not osc_pattern.is_pattern(found.target)
                    and _one_string(message.args)):
                # Its next cue may take the fast lane: same address, same route, until the
                # device list changes (set_devices forgets them all).
                remember(self._lanes, message.address,
                         (device.name, device.encoding, terminate), ROUTE_CACHE)
            return
        later = due is not None and due - received_at > IMMEDIATE_SLACK
        if later and due - received_at > self.settings.osc_schedule_horizon:
            raise RouteError("too_far_ahead",
                             f"bundle due in {due - received_at:.0f}s, more than "
                             f"osc_schedule_horizon ({self.settings.osc_schedule_horizon:g}s) "
                             "ahead", devices[0].name if len(devices) == 1 else "")
        # Render once per distinct encoding, and all before sending any: a cue goes to every
        # device it names or to none.
        rendered: dict[str, tuple[bytes, bool]] = {}
        for device in devices:
            if device.encoding not in rendered:
                rendered[device.encoding] = osc_routing.command_bytes(found, device.encoding)
        if later:
            if self.scheduler.room() < len(devices):
                raise RouteError("queue_full", f"{self.scheduler.limit} scheduled cues already "
                                 "pending", devices[0].name if len(devices) == 1 else "")
            for device in devices:
                data, terminate = rendered[device.encoding]
                self.scheduler.add(ScheduledCue(due, device.name, data, terminate, sender,
                                                received_at))
                outcome.scheduled.append(device.name)
            self.counters["scheduled"] = len(self.scheduler)
            return
        for device in devices:
            data, terminate = rendered[device.encoding]
            self._submit(device.name, data, terminate, sender, received_at, outcome)

    def _query(self, found: osc_routing.Route, sender: str) -> None:
        """``/device/NAME/query`` (NAME a name, pattern, or ``/group/TAG/query``; disabled
        devices included) and ``/oscar/check``: answers for the sender, in ``self.answers``."""
        if self.feedback is None:
            return
        if found.verb == "check":
            names = None
        elif found.scope == "device" and not osc_pattern.is_pattern(found.target):
            if found.target not in self.devices:
                raise RouteError("unknown_device", f"unknown device {short(found.target, 80)!r}",
                                 short(found.target, 64))
            names = [found.target]
        else:
            try:
                match = matcher(found.target)
            except osc_pattern.PatternError as exc:
                raise RouteError("bad_pattern", f"bad address pattern "
                                 f"{short(found.target, 80)!r}: {exc}", "") from None
            if found.scope == "group":
                names = [d.name for d in self._ordered if any(match(t) for t in d.tags)]
            else:
                names = [d.name for d in self._ordered if match(d.name)]
            if not names:
                raise RouteError("unknown_device", f"no device matches {short(found.target, 80)!r}",
                                 "")
        if not self.query_limiter.allow(sender.rsplit(":", 1)[0]):
            return
        if names is None:
            self.answers.append(self.feedback.answer_check())
        else:
            self.answers.extend(self.feedback.answer_query(names))

    def _select(self, found: osc_routing.Route) -> list[Device]:
        if found.scope == "device" and not osc_pattern.is_pattern(found.target):
            device = self.devices.get(found.target)
            if device is None:
                raise RouteError("unknown_device", f"unknown device {short(found.target, 80)!r}",
                                 short(found.target, 64))
            if not device.enabled:
                raise RouteError("disabled_device", f"device {found.target!r} is disabled",
                                 found.target)
            return [device]
        key = (found.scope, found.target)
        chosen = self._selection.get(key)
        if chosen is None:
            chosen = select(self._ordered, found.scope, found.target)
            remember(self._selection, key, chosen, SELECTION_CACHE)
        return chosen

    def _submit(self, name: str, data: bytes, terminate: bool, sender: str,
                received_at: float, outcome: Outcome | None = None) -> None:
        self._seq += 1
        # Positional: keywords cost a little more, and this runs once per cue.
        command = Command(name, data, received_at, sender, self._seq, terminate)
        link = self.link(name)
        try:
            link.submit(command)
        except OutboxFull as exc:
            self.reject("queue_full", str(exc), sender, name)
            if outcome is not None:
                outcome.error = outcome.error or f"queue_full: {exc}"
            return
        if name not in self._busy:
            link.on_monitor()  # catch up: was the actor away or back while the link was idle?
            self._busy[name] = link
            if self.on_busy is not None:
                self.on_busy(link, True)
        self.counters["forwarded"] += 1
        self.received.add(name, data, sender)
        if outcome is not None:
            outcome.sent.append(name)

    # ---- scheduled cues --------------------------------------------------------------------

    def wake_in(self, idle: float) -> float:
        """Seconds until the loop must turn by itself: sooner while commands wait for an
        actor (RETRY_WAIT) or for their acks (ACK_WAIT), a scheduled cue is due or received
        events are to be reported. One pass, few calls: this runs on every loop turn."""
        wait = idle
        now = time.time()
        for link in self._busy.values():
            if link.outbox:  # held for a batch (actor_link.COALESCE), or the actor is away
                held = link.hold_until - now
                wait = min(wait, held if held > 0 else RETRY_WAIT)
            elif link.unacked:
                wait = min(wait, ACK_WAIT)
        if self.scheduler:
            due = self.scheduler.next_due()
            if due is not None:
                wait = min(wait, due - now)
        report_at = self.received.next_due()
        if report_at is not None:
            wait = min(wait, report_at - time.monotonic())
        return wait

    def run_due(self, now: float) -> None:
        """Submit the scheduled cues that are due; TTL counts from the due time."""
        if not self.scheduler:
            return
        due = self.scheduler.pop_due(now)
        if not due:
            return
        for cue in due:
            if self._enabled(cue.device):
                self._submit(cue.device, cue.data, cue.terminate, cue.sender, cue.due)
            else:  # disabled between set_devices calls cannot happen, but never send it
                self.counters["cancelled"] += 1
        self.counters["scheduled"] = len(self.scheduler)

    # ---- actor links -------------------------------------------------------------------------

    def link(self, name: str) -> ActorLink:
        link = self.links.get(name)
        if link is None:
            link = ActorLink(self.ctx, name, self.settings.actor_endpoint(name), self.identity,
                             self._expired)
            self.links[name] = link
        return link

    def _expired(self, command: Command, reason: str) -> None:
        self.counters["expired"] += 1
        if not self.limiter.allow("expired"):
            return  # an actor away past its TTL expires up to 1000 at once: counted, not each
        log.warning("dropped %r for %s from %s: %s", command.data[:80], command.device,
                    command.sender, reason)
        self.emit(Event("listener", "dropped", short(f"{command.data[:80]!r}: {reason}"),
                        device=command.device, sender=short(command.sender)))

    def emit(self, event: Event) -> None:
        """Report an event: to the registry (activity), and to feedback (OSC to targets)."""
        zmqutil.send(self.events, event)
        if self.feedback is not None:
            self.feedback.local_event(event)

    def housekeeping(self, now: float) -> None:
        """Send this turn's commands (one batch per device), retry sends to actors that were
        away, and every EXPIRE_EVERY read acks and expire what waited too long; report the
        cues received in the last window."""
        if self.received.due(time.monotonic()):
            for event in self.received.flush():
                zmqutil.send(self.events, event)
        busy = self._busy
        if now >= self._idle_watch_due:
            self._idle_watch_due = now + IDLE_WATCH_EVERY
            for name, link in self.links.items():
                if name not in busy:
                    link.on_monitor()
            self.counters["resent"] = sum(link.resent for link in self.links.values())
        if not busy:
            return
        hold, fast = self._hold, 0
        for link in busy.values():
            link.flush(now, hold)
            fast += link.fast
        self._hold = shared_hold(fast)
        if now >= self._acks_due:  # see actor_link: acks are read, never polled for
            self._acks_due = now + ACK_WAIT
            for link in busy.values():
                if link.unacked:
                    link.read_acks()
        if now < self._expire_due:
            return
        self._expire_due = now + EXPIRE_EVERY
        for name, link in list(busy.items()):
            device = self.devices.get(name)
            if device is not None:
                link.expire(now, device.ttl)
            if not (link.outbox or link.unacked):
                del busy[name]
                if self.on_busy is not None:
                    self.on_busy(link, False)

    @property
    def waiting(self) -> int:
        """Commands not handed to their actor yet (it is away or not taking them)."""
        return sum(link.waiting for link in self._busy.values())

    # ---- refusals --------------------------------------------------------------------------

    def reject(self, counter: str, reason: str, sender: str, device: str = "") -> None:
        """Count, log (rate-limited per kind, truncated) and report input we cannot act on."""
        self.counters[counter] = self.counters.get(counter, 0) + 1
        if self.limiter.allow(counter):
            reason, sender, device = short(reason), short(sender), short(device)
            log.warning("rejected from %s: %s", sender or "?", reason)
            self.emit(Event("listener", "rejected", f"{counter}: {reason}", device=device,
                            sender=sender))

    def _internal(self, exc: Exception, sender: str, size: int) -> None:
        self.counters["internal_error"] += 1
        if self.limiter.allow("internal_error"):
            # Where it happened (code lines only: a traceback's message could hold the packet).
            where = "".join(traceback.format_tb(exc.__traceback__)[-3:])
            log.error("internal error on a %d-byte packet from %s: %s: %s\n%s", size,
                      short(sender), type(exc).__name__, short(str(exc)), where)
            self.emit(Event("listener", "rejected",
                            short(f"internal_error: {type(exc).__name__}: {exc}"),
                            sender=short(sender)))

    def close(self) -> None:
        for link in self.links.values():
            link.close()
        self.links.clear()
