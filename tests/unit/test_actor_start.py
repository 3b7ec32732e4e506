"""What a device actor loads to start (issue 10: 100 actors start at once, each a process of
its own): modules it does not need stay out of it, checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

from tests.support import REPO


def modules_after(code: str) -> set[str]:
    """The modules loaded in a fresh interpreter after ``code`` ran."""
    done = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(*sys.modules)"],
                          cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    return set(done.stdout.split())


def test_dialling_a_device_by_address_or_ascii_name_needs_no_idna_codec():
    # Text handed to getaddrinfo goes through the "idna" codec (stringprep, unicodedata:
    # 0.8 MB in every actor); an ASCII host goes as bytes.
    loaded = modules_after(
        "import socket\n"
        "from oscar.device_socket import dial, dial_udp\n"
        "server = socket.create_server(('127.0.0.1', 0))\n"
        "port = server.getsockname()[1]\n"
        "dial('127.0.0.1', port).close()\n"
        "dial('localhost', port).close()\n"
        "dial_udp('127.0.0.1', port).close()\n")
    assert "encodings.idna" not in loaded and "unicodedata" not in loaded


def test_a_non_ascii_host_name_still_goes_through_idna():
    loaded = modules_after(
        "from oscar.device_socket import dial\n"
        "try:\n"
        "    dial('b\\u00fchne.invalid', 9)\n"
        "except OSError:\n"
        "    pass  # does not resolve: only its encoding matters here\n")
    assert "encodings.idna" in loaded


def test_the_actor_module_loads_no_ctypes():
    # The death signal comes from our supervisord (tests/unit/test_death_signal.py); elsewhere
    # the lifeline imports ctypes when it starts, not the actor's module.
    assert "ctypes" not in modules_after("import oscar.processes.device_actor")
