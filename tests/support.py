"""Test support: a whole Oscar under a real supervisord, a fake TCP device, poll-for waits.

Everything binds to 127.0.0.1 on free ports with a fresh OSCAR_HOME, so runs can repeat and
run beside each other; every process started is stopped and checked gone by PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from oscar import settings as settings_mod
from oscar.client import RegistryClient, RegistryUnavailable
from oscar.supervisor_client import connect as supervisor_connect

REPO = Path(__file__).resolve().parent.parent


def noon_today(margin: float = 180.0) -> datetime:
    """Noon of the day Oscar will read clock-only times ("12:02") in: it reads them as today
    when it gets them. Within ``margin`` seconds of midnight this waits for the new day
    first, so a test typing clock times does not straddle midnight (its events on one day,
    its filters read on the next)."""
    now = datetime.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    left = (midnight - now).total_seconds()
    if left < margin:
        time.sleep(left + 1)
    return datetime.now().replace(hour=12, minute=0, second=0, microsecond=0)


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05,
             message: str = "condition") -> Any:
    """Poll until predicate() is truthy and return its value; fail with ``message``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # the system may be mid-restart; keep polling
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}"
                         + (f" (last error: {last_error})" if last_error else ""))


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (the listener uses one number for both)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); count it as gone.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


class OscarSystem:
    """``oscar run`` (supervisord + registry + listener + device actors) in a temp OSCAR_HOME."""

    def __init__(self, extra_env: dict[str, str] | None = None, home: Path | None = None):
        # Short path: ipc:// socket paths must stay under 108 bytes.
        self.home = home or Path(tempfile.mkdtemp(prefix="osc-", dir="/tmp"))
        self.osc_port = free_port()
        self.web_port = free_port()
        self.env = dict(os.environ)
        self.env.update({
            "OSCAR_HOME": str(self.home),
            "OSCAR_OSC_HOST": "127.0.0.1",
            "OSCAR_OSC_PORT": str(self.osc_port),
            "OSCAR_WEB_PORT": str(self.web_port),
            "OSCAR_REQUEST_TIMEOUT": "2",
            "PYTHONUNBUFFERED": "1",
        })
        self.env.update(extra_env or {})
        self.env.setdefault("OSCAR_LOG_LEVEL", "DEBUG")
        self.settings = settings_mod.load(self.env)
        self.proc: subprocess.Popen | None = None
        self.pids: set[int] = set()
        self._client: RegistryClient | None = None

    # ---- life cycle ------------------------------------------------------------------------

    def start(self) -> OscarSystem:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "oscar.cli", "run"], cwd=REPO, env=self.env,
            stdout=open(self.home / "oscar-run.out", "w"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pids.add(self.proc.pid)
        try:
            wait_for(lambda: self.client().call("ping"), timeout=20,
                     message="registry to answer")
            wait_for(lambda: self.program_state("oscar-listener") == "RUNNING", timeout=20,
                     message="listener RUNNING")
            # RUNNING only means "up for startsecs"; its first heartbeat reaches the registry
            # after it has subscribed to config, so a device added from now on is never missed
            # (on a loaded machine the interpreter start alone can take longer than startsecs).
            wait_for(self.listener_reporting, timeout=20, message="listener heartbeat")
        except BaseException:
            # A fixture whose start fails never reaches its clean-up: stop what did start.
            print(f"Oscar did not start; OSCAR_HOME kept for inspection: {self.home}")
            try:
                self.stop()
            except AssertionError as exc:
                print(exc)
            raise
        return self

    def listener_reporting(self) -> bool:
        """The running listener's heartbeat has reached the registry: it has bound its OSC
        ports and subscribed to config (RUNNING alone does not say so)."""
        listener = self.client().call("status")["listener"]
        return bool(listener) and listener["pid"] == self.pid_of("oscar-listener")

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
        self._remember_pids()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # supervisord stops every program it runs
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        deadline = time.monotonic() + 10
        for pid in self.pids:
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        leftovers = [pid for pid in self.pids if pid_alive(pid)]
        assert not leftovers, f"processes left behind: {leftovers}"

    def __enter__(self) -> OscarSystem:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _remember_pids(self) -> None:
        try:
            for info in self.processes().values():
                if info["pid"]:
                    self.pids.add(info["pid"])
        except Exception:
            pass

    # ---- control ---------------------------------------------------------------------------

    def client(self) -> RegistryClient:
        if self._client is None:
            self._client = RegistryClient(self.settings, timeout=2.0, retries=0)
        return self._client

    def call(self, op: str, **args: Any) -> Any:
        """A registry call that rides out a registry restart (retries until it answers)."""
        def attempt() -> Any:
            try:
                return {"result": self.client().call(op, **args)}
            except RegistryUnavailable:
                return None
        return wait_for(attempt, timeout=15, message=f"registry to answer {op}")["result"]

    def supervisor(self):
        return supervisor_connect(self.settings).supervisor

    def processes(self) -> dict[str, dict]:
        return {info["name"]: info for info in self.supervisor().getAllProcessInfo()}

    def program_state(self, name: str) -> str:
        info = self.processes().get(name)
        return info["statename"] if info else "ABSENT"

    def pid_of(self, name: str) -> int:
        pid = self.processes()[name]["pid"]
        if pid:
            self.pids.add(pid)
        return pid

    def ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "oscar.cli", "ctl", *args], cwd=REPO,
                              env=self.env, capture_output=True, text=True, timeout=60)

    def cli(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "oscar.cli", *args], cwd=REPO,
                              env=self.env, capture_output=True, text=True, timeout=timeout)

    def add_device(self, name: str, port: int, **fields: Any) -> dict:
        device = self.call("add", device={"name": name, "host": "127.0.0.1", "port": port,
                                          **fields})
        wait_for(lambda: self.program_state(f"oscar-device-{name}") == "RUNNING", timeout=20,
                 message=f"oscar-device-{name} RUNNING")
        self.pid_of(f"oscar-device-{name}")
        return device

    def device_status(self, name: str) -> dict:
        return self.call("status", name=name)["devices"][0]

    def wait_state(self, name: str, state: str, timeout: float = 15) -> dict:
        return wait_for(lambda: (row := self.device_status(name))["state"] == state and row,
                        timeout=timeout, message=f"{name} to be {state}")

    def listener_counters(self) -> dict[str, int]:
        listener = self.call("status")["listener"]
        return listener["counters"] if listener else {}

    # ---- OSC in ----------------------------------------------------------------------------

    def send_udp(self, packet: bytes) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(packet, ("127.0.0.1", self.osc_port))

    def send_tcp(self, data: bytes) -> None:
        with socket.create_connection(("127.0.0.1", self.osc_port), timeout=5) as sock:
            sock.sendall(data)


class FakeDevice:
    """The hardware we cannot have: a TCP server that records what arrives, on cue it drops
    connections, stops listening, stops reading (``stall``/``resume``), or answers."""

    def __init__(self, port: int | None = None, reply: bytes = b"",
                 on_data: Callable[[bytes], None] | None = None, flood: int = 0,
                 rcvbuf: int = 0):
        self.port = port or free_port()
        # SO_RCVBUF of its connections; small like an embedded device's, so that little can
        # wait in its kernel while it is stalled (Linux: at least ~2 KB, half of it for data).
        self.rcvbuf = rcvbuf
        # (time.time(), connection number from 1, bytes) per read, to tell when and where
        # each byte reached the device's application.
        self.arrivals: list[tuple[float, int, bytes]] = []
        # On resume: connection number -> bytes its kernel had taken while we did not read.
        self.buffered_at_resume: dict[int, int] = {}
        self._numbers: dict[socket.socket, int] = {}
        self._stalled = threading.Event()
        self._resume = threading.Event()
        self._resumed = threading.Event()
        self.reply = reply
        self.flood = flood  # bytes of unsolicited output sent on each new connection
        self.on_data = on_data
        self.received = bytearray()
        self.connections = 0
        self._lock = threading.Lock()
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self._running = False
        self._drop = threading.Event()
        self._dropped = threading.Event()

    def start(self) -> FakeDevice:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.rcvbuf:  # inherited by accepted connections; must be set before listen
            server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        server.bind(("127.0.0.1", self.port))
        server.listen(8)
        server.settimeout(0.1)
        self._server = server
        self._running = True
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        import selectors

        selector = selectors.DefaultSelector()
        assert self._server is not None
        selector.register(self._server, selectors.EVENT_READ)
        while self._running:
            if self._stalled.is_set():
                # The application hangs: it neither accepts nor reads; the kernel still
                # completes handshakes and takes data until its receive buffers are full.
                if self._resume.is_set():
                    self._wake(selector)
                else:
                    time.sleep(0.02)
                    self._drop_if_asked(selector)
                    continue
            for key, _ in selector.select(timeout=0.05):
                sock = key.fileobj
                if sock is self._server:
                    self._accept(selector)
                    continue
                try:
                    data = sock.recv(65536)  # type: ignore[union-attr]
                except OSError:
                    data = b""
                if not data:
                    selector.unregister(sock)
                    with self._lock:
                        self._conns.remove(sock)  # type: ignore[arg-type]
                    sock.close()  # type: ignore[union-attr]
                    continue
                with self._lock:
                    self.received += data
                    number = self._numbers.get(sock, 0)  # type: ignore[call-overload]
                    self.arrivals.append((time.time(), number, data))
                if self.on_data is not None:
                    self.on_data(data)
                if self.reply:
                    try:
                        sock.sendall(self.reply)  # type: ignore[union-attr]
                    except OSError:
                        pass
            self._drop_if_asked(selector)
        for conn in self._conns:
            conn.close()
        self._conns.clear()
        selector.close()

    def _accept(self, selector: Any) -> None:
        import selectors

        assert self._server is not None
        try:
            conn, _ = self._server.accept()
        except OSError:
            return
        with self._lock:
            self._conns.append(conn)
            self.connections += 1
            self._numbers[conn] = self.connections
        selector.register(conn, selectors.EVENT_READ)
        if self.flood:
            threading.Thread(target=self._flood, args=(conn,), daemon=True).start()

    def _drop_if_asked(self, selector: Any) -> None:
        if not self._drop.is_set():
            return
        for conn in list(self._conns):
            selector.unregister(conn)
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        with self._lock:
            self._conns.clear()
        self._drop.clear()
        self._dropped.set()

    def _wake(self, selector: Any) -> None:
        """End a stall: take the connections the kernel completed meanwhile, note how many bytes
        each one's kernel holds (they reached the device while it hung), then read again."""
        import fcntl
        import select
        import struct
        import termios

        assert self._server is not None
        while select.select([self._server], [], [], 0)[0]:
            self._accept(selector)
        for conn in list(self._conns):
            try:
                raw = fcntl.ioctl(conn.fileno(), termios.FIONREAD, b"\0\0\0\0")
                self.buffered_at_resume[self._numbers[conn]] = struct.unpack("i", raw)[0]
            except OSError:
                self.buffered_at_resume[self._numbers[conn]] = 0
        self._stalled.clear()
        self._resume.clear()
        self._resumed.set()

    def stall(self) -> None:
        """Stop accepting and reading, like a device whose application hangs."""
        self._resumed.clear()
        self._stalled.set()

    def resume(self) -> None:
        """Accept and read again (see ``buffered_at_resume``)."""
        self._resume.set()
        assert self._resumed.wait(5), "fake device did not resume"

    def _flood(self, conn: socket.socket) -> None:
        chunk = b"#" * 65536
        try:
            for _ in range(self.flood // len(chunk)):
                conn.sendall(chunk)
        except OSError:
            pass  # connection closed under us

    def lines(self, terminator: bytes = b"\r") -> list[bytes]:
        with self._lock:
            data = bytes(self.received)
        parts = data.split(terminator)
        return parts[:-1]

    def drop_connections(self) -> None:
        """Close every open connection from our side, like a device rebooting its network."""
        self._dropped.clear()
        self._drop.set()
        assert self._dropped.wait(5), "fake device did not drop its connections"

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._server is not None:
            self._server.close()
            self._server = None

    def __enter__(self) -> FakeDevice:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_and_clean(system: OscarSystem, request: Any) -> None:
    """Stop a test's Oscar (checked gone by PID); keep its OSCAR_HOME (logs!) only when the
    test failed, and say where."""
    system.stop()
    report = getattr(request.node, "report_call", None)
    _clean_home(system, keep=report is not None and report.failed)


@contextmanager
def module_oscar(request: Any) -> Iterator[OscarSystem]:
    """One Oscar shared by the tests of a module (``request``: a module fixture's), stopped
    afterwards (checked gone by PID); its OSCAR_HOME (logs!) is kept only when a test of the
    module failed, and where is said."""
    failed_before = request.session.testsfailed
    system = OscarSystem().start()
    try:
        yield system
    finally:
        system.stop()
        _clean_home(system, keep=request.session.testsfailed > failed_before)


def _clean_home(system: OscarSystem, keep: bool) -> None:
    if keep:
        print(f"OSCAR_HOME kept for inspection: {system.home}")
    else:
        shutil.rmtree(system.home, ignore_errors=True)


def osc_message(address: str, *args: Any) -> bytes:
    from pythonosc.osc_message_builder import OscMessageBuilder

    builder = OscMessageBuilder(address=address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram
