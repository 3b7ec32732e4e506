"""Oscar's web UI: Flask pages and a JSON API, talking only to the registry over ZeroMQ."""

from oscar.web.app import create_app

__all__ = ["create_app"]
