"""``oscar info`` and ``oscar service install|uninstall|status`` (the CLI side of oscar.info and
oscar.service)."""

from __future__ import annotations

import argparse
import sys

EXIT_USAGE = 2


def add_parsers(sub: argparse._SubParsersAction) -> None:
    info = sub.add_parser("info", help="where this Oscar keeps everything: home, config file, "
                                       "ports, endpoints, logs, versions (Oscar need not run)")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")

    service = sub.add_parser("service", help="start Oscar at boot: systemd unit (Linux) or "
                                             "launchd job (macOS)")
    ssub = service.add_subparsers(dest="action", required=True, metavar="ACTION")
    install = ssub.add_parser("install", help="write and start the service (system-wide: run as "
                                              "root; --user: for you only)")
    uninstall = ssub.add_parser("uninstall", help="stop and remove the service (Oscar's data "
                                                  "stays)")
    status = ssub.add_parser("status", help="is the service installed and running")
    for parser in (install, uninstall, status):
        parser.add_argument("--user", action="store_true",
                            help="your own service (systemd --user / launch agent) instead of "
                                 "the system one")
    for parser in (install, uninstall):
        parser.add_argument("--dry-run", action="store_true",
                            help="print what would be written and run; change nothing")
    install.add_argument("--run-as", default="", metavar="USER",
                         help="system service: the account Oscar runs as (default: a "
                              "dedicated account 'oscar' on Linux when it can reach this "
                              "Python, else the user who ran sudo)")


def run_service(args: argparse.Namespace) -> int:
    from oscar import service

    try:
        plan = service.plan(user_scope=args.user, run_as=getattr(args, "run_as", ""),
                            require_root=args.action != "status"
                            and not getattr(args, "dry_run", False))
        if args.action == "install":
            return service.install(plan, dry_run=args.dry_run)
        if args.action == "uninstall":
            return service.uninstall(plan, dry_run=args.dry_run)
        return service.status(plan)
    except service.ServiceError as exc:
        print(f"oscar: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PermissionError as exc:
        print(f"oscar: {exc.strerror}: {exc.filename} (a system service needs root; or use "
              "--user)", file=sys.stderr)
        return EXIT_USAGE


def run_info(settings, args: argparse.Namespace) -> int:
    from oscar import info

    return info.run_cli(settings, args.json)
