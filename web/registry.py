"""Registry access for request handlers.

waitress runs handlers in threads and a ZeroMQ REQ socket is not thread-safe, so every call gets
its own short-lived client. Timeouts are short and nothing is retried here: a page must show
"registry not answering" within a second or two rather than hang, and a change (add, import) must
never be sent twice. The browser-side polling is what retries.
"""

from __future__ import annotations

import logging
from typing import Any

from oscar.client import RegistryClient, RegistryError, RegistryUnavailable
from oscar.settings import Settings

log = logging.getLogger(__name__)

PAGE_TIMEOUT = 1.5
# Restarting an actor waits for supervisord to stop and start it (startsecs=1 and more).
SLOW_OPS = {"restart": 15.0, "import": 10.0}

# Registry error code -> HTTP status. Registry-side failures are 502: the web UI itself is fine.
HTTP_STATUS = {"invalid": 400, "bad_request": 400, "not_found": 404, "disabled": 409,
               "supervisor": 502, "internal": 502}

__all__ = ["Registry", "RegistryError", "RegistryUnavailable", "HTTP_STATUS", "http_status"]


def http_status(error: RegistryError) -> int:
    return HTTP_STATUS.get(error.code, 502)


class Registry:
    def __init__(self, settings: Settings, timeout: float = PAGE_TIMEOUT):
        self.settings = settings
        self.timeout = timeout

    def call(self, op: str, **args: Any) -> Any:
        timeout = max(self.timeout, SLOW_OPS.get(op, 0.0))
        client = RegistryClient(self.settings, timeout=timeout, retries=0)
        try:
            return client.call(op, **args)
        except RegistryUnavailable:
            log.warning("registry did not answer %s within %.1fs", op, timeout)
            raise
        finally:
            client.close()

    def ping(self) -> dict[str, Any] | None:
        """The registry's ping answer, or None when it does not answer."""
        try:
            return self.call("ping")
        except RegistryUnavailable:
            return None
