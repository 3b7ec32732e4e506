"""The listener's "received" events, batched: one Event per device per WINDOW seconds.

Per cue the listener only bumps a count and keeps a reference to the cue's bytes; the text is
made when the window closes: ``cue received: TEXT`` for one cue, ``N cues received, last:
TEXT`` for more (``sender`` is the last cue's). Under a flood that is 5 events a second per
device, never one per cue.
"""

from __future__ import annotations

import time

from oscar import escapes
from oscar.messages import TEXT_CAP, Event

WINDOW = 0.2
TEXT_BYTES = 200  # of the last cue shown


def display(data: bytes) -> str:
    """A cue's bytes as an operator would type them: printable UTF-8 as is, else escaped."""
    data = data[:TEXT_BYTES]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return escapes.encode(data)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else escapes.encode(c.encode("utf-8")) for c in text)


class ReceivedBatch:
    def __init__(self) -> None:
        self._pending: dict[str, list] = {}  # device -> [count, last data, last sender]
        self.opened = 0.0  # monotonic time the oldest pending cue arrived (0: nothing pending)

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, device: str, data: bytes, sender: str) -> None:
        entry = self._pending.get(device)
        if entry is None:
            self._pending[device] = [1, data, sender]
            if not self.opened:
                self.opened = time.monotonic()
        else:
            entry[0] += 1
            entry[1] = data
            entry[2] = sender

    def due(self, now: float) -> bool:
        """``now`` is time.monotonic()."""
        return bool(self.opened) and now - self.opened >= WINDOW

    def next_due(self) -> float | None:
        return self.opened + WINDOW if self.opened else None

    def flush(self) -> list[Event]:
        events = []
        for device, (count, data, sender) in self._pending.items():
            text = display(data)
            detail = f"cue received: {text}" if count == 1 else \
                f"{count} cues received, last: {text}"
            events.append(Event("listener", "received", detail, device=device,
                                sender=sender[:TEXT_CAP]))
        self._pending.clear()
        self.opened = 0.0
        return events
