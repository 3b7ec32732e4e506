"""The device's dialect fields through the real `oscar` command under supervisord: every option,
the password kept out of output, logs and activity, and export/import with and without
--with-secrets."""

from __future__ import annotations

import json
import stat
import subprocess
import sys

from tests.support import REPO, wait_for

SECRET = "Pj-L1nk-s3cret"
OTHER = "typed-on-stdin-9"


def cli_with_input(oscar, text: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "oscar.cli", *args], cwd=REPO, env=oscar.env,
                          input=text, capture_output=True, text=True, timeout=30)


def secret_in_logs(oscar, secret: str) -> list[str]:
    found = []
    for path in oscar.home.rglob("*"):
        if path.is_file() and path.suffix in (".log", ".out") and \
                secret in path.read_text(errors="replace"):
            found.append(str(path))
    return found


def test_every_option_and_the_password_never_shown(oscar, device, tmp_path):
    added = oscar.cli(
        "device", "add", "pj", "127.0.0.1", "--profile", "pjlink", "--password", SECRET,
        "--username", "admin1", "--on-connect", "%1POWR?", "--on-connect", "%1INPT?\\r",
        "--min-gap", "0.1", "--keepalive", "%1POWR?", "--keepalive-interval", "20",
        "--reply-timeout", "2", "--reply-terminator", "\\r", "--idle-close", "12",
        "--no-wait-for-reply", "--disabled")
    assert added.returncode == 0, added.stderr
    assert "(127.0.0.1:4352)" in added.stdout  # the profile's port
    got = oscar.call("get", name="pj")
    assert (got["profile"], got["port"], got["connection"], got["idle_close"]) == (
        "pjlink", 4352, "on-demand", 12.0)
    assert got["on_connect"] == ["%1POWR?", "%1INPT?\\r"]
    assert (got["min_gap"], got["keepalive"], got["keepalive_interval"], got["reply_timeout"],
            got["reply_terminator"], got["wait_for_reply"], got["username"]) == (
        0.1, "%1POWR?", 20.0, 2.0, "\\r", False, "admin1")
    assert got["password_set"] is True and "password" not in got

    shown = oscar.cli("device", "show", "pj")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert any(line.split() == ["password", "set"] for line in lines), shown.stdout
    assert any(line.split() == ["on_connect", "%1POWR?"] for line in lines)
    assert any(line.split() == ["%1INPT?\\r"] for line in lines)  # the next command, own line
    listing = oscar.cli("device", "list").stdout.splitlines()
    header = listing[0].split()
    assert header[-4:] == ["PROFILE", "LINK", "PASSWORD", "TAGS"]
    assert "pjlink" in listing[1] and "tcp on-demand 12s" in listing[1]
    assert listing[1].split()[-2:] == ["set", "-"]

    # edits: the transport/connection options, clearing on_connect, asking for the password
    edited = oscar.cli("device", "edit", "pj", "--transport", "udp", "--connection",
                       "per-command", "--no-on-connect", "--wait-for-reply")
    assert edited.returncode == 0, edited.stderr
    got = oscar.call("get", name="pj")
    assert (got["transport"], got["connection"], got["on_connect"], got["wait_for_reply"]) == (
        "udp", "per-command", [], True)
    asked = cli_with_input(oscar, OTHER + "\n", "device", "edit", "pj", "--ask-password")
    assert asked.returncode == 0, asked.stderr
    assert OTHER not in asked.stdout + asked.stderr
    secrets = oscar.call("export", with_secrets=True)
    assert [d["password"] for d in secrets["devices"]] == [OTHER]
    cleared = oscar.cli("device", "edit", "pj", "--clear-password")
    assert cleared.returncode == 0 and oscar.call("get", name="pj")["password_set"] is False
    empty = cli_with_input(oscar, "", "device", "edit", "pj", "--ask-password")
    assert empty.returncode == 2 and "no password on standard input" in empty.stderr
    both = oscar.cli("device", "edit", "pj", "--password", "x", "--clear-password")
    assert both.returncode == 2  # argparse: not allowed together

    refused = oscar.cli("device", "edit", "pj", "--connection", "sometimes")
    assert refused.returncode == 2
    assert "connection: must be one of persistent, per-command, on-demand" in refused.stderr
    unknown = oscar.cli("device", "add", "x1", "127.0.0.1", "--profile", "barco")
    assert unknown.returncode == 2 and "use one of: generic, pjlink" in unknown.stderr
    no_port = oscar.cli("device", "add", "x2", "127.0.0.1")
    assert no_port.returncode == 2 and "port: required" in no_port.stderr

    assert secret_in_logs(oscar, OTHER) == []
    # the search does look in the logs: the registry logged the device (username included)
    assert secret_in_logs(oscar, "admin1")


def test_a_running_device_with_a_password_never_shows_it(oscar, device):
    """Status, activity and every log of a live system (registry, listener, actor, web)."""
    oscar.add_device("live", device.port, password=SECRET, on_connect=["hello"])
    oscar.wait_state("live", "ready")
    wait_for(lambda: b"hello" in device.lines(), timeout=10, message="on_connect at the device")
    oscar.cli("device", "edit", "live", "--password", SECRET + "2")  # the actor gets the change
    wait_for(lambda: oscar.device_status("live")["state"] == "ready", timeout=15,
             message="live ready again")
    shown = (oscar.cli("status", "--json").stdout + oscar.cli("activity", "--json").stdout
             + oscar.cli("device", "show", "live").stdout + oscar.cli("device", "list").stdout)
    assert SECRET not in shown
    assert secret_in_logs(oscar, SECRET) == []


def test_export_with_and_without_secrets_then_import(oscar, tmp_path):
    oscar.call("add", device={"name": "pj", "host": "127.0.0.1", "profile": "pjlink",
                              "password": SECRET, "enabled": False})
    oscar.call("add", device={"name": "plain", "host": "127.0.0.1", "port": 9,
                              "on_connect": ["a", "b\\r"], "enabled": False})
    plain_file, secret_file = tmp_path / "plain.json", tmp_path / "secret.json"

    assert oscar.cli("export", str(plain_file)).returncode == 0
    plain = json.loads(plain_file.read_text())
    assert SECRET not in plain_file.read_text() and plain["secrets"] is False
    written = oscar.cli("export", str(secret_file), "--with-secrets")
    assert written.returncode == 0 and "keep it private" in written.stdout
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert json.loads(secret_file.read_text())["devices"][0]["password"] == SECRET
    assert SECRET in oscar.cli("export", "--with-secrets").stdout  # to stdout, asked for

    imported = oscar.cli("import", str(plain_file))
    assert imported.returncode == 0, imported.stderr
    assert "without their passwords" in imported.stdout and "pj" in imported.stdout
    assert oscar.call("get", name="pj")["password_set"] is False  # none in the file
    assert oscar.call("get", name="plain")["on_connect"] == ["a", "b\\r"]

    restored = oscar.cli("import", str(secret_file))
    assert restored.returncode == 0 and "without their passwords" not in restored.stdout
    assert oscar.call("get", name="pj")["password_set"] is True
    assert oscar.call("export", with_secrets=True)["devices"][0]["password"] == SECRET
    assert secret_in_logs(oscar, SECRET) == []
