"""supervisord program oscar-web: the Flask UI served by waitress (a real WSGI server).

Talks to the registry only (REQ with a short timeout per request); runs and answers, with a
"registry not reachable" banner, while the registry is down.
"""

from __future__ import annotations

import logging
import signal
import sys

import waitress

from oscar import logsetup
from oscar import settings as settings_mod
from oscar.lifeline import follow_parent
from oscar.web import create_app
from oscar.web_auth import AuthFileError

log = logging.getLogger("oscar.web")
THREADS = 8  # each page and each browser's once-a-second poll holds a thread for one request


def _stop(*_: object) -> None:
    raise SystemExit(0)  # waitress's run loop catches it, closes its sockets and returns


def run() -> int:
    try:
        settings = settings_mod.load()
        app = create_app(settings)
    except (settings_mod.SettingsError, AuthFileError) as exc:
        log.error("%s", exc)
        return 2
    try:
        server = waitress.create_server(app, host=settings.web_host, port=settings.web_port,
                                        threads=THREADS, ident="oscar-web")
    except OSError as exc:
        log.error("cannot serve the web UI on %s:%d: %s (set OSCAR_WEB_PORT)",
                  settings.web_host, settings.web_port, exc)
        return 1
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    follow_parent("oscar-web")  # SIGTERM when supervisord dies, even by kill -9
    log.info("web UI on http://%s:%d/", settings.web_host, settings.web_port)
    server.run()
    log.info("web UI stopped")
    return 0


def main() -> int:
    logsetup.configure("oscar-web")
    return run()


if __name__ == "__main__":
    sys.exit(main())
