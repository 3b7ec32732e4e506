"""Background thread in the registry that keeps supervisord's device programs matching the store.

XML-RPC calls can block for seconds (stopping an actor); running them here keeps the control
socket answering meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time

from oscar.status_table import StatusTable
from oscar.supervisor_client import Programs, SupervisorError

log = logging.getLogger(__name__)
REFRESH = 1.0  # how often process states are read from supervisord


class Reconciler(threading.Thread):
    def __init__(self, programs: Programs, table: StatusTable):
        super().__init__(name="reconciler", daemon=True)
        self.programs = programs
        self.table = table
        self._wanted: list[str] | None = None
        self._restarts: list[str] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.last_error = ""

    def want(self, devices: list[str]) -> None:
        """Ask for one program per named device; applied soon, in this thread."""
        self._wanted = list(devices)
        self._wake.set()

    def restart(self, device: str) -> None:
        """Restart a device's actor soon, in this thread (stopping one can take seconds)."""
        self._restarts.append(device)
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def run(self) -> None:
        while not self._stop.is_set():
            wanted, self._wanted = self._wanted, None
            try:
                if wanted is not None:
                    self.programs.reconcile(wanted)
                while self._restarts:
                    device = self._restarts.pop(0)
                    log.info("restarting the actor of %s", device)
                    self.programs.restart(device)
                infos = self.programs.changed_process_info()
                if infos is not None:
                    self.table.processes = {info["name"]: info for info in infos}
                self.table.processes_at = time.time()  # what the table holds is true now
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
            self._wake.wait(REFRESH)
            self._wake.clear()
        self.programs.close()
