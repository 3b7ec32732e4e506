"""Oscar installed like real software (issue 12): the wheel built from this tree, installed in
a fresh venv, run from a folder outside the checkout with `oscar run --daemon`, a device added,
a cue delivered, nothing written inside site-packages, `oscar stop` leaving no process.

Offline: the wheel is built with this venv's setuptools (--no-build-isolation) from a copy of
the tree (so no build/ folder appears in the checkout); the fresh venv gets only the wheel,
and finds Oscar's dependencies (pyzmq, Flask...) in this venv's site-packages through a .pth
line, after its own site-packages.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import pytest

from oscar import proc_scan
from tests.support import REPO, FakeDevice, free_port, pid_alive, wait_for

SOURCES = ("pyproject.toml", "README.md", "supervisord.conf", "oscar", "processes", "web")


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=180, **kwargs)
    assert result.returncode == 0, f"{argv}: {result.stdout}\n{result.stderr}"
    return result


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


@pytest.fixture(scope="module")
def installed():
    """A fresh venv holding only the oscar wheel: (its bin folder, its site-packages)."""
    work = Path(tempfile.mkdtemp(prefix="osc-inst-", dir="/tmp"))
    try:
        src = work / "src"
        src.mkdir()
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for name in SOURCES:
            path = REPO / name
            if path.is_dir():
                shutil.copytree(path, src / name, symlinks=True, ignore=ignore)
            else:
                shutil.copy2(path, src / name)
        _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
              "-w", str(work / "dist"), str(src)], cwd=work)
        wheel = next((work / "dist").glob("oscar-*.whl"))
        venv = work / "venv"
        _run([sys.executable, "-m", "venv", str(venv)])
        _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
              "--no-index", str(wheel)], cwd=work)
        purelib = Path(_run([str(venv / "bin" / "python"), "-c",
                             "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
                            ).stdout.strip())
        ours = Path(sysconfig.get_paths()["purelib"])
        assert ours in map(Path, site.getsitepackages())
        (purelib / "zz_oscar_test_deps.pth").write_text(f"{ours}\n")
        yield venv / "bin", purelib
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _env(home: Path | None, user_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OSCAR_", "PYTHON", "XDG_")) and k != "VIRTUAL_ENV"}
    env.update(HOME=str(user_home), PYTHONUNBUFFERED="1", **extra)
    if home is not None:
        env["OSCAR_HOME"] = str(home)
    return env


def test_the_wheel_holds_a_complete_oscar_and_nothing_top_level(installed):
    bin_dir, purelib = installed
    package = purelib / "oscar"
    for part in ("supervisord.conf", "processes/listener.py", "processes/registry.py",
                 "processes/device_actor.py", "processes/web.py", "web/templates/base.html",
                 "web/static/style.css", "web/app.py"):
        assert (package / part).is_file(), part
    assert not (package / "supervisord.conf").is_symlink()
    assert "-m oscar.processes.listener" in (package / "supervisord.conf").read_text()
    assert not (purelib / "web").exists() and not (purelib / "processes").exists()
    outside = Path(tempfile.mkdtemp(prefix="osc-out-", dir="/tmp"))
    try:
        version = _run([str(bin_dir / "oscar"), "--version"], cwd=outside,
                       env=_env(None, outside)).stdout
        assert version.strip() == "oscar 0.1.0"
        # No OSCAR_HOME: the per-user state folder (root: the system one), never site-packages.
        info = json.loads(_run([str(bin_dir / "oscar"), "info", "--json"], cwd=outside,
                               env=_env(None, outside)).stdout)
        expected = ((Path("/var/lib/oscar"), "system") if os.geteuid() == 0
                    else (outside / ".local" / "state" / "oscar", "user"))
        assert (Path(info["home"]), info["home_source"]) == expected
        assert info["installed_from"] == "package" and info["running"] is False
        assert info["supervisord_config"] == str(package / "supervisord.conf")
        if os.geteuid() != 0:
            state = outside / "xdg-state"
            info = json.loads(_run([str(bin_dir / "oscar"), "info", "--json"], cwd=outside,
                                   env=_env(None, outside, XDG_STATE_HOME=str(state))).stdout)
            assert Path(info["home"]) == state / "oscar"
    finally:
        shutil.rmtree(outside, ignore_errors=True)


def test_installed_oscar_runs_detached_delivers_a_cue_and_stops_clean(installed):
    bin_dir, purelib = installed
    oscar = str(bin_dir / "oscar")
    outside = Path(tempfile.mkdtemp(prefix="osc-out-", dir="/tmp"))
    home = outside / "home"
    osc_port = free_port()
    env = _env(home, outside, OSCAR_OSC_HOST="127.0.0.1", OSCAR_OSC_PORT=str(osc_port),
               OSCAR_WEB_PORT=str(free_port()))
    before = _snapshot(purelib)
    device = FakeDevice().start()
    supervisord = None
    try:
        started = _run([oscar, "run", "--daemon"], cwd=outside, env=env)
        assert "Oscar running in the background" in started.stdout
        supervisord = int((home / "run" / "supervisord.pid").read_text())
        assert pid_alive(supervisord)
        programs = [p for p in proc_scan.scan(home) if not p.is_supervisord]
        assert sorted(p.command for p in programs) == [
            "-m oscar.processes.listener", "-m oscar.processes.registry",
            "-m oscar.processes.web"]
        # Every program runs the installed code, not this checkout's.
        for proc in programs:
            assert (Path(f"/proc/{proc.pid}/cwd").resolve() == home.resolve())

        _run([oscar, "device", "add", "fake", "127.0.0.1", str(device.port)], cwd=outside,
             env=env)

        def ready() -> bool:
            status = json.loads(_run([oscar, "status", "--json"], cwd=outside,
                                     env=env).stdout)
            return any(row.get("name") == "fake" and row.get("state") == "ready"
                       for row in status.get("devices", []))

        wait_for(ready, timeout=30, interval=0.3, message="fake device ready")
        _run([oscar, "send", "fake", "PWR ON"], cwd=outside, env=env)
        wait_for(lambda: b"PWR ON\r" in device.received, timeout=10,
                 message="the cue at the device")

        # Nothing written inside the installed package (no bytecode, no state, no logs).
        assert _snapshot(purelib) == before
        assert (home / "oscar.sqlite3").is_file() and (home / "logs").is_dir()

        stopped = _run([oscar, "stop"], cwd=outside, env=env)
        assert "Oscar stopped" in stopped.stdout
        assert not pid_alive(supervisord)
        assert proc_scan.scan(home) == []
        for proc in programs:
            assert not pid_alive(proc.pid)
        assert not (home / "run" / "supervisord.pid").exists()
    finally:
        device.stop()
        if supervisord is not None and pid_alive(supervisord):
            subprocess.run([oscar, "stop"], cwd=outside, env=env, capture_output=True,
                           timeout=120)
        leftovers = proc_scan.scan(home)
        for proc in leftovers:
            os.kill(proc.pid, 9)
        time.sleep(0.1 if leftovers else 0)
        shutil.rmtree(outside, ignore_errors=True)


def test_a_deep_oscar_home_runs_with_its_sockets_in_a_short_folder():
    base = Path(tempfile.mkdtemp(prefix="osc-deep-", dir="/tmp"))
    home = base / ("d" * 120)  # $OSCAR_HOME/run/... would pass the 107-byte socket limit
    env = _env(home, base, OSCAR_OSC_HOST="127.0.0.1", OSCAR_OSC_PORT=str(free_port()),
               OSCAR_WEB_PORT=str(free_port()))
    env["PATH"] = os.environ["PATH"]
    oscar = [sys.executable, "-m", "oscar.cli"]
    try:
        info = json.loads(_run([*oscar, "info", "--json"], cwd=REPO, env=env).stdout)
        socket_dir = Path(info["socket_dir"])
        assert socket_dir.parent == Path("/tmp") and socket_dir.name.startswith("oscar-")
        _run([*oscar, "run", "--daemon"], cwd=REPO, env=env)
        assert (socket_dir / "supervisor.sock").exists()
        assert (socket_dir / "registry-control.sock").exists()
        assert json.loads(_run([*oscar, "status", "--json"], cwd=REPO, env=env).stdout)
        again = subprocess.run([*oscar, "run", "--daemon"], cwd=REPO, env=env,
                               capture_output=True, text=True, timeout=60)
        assert again.returncode == 1 and "Oscar is already running" in again.stderr
        assert "Oscar stopped" in _run([*oscar, "stop"], cwd=REPO, env=env).stdout
        assert proc_scan.scan(home) == []
        assert not socket_dir.exists()  # the short folder goes with the run
    finally:
        if proc_scan.scan(home):
            subprocess.run([*oscar, "stop"], cwd=REPO, env=env, capture_output=True,
                           timeout=120)
        shutil.rmtree(base, ignore_errors=True)
