"""No Linux-only call without a fallback (issue 12): what Oscar does on macOS (and the BSDs)
where Linux has /proc, prctl, TCP_KEEPIDLE/TCP_USER_TIMEOUT, SIOCOUTQ and 107-byte socket
paths. The platform is monkeypatched; the socket-path fallback is in test_home.py."""

from __future__ import annotations

import resource
import socket
import sys
from pathlib import Path

from oscar import device_socket, lifeline, proc_scan
from oscar.processes import listener

HOME = Path("/Users/ana/.local/state/oscar")

LINUX_NAMES = frozenset({"TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT", "TCP_USER_TIMEOUT"})
MACOS_NAMES = frozenset({"TCP_KEEPALIVE", "TCP_KEEPINTVL", "TCP_KEEPCNT"})


def test_keepalive_uses_macos_names_there_and_skips_what_is_missing():
    assert device_socket.keepalive_options(LINUX_NAMES) == (
        ("TCP_KEEPIDLE", 2), ("TCP_KEEPINTVL", 1), ("TCP_KEEPCNT", 3), ("TCP_USER_TIMEOUT", 5000))
    assert device_socket.keepalive_options(MACOS_NAMES) == (
        ("TCP_KEEPALIVE", 2), ("TCP_KEEPINTVL", 1), ("TCP_KEEPCNT", 3))
    assert device_socket.keepalive_options(frozenset()) == ()


def test_a_refused_keepalive_option_does_not_stop_the_dial(monkeypatch):
    monkeypatch.setattr(device_socket, "KEEPALIVE_OPTIONS",
                        (("TCP_KEEPINTVL", -5),))  # the kernel refuses this value
    with socket.create_server(("127.0.0.1", 0)) as server:
        sock = device_socket.dial("127.0.0.1", server.getsockname()[1])
        sock.close()


def test_no_parent_death_signal_outside_linux(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert lifeline.set_parent_death_signal() is False  # the getppid() watchdog covers it


def test_unacked_bytes_fall_back_to_handed_over_where_siocoutq_is_missing():
    with socket.socket() as sock:
        assert device_socket.handed_over(sock) == 0


PS_OUTPUT = f"""\
  101     1 Ss   /usr/bin/python3 -m oscar.supervisord_main -n -c /x/supervisord.conf PATH=/usr/bin OSCAR_HOME={HOME} TERM=xterm
  102   101 S    /usr/bin/python3 -m oscar.processes.listener OSCAR_HOME={HOME} PATH=/usr/bin
  103   101 Z    /usr/bin/python3 -m oscar.processes.web OSCAR_HOME={HOME}
  104   101 S    /usr/bin/python3 -m oscar.processes.device_actor proj1 OSCAR_HOME={HOME}2
  105     1 S    /bin/zsh OSCAR_HOME={HOME}
  106   101 S    /usr/bin/python3 -m oscar.processes.device_actor proj1 HOME=/Users/ana OSCAR_HOME={HOME}
garbage line
"""  # noqa: E501


def test_without_proc_the_processes_are_found_with_ps():
    found = proc_scan.scan_ps(HOME, output=lambda: PS_OUTPUT)
    assert [(f.pid, f.ppid) for f in found] == [(101, 1), (102, 101), (106, 101)]
    assert found[0].is_supervisord and not found[1].is_supervisord
    assert found[1].command == "-m oscar.processes.listener"
    assert found[2].command == "-m oscar.processes.device_actor proj1"


def test_scan_uses_ps_when_there_is_no_proc(monkeypatch, tmp_path):
    monkeypatch.setattr(proc_scan, "PROC", tmp_path / "no-proc")
    monkeypatch.setattr(proc_scan, "_ps_output", lambda: PS_OUTPUT)
    assert [f.pid for f in proc_scan.scan(HOME, proc=proc_scan.PROC)] == [101, 102, 106]


def test_open_file_limit_on_macos_settles_for_open_max(monkeypatch):
    # macOS: the hard limit reads unlimited, the soft one is 256, and more than 10240 is
    # refused with EINVAL.
    limits = {"soft": 256}

    def setrlimit(which, pair):
        if pair[0] > 10240:
            raise ValueError("not allowed to raise maximum limit")
        limits["soft"] = pair[0]

    monkeypatch.setattr(resource, "getrlimit",
                        lambda which: (limits["soft"], resource.RLIM_INFINITY))
    monkeypatch.setattr(resource, "setrlimit", setrlimit)
    listener._raise_fd_limit(300)
    assert limits["soft"] == 10240
