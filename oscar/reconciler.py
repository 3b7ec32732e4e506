"""Background thread in the registry that keeps supervisord's device programs matching the store.

XML-RPC calls can block for seconds (stopping an actor); running them here keeps the control
socket answering meanwhile.

Program states are read when supervisord says one changed, not every second: the thread binds
a unix datagram socket (the doorbell) and names it in each read; supervisord (our namespace,
oscar/supervisor_rpc.py) sends it a byte on every state change. A ring is read at once, or
READ_GAP after the previous read during a burst (a hundred programs starting), so the table is
never older than before, and usually fresher. A read every SAFETY_READ catches a lost ring and a
hung supervisord; the connection kept open to supervisord is watched too, so a supervisord that
stops or restarts is noticed (``supervisor_error``) at once. Without our namespace, or while
supervisord does not answer, it reads every REFRESH as before.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from pathlib import Path

from oscar import signal_wakeup
from oscar.status_table import StatusTable
from oscar.supervisor_client import Programs, SupervisorError

log = logging.getLogger(__name__)
REFRESH = 1.0  # seconds between reads without a doorbell, or while supervisord fails
SAFETY_READ = 5.0  # seconds between reads with the doorbell, when no ring came
READ_GAP = 0.25  # seconds: the least time between two reads that rings asked for


class Reconciler(threading.Thread):
    def __init__(self, programs: Programs, table: StatusTable, doorbell: Path | None = None,
                 safety_read: float = SAFETY_READ):
        super().__init__(name="reconciler", daemon=True)
        self.programs = programs
        self.table = table
        self.safety_read = safety_read
        self._wanted: list[str] | None = None
        self._restarts: list[str] = []
        # want(), restart() and stop() write a byte here: one select() waits for them and rings.
        self._wake_in, self._wake_out = socket.socketpair()
        for end in (self._wake_in, self._wake_out):
            end.setblocking(False)
        self._stopping = threading.Event()
        self.doorbell, self._bell = _bind_doorbell(doorbell) if doorbell else ("", None)
        self.last_error = ""
        self.reads = 0  # reads of program states so far (tests and measurements)

    def want(self, devices: list[str]) -> None:
        """Ask for one program per named device; applied soon, in this thread."""
        self._wanted = list(devices)
        self._wake()

    def restart(self, device: str) -> None:
        """Restart a device's actor soon, in this thread (stopping one can take seconds)."""
        self._restarts.append(device)
        self._wake()

    def stop(self) -> None:
        """End the thread soon; the doorbell's file goes now (the registry exits right after)."""
        self._stopping.set()
        if self.doorbell:
            Path(self.doorbell).unlink(missing_ok=True)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_out.send(b"!")
        except OSError:
            pass  # full: a wake-up is pending anyway

    def run(self) -> None:
        last_read = -READ_GAP
        while not self._stopping.is_set():
            wanted, self._wanted = self._wanted, None
            try:
                if wanted is not None:
                    self.programs.reconcile(wanted)
                while self._restarts:
                    device = self._restarts.pop(0)
                    log.info("restarting the actor of %s", device)
                    self.programs.restart(device)
                last_read = time.monotonic()
                self.reads += 1
                # The answer is true as of when supervisord wrote it: after this, maybe long
                # before it arrives (a busy supervisord). Stamped on arrival, an actor's first
                # report sent meanwhile could look older than a stale pid, and be dropped.
                asked_at = time.time()
                changes = self.programs.process_changes(self.doorbell)
                if changes is not None:
                    self.table.processes = changes.applied_to(self.table.processes)
                self.table.processes_at = asked_at
                if self.last_error:
                    log.info("supervisord reachable again")
                self.last_error = self.table.supervisor_error = ""
            except SupervisorError as exc:
                if wanted is not None and self._wanted is None:
                    self._wanted = wanted  # try again on the next round
                if str(exc) != self.last_error:
                    log.error("%s", exc)
                self.last_error = self.table.supervisor_error = str(exc)
            except Exception:  # never let the thread die: the registry would stop reconciling
                log.exception("reconcile failed")
                if wanted is not None and self._wanted is None:
                    self._wanted = wanted
            self._wait(last_read)
        self.programs.close()
        for sock in (self._bell, self._wake_in, self._wake_out):
            if sock is not None:
                sock.close()

    def _wait(self, last_read: float) -> None:
        """Until a wake-up, a ring (held to READ_GAP after the last read) or the next read due
        by the clock: SAFETY_READ while supervisord rings, REFRESH otherwise."""
        ringing = self._bell is not None and self.programs.rings and not self.last_error
        watched = [self._wake_in]
        if ringing:
            kept = self.programs.kept_socket()
            watched += [self._bell] + ([kept] if kept is not None else [])
        if _wait_readable(watched, self.safety_read if ringing else REFRESH) - {self._wake_in}:
            # A ring, or supervisord closed the kept connection. In a burst of changes (a
            # hundred programs starting) the rings that come meanwhile are read together.
            rest = last_read + READ_GAP - time.monotonic()
            if rest > 0:
                _wait_readable([self._wake_in], rest)
        signal_wakeup.drain(self._wake_in.fileno())
        if self._bell is not None:
            signal_wakeup.drain(self._bell.fileno())


def _wait_readable(socks: list[socket.socket], timeout: float) -> set[socket.socket]:
    """Those of ``socks`` readable within ``timeout`` seconds (poll: no limit on descriptor
    numbers, and the registry holds a few hundred)."""
    poller = select.poll()
    by_fd = {sock.fileno(): sock for sock in socks}
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    return {by_fd[fd] for fd, _ in poller.poll(timeout * 1000)}


def _bind_doorbell(path: Path) -> tuple[str, socket.socket | None]:
    """A datagram socket at ``path`` (one left by a killed registry is replaced), or ("", None)
    where that fails: then program states are read every REFRESH."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        path.unlink(missing_ok=True)
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        log.warning("no doorbell for supervisord at %s (%s): reading program states every %gs",
                    path, exc, REFRESH)
        return "", None
    sock.setblocking(False)
    return str(path), sock
