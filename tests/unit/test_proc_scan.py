"""Finding an OSCAR_HOME's processes in a /proc-shaped folder (no real processes)."""

from __future__ import annotations

from pathlib import Path

from oscar import proc_scan

HOME = Path("/tmp/osc-abc")


def fake_proc(root: Path, pid: int, argv: list[str], env: dict[str, str], ppid: int = 1,
              state: str = "S", name: str = "python3") -> None:
    folder = root / str(pid)
    folder.mkdir(parents=True)
    (folder / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    (folder / "environ").write_bytes(b"".join(f"{k}={v}".encode() + b"\0" for k, v in env.items()))
    (folder / "stat").write_text(f"{pid} ({name}) {state} {ppid} {pid} {pid} 0 -1 4194560\n")


def test_finds_the_programs_of_this_home_only(tmp_path):
    python = "/work/main/.venv/bin/python"
    mine = {"OSCAR_HOME": str(HOME), "PATH": "/usr/bin"}
    fake_proc(tmp_path, 100, [python, "-m", "oscar.supervisord_main", "-n", "-c", "x.conf"], mine)
    fake_proc(tmp_path, 101, [python, "-m", "oscar.processes.device_actor", "proj1"], mine,
              ppid=100)
    fake_proc(tmp_path, 102, [python, "-m", "oscar.processes.listener"], mine, ppid=1)
    # Another OSCAR_HOME whose path starts with this one's; a shell that exported OSCAR_HOME;
    # an actor that has exited but was not reaped yet; a process we may not read.
    fake_proc(tmp_path, 200, [python, "-m", "oscar.processes.registry"],
              {"OSCAR_HOME": str(HOME) + "2"})
    fake_proc(tmp_path, 201, ["bash"], mine)
    fake_proc(tmp_path, 202, [python, "-m", "oscar.processes.web"], mine, state="Z")
    (tmp_path / "self").mkdir()

    found = proc_scan.scan(HOME, proc=tmp_path)
    assert [(f.pid, f.ppid) for f in found] == [(100, 1), (101, 100), (102, 1)]
    assert [f.is_supervisord for f in found] == [True, False, False]
    assert found[1].command == "-m oscar.processes.device_actor proj1"
    assert "pid 102: -m oscar.processes.listener" == found[2].describe()


def test_a_process_name_with_brackets_and_spaces_does_not_confuse_stat(tmp_path):
    fake_proc(tmp_path, 300, ["/x/python", "-m", "oscar.processes.listener"],
              {"OSCAR_HOME": str(HOME)}, ppid=77, name="odd) S 5 (name")
    assert [(f.pid, f.ppid) for f in proc_scan.scan(HOME, proc=tmp_path)] == [(300, 77)]


def test_no_proc_folder_means_nothing_found(tmp_path):
    assert proc_scan.scan(HOME, proc=tmp_path / "missing") == []


def test_pidfile_of_a_dead_or_garbled_supervisord_is_ignored(tmp_path):
    pidfile = tmp_path / "supervisord.pid"
    assert proc_scan.pidfile_pid(pidfile) is None  # missing
    for text in ("", "not a pid", "-5", "0", "99999999"):
        pidfile.write_text(text)
        assert proc_scan.pidfile_pid(pidfile) is None, text
