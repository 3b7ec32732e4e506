"""The Flask app factory: settings, registry access, auth, pages, API, error pages."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from oscar import __version__
from oscar import settings as settings_mod
from oscar.settings import Settings
from oscar.web import api, auth, views
from oscar.web.registry import (
    PAGE_TIMEOUT,
    Registry,
    RegistryError,
    RegistryUnavailable,
    http_status,
)
from oscar.web_auth import AuthFile

log = logging.getLogger(__name__)

# No inline script or style anywhere, so the policy can forbid them: even if some text slipped
# past escaping, a browser would not run it.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@dataclass
class WebContext:
    """What every request handler needs, kept in ``app.extensions["oscar"]``."""

    settings: Settings
    registry: Registry
    auth: AuthFile
    started_at: float


def create_app(settings: Settings | None = None, registry_timeout: float = PAGE_TIMEOUT) -> Flask:
    settings = settings or settings_mod.load()
    auth_file = AuthFile.for_home(settings.home)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=auth_file.ensure_secret().secret_key,
        SESSION_COOKIE_NAME="oscar_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=16),  # a show day, not forever
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,  # import files are a few kB
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the registry's order
    app.extensions["oscar"] = WebContext(settings, Registry(settings, registry_timeout),
                                         auth_file, time.time())
    auth.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    _register_errors(app)
    app.after_request(_security_headers)
    app.jinja_env.globals["oscar_version"] = __version__
    return app


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.path.startswith("/api/") or request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _error(status: int, message: str, code: str = "", fields: dict | None = None):
    """One error answer: JSON under /api/, a page elsewhere."""
    if auth.is_api():
        return jsonify(error=message, code=code or str(status), fields=fields or {}), status
    return render_template("error.html", status=status, message=message), status


def _register_errors(app: Flask) -> None:
    @app.errorhandler(auth.AuthFailure)
    def refused(exc: auth.AuthFailure):
        if exc.status == 401 and not auth.is_api():
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return _error(exc.status, exc.message, "unauthorized" if exc.status == 401 else "")

    @app.errorhandler(RegistryUnavailable)
    def registry_down(exc: RegistryUnavailable):
        if auth.is_api():
            return _error(503, str(exc), "registry_unavailable")
        return render_template("error.html", status=503, registry_down=str(exc),
                               message="The page could not load; it retries by itself."), 503

    @app.errorhandler(RegistryError)
    def registry_refused(exc: RegistryError):
        return _error(http_status(exc), str(exc), exc.code, exc.fields)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _error(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("%s %s failed", request.method, request.path)
        return _error(500, f"internal error: {exc.__class__.__name__}; see the oscar-web log")
