"""Connection states an actor reports. Imports nothing, so every module can use it."""

CONNECTING = "connecting"
CONNECTED = "connected"
WAITING = "waiting"  # waiting to retry after a failed connect or a drop
DISABLED = "disabled"
STOPPED = "stopped"  # actor shutting down
# Not reported by actors; the registry derives it when no actor status is known.
NOT_RUNNING = "actor not running"

ALL = (CONNECTING, CONNECTED, WAITING, DISABLED, STOPPED, NOT_RUNNING)
