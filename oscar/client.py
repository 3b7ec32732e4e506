"""Talks to the registry's control socket: REQ with a timeout, rebuilt and retried on silence
(ZeroMQ guide's Lazy Pirate), so a restarting registry costs a retry, never a hang."""

from __future__ import annotations

import os
from typing import Any

import zmq

from oscar import zmqutil
from oscar.errors import CodedError
from oscar.messages import DecodeError, Reply, Request, decode
from oscar.settings import Settings

# Only these are sent again after a timeout: repeating a change could apply it twice.
READ_ONLY = frozenset({"ping", "list", "get", "status", "activity", "system", "export",
                       "feedback_get"})
CHANGE_TIMEOUT = 5.0  # a change may take a moment (fsync, supervisord); it gets one try


class RegistryUnavailable(ConnectionError):
    pass


class RegistryNotRunning(RegistryUnavailable):
    """The control endpoint is an ipc:// socket file that does not exist: nothing to ask."""


class RegistryError(CodedError):
    """The registry answered with an error; ``code`` says which kind, ``fields`` which field."""


class RegistryClient:
    def __init__(self, settings: Settings, timeout: float | None = None, retries: int = 2,
                 ctx: zmq.Context | None = None, fail_fast: bool = False):
        self.settings = settings
        # fail_fast (the CLI): a missing ipc:// socket file means "not running" at once, and
        # an existing one gets a single try, so a person waits one timeout at most.
        self.fail_fast = fail_fast
        if fail_fast:
            retries = 0
        self.timeout = settings.request_timeout if timeout is None else timeout
        self.retries = retries
        self.ctx = ctx or zmq.Context.instance()
        self._sock: zmq.Socket | None = None

    def _socket(self) -> zmq.Socket:
        if self._sock is None:
            self._sock = zmqutil.socket(self.ctx, zmq.REQ)
            zmqutil.connect(self._sock, self.settings.control, self.settings.home)
        return self._sock

    def _reset(self) -> None:
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None

    def close(self) -> None:
        self._reset()

    def socket_path(self) -> str:
        """The control socket's file ('' for a tcp:// endpoint)."""
        endpoint = self.settings.control
        return endpoint[len("ipc://"):] if endpoint.startswith("ipc://") else ""

    def call(self, op: str, **args: Any) -> Any:
        path = self.socket_path()
        if self.fail_fast and path and not os.path.exists(path):
            raise RegistryNotRunning(f"Oscar is not running (no control socket at {path})")
        frames = Request(op=op, args=args).encode()
        read_only = op in READ_ONLY
        attempts = self.retries + 1 if read_only else 1
        timeout = self.timeout if read_only else max(self.timeout, CHANGE_TIMEOUT)
        for _ in range(attempts):
            sock = self._socket()
            sock.send_multipart(frames)
            if sock.poll(timeout * 1000, zmq.POLLIN):
                try:
                    reply = decode(sock.recv_multipart())
                except DecodeError as exc:
                    self._reset()
                    raise RegistryUnavailable(f"registry sent an unreadable reply: {exc}") from None
                if not isinstance(reply, Reply):
                    self._reset()
                    raise RegistryUnavailable("registry sent something that is not a reply")
                if not reply.ok:
                    raise RegistryError(reply.code, reply.error, reply.fields)
                return reply.result
            self._reset()  # a REQ socket with no answer is stuck: throw it away
        raise RegistryUnavailable(
            f"the registry is not answering on {self.settings.control} "
            f"(waited {timeout:g}s x {attempts})"
            + ("" if read_only else f"; {op} may or may not have been applied")
        )
