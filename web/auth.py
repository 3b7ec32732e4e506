"""Who may use the web UI: optional admin password (session login) or API token, CSRF on every
form, and a Host check so a web page elsewhere cannot reach a localhost-only Oscar through DNS
rebinding while no password is set."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from oscar.web.login_limit import LoginLimiter
from oscar.web_auth import AuthConfig, AuthFile, AuthFileError

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)

LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
OPEN_ENDPOINTS = {"auth.login", "static"}  # reachable without logging in


class AuthFailure(Exception):
    """A request refused before it reached a view; ``status`` and ``message`` say why."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


def auth_file() -> AuthFile:
    return current_app.extensions["oscar"].auth


def csrf_token() -> str:
    """The session's CSRF token (created on first use); every form carries it."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def is_api() -> bool:
    return request.path.startswith("/api/")


def _host_allowed() -> bool:
    bind = current_app.extensions["oscar"].settings.web_host
    if bind not in LOOPBACK_NAMES:
        return True  # served on the network on purpose: the operator should set a password
    host = urlsplit(f"//{request.host}").hostname or ""
    return host in LOOPBACK_NAMES


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _authenticate(config: AuthConfig) -> None:
    token = _bearer_token()
    g.via_token = bool(token) and config.check_token(token)
    if token and not g.via_token:
        raise AuthFailure(401, "the API token is not valid (oscar web new-token makes one)")
    logged_in = bool(config.epoch) and session.get("auth_epoch") == config.epoch
    g.logged_in = config.password_required and logged_in
    if g.via_token or not config.password_required or logged_in:
        return
    if request.endpoint in OPEN_ENDPOINTS:
        return
    raise AuthFailure(401, "log in first (or send an API token)")


def _check_csrf() -> None:
    if request.method not in UNSAFE_METHODS or g.via_token:
        return
    if is_api():
        # A cross-site page can only send a POST without a CORS preflight (which this server
        # never approves) if it is not JSON; so a JSON content type shows it is not forged.
        # PUT, PATCH and DELETE always need the preflight.
        if request.method == "POST" and not request.is_json:
            raise AuthFailure(415, "send API changes with Content-Type: application/json")
        return
    sent = request.form.get("csrf_token", "")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        raise AuthFailure(400, "this form expired or came from another site; reload the page "
                               "and submit it again")


def check_request() -> None:
    if not _host_allowed():
        raise AuthFailure(400, f"host {request.host!r} not allowed: use 127.0.0.1 or localhost")
    try:
        config = auth_file().load()
    except AuthFileError as exc:
        log.error("%s", exc)
        raise AuthFailure(503, f"{exc}; fix or remove it (oscar web clear-password)") from None
    g.auth = config
    _authenticate(config)
    _check_csrf()


def init_app(app: Flask) -> None:
    app.extensions["login_limiter"] = LoginLimiter()
    app.before_request(check_request)
    app.jinja_env.globals["csrf_token"] = csrf_token


def _safe_next(target: str) -> str:
    """Only same-site paths, so the login page cannot be used to redirect elsewhere."""
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc:
        return url_for("views.devices")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    config: AuthConfig = g.auth
    target = _safe_next(request.values.get("next", ""))
    if not config.password_required:
        return redirect(target)
    error = ""
    if request.method == "POST":
        limiter: LoginLimiter = current_app.extensions["login_limiter"]
        client = request.remote_addr or "unknown"
        wait = limiter.retry_after(client)
        if wait:  # refused before the password is even checked; not logged again (flood)
            return (render_template("login.html", next=target,
                                    error=f"Too many attempts, try again in {wait} s."),
                    429, {"Retry-After": str(wait)})
        if config.check_password(request.form.get("password", "")):
            limiter.succeeded(client)
            session.clear()
            session.permanent = True
            session["auth_epoch"] = config.epoch
            log.info("web login from %s", client)
            return redirect(target)
        limiter.failed(client)
        if limiter.retry_after(client):
            log.warning("failed web login from %s; further attempts refused for %d s",
                        client, limiter.retry_after(client))
        else:
            log.warning("failed web login from %s", client)
        error = "Wrong password."
    return render_template("login.html", error=error, next=target), 401 if error else 200


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("auth.login"))

