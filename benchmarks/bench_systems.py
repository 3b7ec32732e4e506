"""The systems the benchmark drives: Oscar and the baselines, each with the processes whose CPU
time it is charged, and the stamping fake device they all write to."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench_procs import bound, cmdline, descendants

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from tests.support import OscarSystem, free_port, wait_for  # noqa: E402

OK_STATES = ("ready", "idle")


class StampDevice:
    """stamp_device.py as a subprocess, driven line by line."""

    def __init__(self, ports: int = 1):
        self.proc = subprocess.Popen([sys.executable, str(HERE / "stamp_device.py"),
                                      "--ports", str(ports)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ports: list[int] = json.loads(self.proc.stdout.readline())  # type: ignore[union-attr]
        self.port = self.ports[0]

    def cmd(self, line: str):
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class System:
    """A system under test. ``begin`` readies it for one trial, ``end`` takes it down again."""

    name = ""
    protos = ("udp", "slip", "lp")

    def available(self) -> str:
        """"" if it can run here, else why not."""
        return ""

    def begin(self, proto: str, device: StampDevice) -> tuple[str, int]:
        """Returns (load generator protocol, port to send to)."""
        raise NotImplementedError

    def processes(self) -> dict[int, str]:
        """pid -> label of every process charged to this system."""
        return {}

    def end(self) -> None:
        pass

    def close(self) -> None:
        pass


class Direct(System):
    """The load generator writes the rendered text straight to the device: the floor."""

    name = "direct"

    def begin(self, proto, device):
        return "text", device.port


class Relay(System):
    """A baseline started afresh for each trial, in its own session (stopped as a group)."""

    def command(self, proto: str, in_port: int, device_port: int) -> list[str]:
        raise NotImplementedError

    def begin(self, proto, device):
        in_port = free_port()
        self.proc = subprocess.Popen(self.command(proto, in_port, device.port),
                                     stdout=subprocess.DEVNULL, start_new_session=True,
                                     cwd=HERE)
        kind = "udp" if proto == "udp" else "tcp"
        wait_for(lambda: bound(in_port, kind) or self.proc.poll() is not None, timeout=10,
                 message=f"{self.name} to bind {in_port}")
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
        time.sleep(0.2)  # its connection to the device (and a relay's second process) comes up
        return proto, in_port

    def processes(self):
        return {pid: self.label(pid) for pid in descendants(self.proc.pid)}

    def label(self, pid: int) -> str:
        return "sink" if "--sink" in cmdline(pid) else self.name

    def end(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class Socat(Relay):
    name = "socat"

    def available(self):
        return "" if shutil.which("socat") else "socat not installed (apt-get install socat)"

    def command(self, proto, in_port, device_port):
        source = (f"UDP-RECV:{in_port},bind=127.0.0.1,rcvbuf=4194304" if proto == "udp"
                  else f"TCP-LISTEN:{in_port},bind=127.0.0.1,reuseaddr")
        return ["socat", "-u", source, f"TCP:127.0.0.1:{device_port},nodelay"]


class PyRelay(Relay):
    name = "relay1"  # one Python process

    def command(self, proto, in_port, device_port):
        return [sys.executable, str(HERE / "baseline_relay.py"),
                "udp" if proto == "udp" else "tcp", str(in_port), str(device_port)]


class ZmqRelay(PyRelay):
    name = "relay2"  # two Python processes and ZeroMQ

    def command(self, proto, in_port, device_port):
        return [sys.executable, str(HERE / "baseline_zmq_relay.py"),
                "udp" if proto == "udp" else "tcp", str(in_port), str(device_port)]

    def label(self, pid):
        return "relay2-sink" if "--sink" in cmdline(pid) else "relay2-in"


class Oscar(System):
    """The whole of Oscar under its real supervisord, started once, at INFO logging like a
    show, with one device ``bench`` on the stamping device's port."""

    name = "oscar"

    def __init__(self):
        self.system: OscarSystem | None = None

    def begin(self, proto, device):
        if self.system is None:
            self.system = start_oscar()
            self.system.add_device("bench", device.port)
            wait_ok(self.system, ["bench"])
            time.sleep(1.0)  # start-up work settles before the first trial
        return proto, self.system.osc_port

    def processes(self):
        assert self.system is not None
        return oscar_processes(self.system)

    def close(self):
        if self.system is not None:
            stop_oscar(self.system)
            self.system = None


def compile_sources() -> None:
    """Oscar's byte code up to date, as `pip install` leaves it: with PYTHONDONTWRITEBYTECODE
    set (as in some shells and CI) every actor would otherwise compile each module changed
    since the last write at every start (about 30 ms of CPU and 2 MB of memory per actor)."""
    import compileall

    for folder in ("oscar", "processes"):
        compileall.compile_dir(str(REPO / folder), quiet=2)


def start_oscar() -> OscarSystem:
    compile_sources()
    system = OscarSystem({"OSCAR_LOG_LEVEL": "INFO"})
    try:
        return system.start()
    except BaseException:
        shutil.rmtree(system.home, ignore_errors=True)
        raise


def stop_oscar(system: OscarSystem) -> None:
    try:
        system.stop()
    finally:
        shutil.rmtree(system.home, ignore_errors=True)


def oscar_processes(system: OscarSystem) -> dict[int, str]:
    """Every process of a running Oscar: supervisord's programs by name (oscar-device-* as
    "actor"), supervisord itself and the `oscar run` that started it."""
    names = {info["pid"]: info["name"] for info in system.processes().values() if info["pid"]}
    labels = {}
    assert system.proc is not None
    for pid in descendants(system.proc.pid):
        name = names.get(pid)
        if name is None:
            line = cmdline(pid)
            name = "supervisord" if "supervisord" in line else (
                "oscar run" if pid == system.proc.pid else line[:40])
        elif name.startswith("oscar-device-"):
            name = "actor"
        else:
            name = name.removeprefix("oscar-")
        labels[pid] = name
    return labels


def wait_ok(system: OscarSystem, names: list[str], timeout: float = 60) -> float:
    """Seconds until every device named is ready (or idle)."""
    start = time.monotonic()
    wanted = set(names)

    def all_ok():
        rows = system.call("status")["devices"]
        return wanted <= {row["name"] for row in rows if row["state"] in OK_STATES}
    wait_for(all_ok, timeout=timeout, interval=0.05, message=f"{len(names)} devices ready")
    return time.monotonic() - start


SYSTEMS = {cls.name: cls for cls in (Direct, Socat, PyRelay, ZmqRelay, Oscar)}
