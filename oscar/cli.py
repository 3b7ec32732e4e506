"""The ``oscar`` command."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from oscar import (
    cli_device,
    cli_feedback,
    cli_format,
    cli_history,
    cli_install,
    cli_profiles,
    web_auth,
)
from oscar import settings as settings_mod
from oscar.client import RegistryClient, RegistryError, RegistryNotRunning, RegistryUnavailable

# Exit codes (README "Exit codes"); `oscar send` uses the same numbers (oscar/osc_send.py).
EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2  # bad usage or invalid input (argparse uses 2 too)
EXIT_NOT_RUNNING = 3  # Oscar not running or not answering
EXIT_NOT_FOUND = 4
EXIT_REFUSED = 5
EXIT_BY_CODE = {"invalid": EXIT_USAGE, "bad_request": EXIT_USAGE, "not_found": EXIT_NOT_FOUND,
                "disabled": EXIT_REFUSED}

DEVICE_OPTIONS = {  # option -> (record field, help)
    "--terminator": ("terminator", "bytes after each command, with escapes (default \\r)"),
    "--encoding": ("encoding", "text encoding of commands (default utf-8; the list is in "
                               "README.md, e.g. ascii, latin-1, cp1252, utf-16-le, shift_jis)"),
    "--ttl": ("ttl", "seconds a command may wait in Oscar (device down, actor restarting, "
                     "device not reading) and still be sent; an older one is dropped, not "
                     "sent. Holds to the wire: a command the device has not taken within TTL "
                     "is dropped and its connection reset, so a cue fires at most TTL late "
                     "(default 10)"),
    "--backoff-min": ("backoff_min", "first reconnect delay in seconds (default 0.5)"),
    "--backoff-max": ("backoff_max", "longest reconnect delay in seconds (default 10)"),
    "--tags": ("tags", "groups for /group/TAG/... cues, comma-separated (e.g. proj,stage-left; "
                       "'' for none)"),
}


def _device_options(parser: argparse.ArgumentParser) -> None:
    for option, (field, help_text) in DEVICE_OPTIONS.items():
        parser.add_argument(option, dest=field, help=help_text)


def build_parser() -> argparse.ArgumentParser:
    from oscar.info import version

    parser = argparse.ArgumentParser(prog="oscar", description="OSC to raw TCP bridge.")
    parser.add_argument("--version", action="version", version=f"oscar {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="start Oscar: supervisord in the foreground with everything")
    run.add_argument("--daemon", action="store_true",
                     help="start it detached (pid file $OSCAR_HOME/run/supervisord.pid, output "
                          "in logs/oscar-run.log) and return once it answers")
    sub.add_parser("stop", help="stop the Oscar running for this OSCAR_HOME (orphans too)")
    keys = sub.add_parser("keys", help="make the CURVE keys tcp:// endpoints need "
                                       "($OSCAR_HOME/keys/)")
    keys.add_argument("--force", action="store_true", help="replace existing keys")
    ctl = sub.add_parser("ctl", help="supervisorctl for this OSCAR_HOME (e.g. oscar ctl status)")
    ctl.add_argument("args", nargs=argparse.REMAINDER,
                     help="supervisorctl command and arguments (default: status)")

    device = sub.add_parser("device", help="add, edit, remove, enable, disable, list devices")
    dsub = device.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = dsub.add_parser("add", help="add a device")
    add.add_argument("name", help="device name, used in OSC addresses (/device/NAME/...): "
                                  "letters, digits, _ . - (up to 64)")
    add.add_argument("host", help="the device's IP address or host name")
    add.add_argument("port", nargs="?", help="the device's TCP port (1-65535; the UDP port "
                                             "with --transport udp); optional with a "
                                             "--profile that sets one")
    _device_options(add)
    cli_device.add_options(add, edit=False)
    add.add_argument("--disabled", action="store_true", help="add it disabled")
    edit = dsub.add_parser("edit", help="change fields of a device")
    edit.add_argument("name", help="the device to change")
    edit.add_argument("--host", help="new IP address or host name")
    edit.add_argument("--port", help="new TCP or UDP port (1-65535)")
    _device_options(edit)
    cli_device.add_options(edit, edit=True)
    for action in ("remove", "enable", "disable", "show"):
        one = dsub.add_parser(action, help=f"{action} a device")
        one.add_argument("name", help=f"the device to {action}")
        if action == "show":
            _json_option(one)
    _json_option(dsub.add_parser("list", help="list devices and their settings"))

    status = sub.add_parser("status", help="live status table (totals count since the device was "
                                           "added or the last --reset)")
    status.add_argument("name", nargs="?", default="", help="only this device (default: all)")
    status.add_argument("--reset", metavar="NAME", default="",
                        help="zero NAME's totals (sent, dropped, replies, connects), then show it")
    _json_option(status)

    restart = sub.add_parser("restart", help="restart a device's actor process")
    restart.add_argument("name", help="the device whose actor to restart")

    cli_history.add_parser(sub)  # oscar activity
    cli_feedback.add_parser(sub)
    cli_profiles.add_parser(sub)  # oscar profiles: no registry needed
    cli_install.add_parsers(sub)  # oscar info, oscar service

    # Parsed by oscar.osc_send (main() hands it over): typed arguments keep their order.
    send = sub.add_parser("send", add_help=False,
                          help="send /device/NAME/message (or raw, hex, /group/...) to the "
                               "listener, like QLab, and report what it did (oscar send --help)")
    send.add_argument("args", nargs=argparse.REMAINDER)

    sim = sub.add_parser("sim-device", help="a stand-in TCP device that prints what it gets")
    sim.add_argument("port", type=int, help="TCP port to listen on")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--reply", default="", help="answer each line with this (escapes allowed)")

    export = sub.add_parser("export", help="write the device configuration as JSON")
    export.add_argument("file", nargs="?", default="-",
                        help="file to write (default -: standard output)")
    _json_option(export, "accepted for symmetry: the export is always JSON")
    export.add_argument("--with-secrets", action="store_true",
                        help="include device passwords (the file is then written mode 0600); "
                             "without it each device says only password_set, and importing "
                             "the file leaves devices without a password")
    imp = sub.add_parser("import", help="replace the device configuration from a JSON export")
    imp.add_argument("file", help="a file written by oscar export")
    imp.add_argument("--dry-run", action="store_true", help="only validate")
    web_auth.add_cli(sub)
    return parser


def _json_option(parser: argparse.ArgumentParser,
                 help_text: str = "print JSON instead of text") -> None:
    parser.add_argument("--json", action="store_true", help=help_text)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


def _fields(args: argparse.Namespace, names: list[str]) -> dict[str, Any]:
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _print_device(device: dict[str, Any]) -> None:
    cli_device.show(device)


def run_device(client: RegistryClient, args: argparse.Namespace) -> int:
    option_fields = [field for field, _ in DEVICE_OPTIONS.values()]
    if args.action == "add":
        record = {"name": args.name, "host": args.host, "port": args.port,
                  "enabled": not args.disabled, **_fields(args, option_fields),
                  **cli_device.fields_from(args)}
        if args.port is None:
            del record["port"]  # the profile's port (or "port: required")
        device = client.call("add", device=record)
        print(f"added {device['name']} ({device['host']}:{device['port']}); "
              f"its actor starts within a second: oscar status")
    elif args.action == "edit":
        changes = {**_fields(args, ["host", "port", *option_fields]),
                   **cli_device.fields_from(args)}
        if not changes:
            print("oscar: nothing to change: give --host, --port or another option",
                  file=sys.stderr)
            return EXIT_USAGE
        _print_device(client.call("update", name=args.name, changes=changes))
    elif args.action in ("remove", "enable", "disable"):
        client.call(args.action, name=args.name)
        print(f"{args.action}d {args.name}")
    elif args.action == "show":
        device = client.call("get", name=args.name)
        if args.json:
            _print_json(device)
        else:
            _print_device(device)
    else:
        devices = client.call("list")
        if args.json:
            _print_json(devices)
            return 0
        rows = [[d["name"], d["host"], d["port"], "yes" if d["enabled"] else "no",
                 d["terminator"], d["encoding"], f"{d['ttl']:g}",
                 f"{d['backoff_min']:g}-{d['backoff_max']:g}", d.get("profile", "generic"),
                 cli_device.link_text(d), "set" if d.get("password_set") else "not set",
                 ",".join(d.get("tags") or ()) or "-"] for d in devices]
        print(cli_format.table(["NAME", "HOST", "PORT", "ENABLED", "TERMINATOR", "ENCODING",
                                "TTL", "BACKOFF", "PROFILE", "LINK", "PASSWORD", "TAGS"], rows)
              if rows else "no devices")
    return 0


def run_registry_command(settings, args: argparse.Namespace) -> int:
    client = RegistryClient(settings, fail_fast=True)
    try:
        if args.command == "device":
            return run_device(client, args)
        if args.command == "status":
            if args.reset:
                row = client.call("reset", name=args.reset)
                if args.json:
                    _print_json(row)
                    return 0
                print(f"reset the totals of {args.reset}")
            status = client.call("status", name=args.reset or args.name)
            print(json.dumps(status, indent=2) if args.json else cli_format.status_table(status))
        elif args.command == "restart":
            client.call("restart", name=args.name)
            print(f"restarted oscar-device-{args.name}")
        elif args.command == "activity":
            return cli_history.run(client, args)
        elif args.command == "feedback":
            return cli_feedback.run(client, args)
        elif args.command == "export":
            data = client.call("export", with_secrets=args.with_secrets)
            text = json.dumps(data, indent=2) + "\n"
            if args.file == "-":
                sys.stdout.write(text)
            else:
                cli_device.write_export(args.file, text, private=args.with_secrets)
                print(f"exported to {args.file}"
                      + (" (with passwords: keep it private)" if args.with_secrets else ""))
        elif args.command == "import":
            return run_import(client, args)
        return 0
    except RegistryNotRunning as exc:
        print(f"oscar: {exc}. Start it with `oscar run` or `make run` "
              f"(OSCAR_HOME={settings.home}); if supervisord runs, the registry's log says "
              f"why it is not up: {settings.log_dir / 'oscar-registry.log'}.", file=sys.stderr)
        return EXIT_NOT_RUNNING
    except RegistryUnavailable as exc:
        print(f"oscar: Oscar is not answering at {settings.control} ({exc}); see "
              f"{settings.log_dir / 'oscar-registry.log'} and `oscar ctl status`.",
              file=sys.stderr)
        return EXIT_NOT_RUNNING
    except RegistryError as exc:
        print(f"oscar: {error_text(exc)}", file=sys.stderr)
        return EXIT_BY_CODE.get(exc.code, EXIT_UNEXPECTED)
    finally:
        client.close()


def error_text(exc: RegistryError) -> str:
    """The registry's message, plus the per-field messages it does not already say (once)."""
    text = str(exc)
    extra = [f"{field}: {message}" for field, message in exc.fields.items()
             if f"{field}: {message}" not in text]
    return "\n  ".join([text, *extra])


def run_import(client: RegistryClient, args: argparse.Namespace) -> int:
    try:
        with open(args.file) as handle:
            data = json.load(handle)
    except OSError as exc:
        print(f"oscar: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    except json.JSONDecodeError as exc:
        print(f"oscar: {args.file} is not JSON: {exc}", file=sys.stderr)
        return EXIT_USAGE
    result = client.call("import", data=data, dry_run=args.dry_run)
    verb = "imported" if result["applied"] else "valid, not applied:"
    print(f"{verb} {result['devices']} devices from {args.file}")
    missing = cli_device.missing_passwords(data)
    if missing:
        print(f"without their passwords (the export was made without --with-secrets): "
              f"{', '.join(missing)}; set each with oscar device edit NAME --ask-password")
    return 0


def run_send(argv: list[str]) -> int:
    """``oscar send``: exit 0 forwarded or scheduled, 5 refused, 3 no answer, 2 usage."""
    from oscar import osc_send

    try:
        request = osc_send.parse(argv)
    except osc_send.UsageError as exc:
        print(f"oscar send: {exc}", file=sys.stderr)
        return osc_send.EXIT_USAGE
    try:
        settings = settings_mod.load()
    except settings_mod.SettingsError as exc:
        print(f"oscar: {exc}", file=sys.stderr)
        return osc_send.EXIT_USAGE
    port = request.port or (settings.osc_tcp_port if request.tcp else settings.osc_udp_port)
    where = f"{request.host}:{port} ({'TCP' if request.tcp else 'UDP'})"
    try:
        receipt = osc_send.ask(request, port)
    except (OSError, osc_send.NoAnswer) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        print(f"oscar send: Oscar is not running / the listener did not answer at {where}: "
              f"{reason}. Start Oscar with `make run`; if it runs, check osc_allow "
              "(OSCAR_OSC_ALLOW) and the port.", file=sys.stderr)
        return osc_send.EXIT_NO_ANSWER
    cue = f"{request.address} {osc_send.describe(request.args)}"
    if receipt.status != "ok":
        print(f"oscar send: the listener refused {cue}: {receipt.detail}", file=sys.stderr)
        return osc_send.EXIT_REFUSED
    print(f"{cue}: {receipt.detail}")
    return osc_send.EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["send"]:
        return run_send(argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "profiles":
        return cli_profiles.run(args)
    if args.command == "service":
        return cli_install.run_service(args)
    try:
        settings = settings_mod.load()
    except settings_mod.SettingsError as exc:
        print(f"oscar: {exc}", file=sys.stderr)
        return 2
    if args.command == "run":
        if args.daemon:
            from oscar import daemon

            return daemon.start(settings)
        from oscar.launcher import run_foreground

        run_foreground(settings)
        return 0
    if args.command == "info":
        return cli_install.run_info(settings, args)
    if args.command == "stop":
        from oscar.launcher import stop

        return stop(settings)
    if args.command == "keys":
        from oscar import keys

        return keys.run_cli(settings, force=args.force)
    if args.command == "ctl":
        from oscar.launcher import run_ctl

        return run_ctl(settings, args.args or ["status"])
    if args.command == "web":
        return web_auth.run_cli(settings.home, args)
    if args.command == "sim-device":
        from oscar import escapes, sim_device

        sim_device.serve(args.port, args.host, escapes.decode(args.reply))
        return 0
    return run_registry_command(settings, args)


if __name__ == "__main__":
    sys.exit(main())
