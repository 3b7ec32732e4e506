"""Timers of one open device connection: keep-alive, reply timeout, idle close.

- keep-alive: nothing written for ``keepalive_interval`` seconds -> send the keep-alive;
- reply timeout: a command or keep-alive written, and no reply byte within ``reply_timeout``
  -> the link is dead (the actor reconnects);
- idle close (on-demand): no command for ``idle_close`` seconds -> close.

Times come from the actor's clock; ``next_due`` tells its loop when to look again.
"""

from __future__ import annotations

from oscar.records import record


@record
class WatchConfig:
    keepalive: bytes = b""  # wire bytes, terminator included; b"" = off
    keepalive_interval: float = 0.0  # 0 = off
    reply_timeout: float = 0.0  # 0 = off
    idle_close: float = 0.0  # 0 = never


class LinkWatch:
    def __init__(self, config: WatchConfig, now: float):
        self.config = config
        self.last_write = now
        self.last_command = now
        self.awaiting_since = 0.0  # first write not yet followed by any reply byte

    def wrote(self, now: float, command: bool) -> None:
        """A command or keep-alive was written whole (both want a reply)."""
        self.last_write = now
        if command:
            self.last_command = now
        if self.config.reply_timeout and not self.awaiting_since:
            self.awaiting_since = now

    def wrote_other(self, now: float) -> None:
        """Bytes that expect no reply of their own (on_connect)."""
        self.last_write = now

    def received(self) -> None:
        self.awaiting_since = 0.0

    def keepalive_due(self, now: float) -> bool:
        config = self.config
        return bool(config.keepalive and config.keepalive_interval
                    and now - self.last_write >= config.keepalive_interval)

    def dead(self, now: float) -> bool:
        timeout = self.config.reply_timeout
        return bool(timeout and self.awaiting_since and now - self.awaiting_since > timeout)

    def idle(self, now: float) -> bool:
        limit = self.config.idle_close
        return bool(limit and now - self.last_command >= limit)

    def next_due(self, keepalive: bool, idle: bool) -> list[float]:
        config = self.config
        due = []
        if keepalive and config.keepalive and config.keepalive_interval:
            due.append(self.last_write + config.keepalive_interval)
        if config.reply_timeout and self.awaiting_since:
            # strictly after the timeout: look a hair later so dead() is true when woken
            due.append(self.awaiting_since + config.reply_timeout + 0.001)
        if idle and config.idle_close:
            due.append(self.last_command + config.idle_close)
        return due
