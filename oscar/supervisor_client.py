"""Device programs in supervisord: program files in the [include] folder plus XML-RPC calls.

Follows ``supervisorctl update``: write files, ``reloadConfig``, then stop+remove changed or
removed groups and add new ones. Only groups named ``oscar-device-*`` are ever touched.
"""

from __future__ import annotations

import http.client
import logging
import os
import socket
import xmlrpc.client
from pathlib import Path
from typing import NamedTuple

from supervisor.xmlrpc import SupervisorTransport, UnixStreamHTTPConnection

from oscar.settings import Settings, python_executable

log = logging.getLogger(__name__)
PREFIX = "oscar-device-"
RPC_TIMEOUT = 15.0


class ProcessChanges(NamedTuple):
    """Process info from supervisord: all of it (``full``), or only the processes of the groups
    that changed plus the names of the groups removed since the previous read."""

    full: bool
    processes: list[dict]
    removed: list[str]

    def applied_to(self, known: dict[str, dict]) -> dict[str, dict]:
        """The process info by name after these changes (a new dict: readers in other threads
        see the old one or the new one whole)."""
        if self.full:
            return {info["name"]: info for info in self.processes}
        gone = set(self.removed)
        merged = {name: info for name, info in known.items() if info["group"] not in gone}
        merged.update((info["name"], info) for info in self.processes)
        return merged


class SupervisorError(RuntimeError):
    """supervisord could not be reached or refused a call."""


class _Unreachable(Exception):
    """No answer from supervisord (turned into SupervisorError by Programs._call)."""


def program_name(device: str) -> str:
    return PREFIX + device


class _TimedUnixConnection(UnixStreamHTTPConnection):
    """supervisor's unix-socket HTTP connection, with ``timeout`` on its socket from before the
    connect on (supervisor's own has none: a hung supervisord would block the caller forever)."""

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socketfile)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class TimedSupervisorTransport(SupervisorTransport):
    """``supervisor.xmlrpc.SupervisorTransport`` for a unix socket, every call bounded by
    ``timeout`` seconds (connect, send and each read): socket.timeout (an OSError) past it."""

    def __init__(self, socket_path: str, timeout: float):
        super().__init__(serverurl=f"unix://{socket_path}")
        self.timeout = timeout
        self._socket_path = socket_path
        # SupervisorTransport opens each (persistent) connection through this hook.
        self._get_connection = self._timed_connection

    def _timed_connection(self) -> _TimedUnixConnection:
        conn = _TimedUnixConnection("localhost", timeout=self.timeout)
        conn.socketfile = self._socket_path
        return conn


def connect(settings: Settings, timeout: float = RPC_TIMEOUT) -> xmlrpc.client.ServerProxy:
    transport = TimedSupervisorTransport(str(settings.supervisor_socket), timeout)
    # The URL's host is not used: SupervisorTransport talks to the socket file.
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport, allow_none=True)


def _escape(text: str) -> str:
    return text.replace("%", "%%")  # supervisord expands %(...)s in its config files


def program_file_text(settings: Settings, device: str) -> str:
    name = program_name(device)
    log_file = settings.log_dir / f"{name}.log"
    return "\n".join([
        f"[program:{name}]",
        f"command={_escape(python_executable())} -m oscar.processes.device_actor {device}",
        f"directory={_escape(str(settings.home))}",
        "autostart=true",
        "autorestart=true",
        "startsecs=1",
        "startretries=100",
        "stopsignal=TERM",
        "stopwaitsecs=5",
        "redirect_stderr=true",
        f"stdout_logfile={_escape(str(log_file))}",
        "stdout_logfile_maxbytes=5MB",
        "stdout_logfile_backups=3",
        "",
    ])


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name("." + path.name + ".tmp")  # not *.conf: never included half-written
    tmp.write_text(text)
    os.replace(tmp, path)


def write_program_files(settings: Settings, devices: list[str]) -> None:
    """Make the include folder hold exactly one file per device named."""
    folder = settings.programs_dir
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {f"{program_name(d)}.conf": program_file_text(settings, d) for d in devices}
    for path in folder.glob("*.conf"):
        if path.name not in wanted:
            path.unlink()
    for filename, text in wanted.items():
        path = folder / filename
        if not path.exists() or path.read_text() != text:
            _write_atomically(path, text)


class Programs:
    def __init__(self, settings: Settings, timeout: float = RPC_TIMEOUT):
        self.settings = settings
        self.timeout = timeout
        self._token: str | None = ""  # of process_changes; None: not supported
        self._kept: xmlrpc.client.ServerProxy | None = None  # see _call(keep=True)

    def _call(self, method: str, *args, namespace: str = "supervisor", keep: bool = False):
        """One XML-RPC call on a connection of its own or, with ``keep``, on the one kept open
        for the reconciler's once-a-second poll: a connection per call costs supervisord two
        more passes of its loop (about a millisecond each with 100 programs)."""
        if keep and self._kept is not None:
            try:
                return self._invoke(self._kept, namespace, method, args)
            except _Unreachable:  # e.g. supervisord restarted: try once on a new connection
                self._close_kept()
        proxy = connect(self.settings, self.timeout)
        try:
            result = self._invoke(proxy, namespace, method, args)
        except _Unreachable as exc:
            proxy("close")()
            raise SupervisorError(
                f"supervisord not reachable at {self.settings.supervisor_socket}: {exc}"
            ) from None
        except SupervisorError:
            proxy("close")()
            raise
        if keep:
            self._kept = proxy
        else:
            proxy("close")()
        return result

    @staticmethod
    def _invoke(proxy: xmlrpc.client.ServerProxy, namespace: str, method: str, args: tuple):
        try:
            return getattr(getattr(proxy, namespace), method)(*args)
        except xmlrpc.client.Fault as exc:
            raise SupervisorError(f"supervisord {method}{args}: {exc.faultString}") from None
        except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as exc:
            raise _Unreachable(str(exc)) from None

    def _close_kept(self) -> None:
        if self._kept is not None:
            self._kept("close")()
            self._kept = None

    def close(self) -> None:
        self._close_kept()

    def _each(self, method: str, groups: list[str], ignore: str) -> None:
        """``method(group)`` for every group in one ``system.multicall``; a fault other than
        ``ignore`` (a fault name such as ALREADY_ADDED) raises SupervisorError."""
        if not groups:
            return
        calls = [{"methodName": f"supervisor.{method}", "params": [group]} for group in groups]
        results = self._call("multicall", calls, namespace="system")
        for group, result in zip(groups, results, strict=True):
            if isinstance(result, dict) and "faultString" in result:
                if not result["faultString"].startswith(ignore):
                    raise SupervisorError(f"supervisord {method}({group!r}): "
                                          f"{result['faultString']}")

    def reconcile(self, devices: list[str]) -> dict[str, list[str]]:
        """Make supervisord run one program per device named, and no other device programs."""
        write_program_files(self.settings, devices)
        added, changed, removed = self._call("reloadConfig")[0]
        ours = lambda names: [n for n in names if n.startswith(PREFIX)]  # noqa: E731
        added, changed, removed = ours(added), ours(changed), ours(removed)
        # Groups running in supervisord whose files vanished while it was down show up here too.
        running = {info["group"] for info in self._call("getAllProcessInfo")}
        wanted = {program_name(d) for d in devices}
        removed = sorted(set(removed) | {g for g in running if g.startswith(PREFIX)} - wanted)
        for group in removed + changed:
            self._stop_and_remove(group)
        # One request for every group to add: supervisord starts them all in its next pass,
        # where one call each (100 devices imported) paced the starts by round trips.
        self._each("addProcessGroup", sorted(set(added + changed) | (wanted - running)),
                   ignore="ALREADY_ADDED")
        if added or changed or removed:
            log.info("device programs: added %s, changed %s, removed %s", added, changed, removed)
        return {"added": added, "changed": changed, "removed": removed}

    def _stop_and_remove(self, group: str) -> None:
        try:
            self._call("stopProcessGroup", group, True)
        except SupervisorError as exc:
            if "BAD_NAME" not in str(exc):
                raise
        try:
            self._call("removeProcessGroup", group)
        except SupervisorError as exc:
            if "BAD_NAME" not in str(exc):
                raise

    def process_info(self) -> list[dict]:
        return list(self._call("getAllProcessInfo"))

    @property
    def rings(self) -> bool:
        """Whether supervisord rings a doorbell on changes (False: it has no oscar namespace)."""
        return self._token is not None

    def kept_socket(self) -> socket.socket | None:
        """The socket of the connection kept open, if any: readable means supervisord closed
        it (it stopped or restarted), worth a read at once."""
        if self._kept is None:
            return None
        connection = self._kept("transport").connection
        return getattr(connection, "sock", None)

    def process_changes(self, doorbell: str = "") -> ProcessChanges | None:
        """What changed in supervisord's process info since the previous call, None if nothing
        (oscar/supervisor_rpc.py); ``doorbell``: a datagram socket supervisord rings on every
        change from then on. A supervisord without that namespace: always all of it."""
        if self._token is not None:
            try:
                args = (self._token, doorbell) if doorbell else (self._token,)
                answer = self._call("getProcessInfoChanges", *args, namespace="oscar", keep=True)
            except SupervisorError as exc:
                if "UNKNOWN_METHOD" not in str(exc):
                    raise
                log.info("supervisord has no oscar namespace: reading every state each time")
                self._token = None
            else:
                self._token = answer["token"]
                if not (answer["full"] or answer["processes"] or answer["removed"]):
                    return None
                return ProcessChanges(answer["full"], list(answer["processes"]),
                                      list(answer["removed"]))
        return ProcessChanges(True, self.process_info(), [])

    def restart(self, device: str) -> None:
        name = f"{program_name(device)}:{program_name(device)}"
        try:
            self._call("stopProcess", name, True)
        except SupervisorError as exc:
            if "NOT_RUNNING" not in str(exc):
                raise
        # Don't wait for RUNNING (startsecs): the caller's request would time out meanwhile.
        self._call("startProcess", name, False)
