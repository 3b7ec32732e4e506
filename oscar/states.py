"""Connection states an actor reports. Imports nothing, so every module can use it."""

CONNECTING = "connecting"  # TCP connect under way
CONNECTED = "connected"  # TCP up, logging in (greeting, prompt, challenge; on_connect next)
READY = "ready"  # logged in, on_connect written: commands flow (a UDP device is always ready)
AUTH_FAILED = "auth_failed"  # the device refused the login; waiting to retry (backoff)
WAITING = "waiting"  # waiting to retry after a failed connect or a drop
IDLE = "idle"  # on-demand or per-command: no connection open by design; a command opens one
DISABLED = "disabled"
STOPPED = "stopped"  # actor shutting down
# Not reported by actors; the registry derives it when no actor status is known.
NOT_RUNNING = "actor not running"

ALL = (CONNECTING, CONNECTED, READY, AUTH_FAILED, WAITING, IDLE, DISABLED, STOPPED, NOT_RUNNING)
# Commands flow (or would, at once): what /oscar/check and the summaries count as ok.
OK = (READY, IDLE)
# Waiting for the next attempt after a failure (next_retry_at is set).
RETRYING = (WAITING, AUTH_FAILED)
