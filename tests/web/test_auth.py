"""The optional admin password, API tokens, session cookies, and `oscar web ...`."""

from __future__ import annotations

import json
import stat
import subprocess
import sys

import pytest

from oscar.web_auth import AuthFile, AuthFileError
from tests.support import REPO
from tests.web.helpers import csrf_token, text_of

PASSWORD = "front-of-house"


@pytest.fixture
def auth(settings):
    """The auth file the app reads; every test starts and ends with no password and no token."""
    auth = AuthFile.for_home(settings.home)
    auth.clear_password()
    auth.clear_token()
    yield auth
    auth.clear_password()
    auth.clear_token()


def login(client, password: str = PASSWORD, next_path: str = "/"):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"csrf_token": token, "password": password,
                                       "next": next_path})


def test_no_password_means_no_login(client, auth):
    assert client.get("/").status_code == 200
    assert client.get("/api/devices").status_code == 200


def test_password_file_holds_only_a_hash_and_is_private(auth):
    auth.set_password(PASSWORD)
    text = auth.path.read_text()
    assert PASSWORD not in text
    assert json.loads(text)["password_hash"].startswith(("scrypt:", "pbkdf2:"))
    assert stat.S_IMODE(auth.path.stat().st_mode) == 0o600
    with pytest.raises(ValueError, match="at least 8"):
        auth.set_password("short")


def test_once_a_password_is_set_everything_needs_a_login(client, auth):
    assert client.get("/").status_code == 200
    auth.set_password(PASSWORD)  # as `oscar web set-password` would, while the app runs
    page = client.get("/activity")
    assert page.status_code == 302 and page.headers["Location"] == "/login?next=/activity"
    api = client.get("/api/status")
    assert api.status_code == 401 and api.get_json()["code"] == "unauthorized"
    assert client.post("/devices/new", data={}).status_code == 302  # to the login page
    assert client.get("/static/style.css").status_code == 200  # the login page needs it


def test_wrong_password_then_right_one(client, auth):
    auth.set_password(PASSWORD)
    wrong = login(client, "not-the-password")
    assert wrong.status_code == 401
    assert text_of(wrong.get_data(as_text=True), "password-error") == "Wrong password."
    right = login(client, next_path="/system")
    assert right.status_code == 302 and right.headers["Location"] == "/system"
    assert client.get("/system").status_code == 200
    assert client.get("/api/status").status_code == 200


def test_session_cookie_is_httponly_and_samesite(client, auth):
    auth.set_password(PASSWORD)
    response = login(client)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("oscar_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_login_does_not_redirect_off_site(client, auth):
    auth.set_password(PASSWORD)
    response = login(client, next_path="//evil.example/steal")
    assert response.headers["Location"] == "/"


def test_changing_the_password_ends_old_sessions(client, auth):
    auth.set_password(PASSWORD)
    login(client)
    assert client.get("/").status_code == 200
    auth.set_password("a-new-password")
    assert client.get("/").status_code == 302


def test_logout(client, auth):
    auth.set_password(PASSWORD)
    login(client)
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_api_token(client, auth):
    auth.set_password(PASSWORD)
    token = auth.new_token()
    assert token not in auth.path.read_text()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/devices", headers=headers).status_code == 200
    # a token is not a browser session: no CSRF token or JSON content type needed
    added = client.post("/api/devices/nobody/enable", headers=headers)
    assert added.status_code == 404
    bad = client.get("/api/devices", headers={"Authorization": "Bearer wrong"})
    assert bad.status_code == 401 and "not valid" in bad.get_json()["error"]
    auth.new_token()  # replaces the old one
    assert client.get("/api/devices", headers=headers).status_code == 401


def test_unreadable_auth_file_refuses_every_request(client, auth):
    auth.path.write_text("{ not json")
    try:
        response = client.get("/")
        assert response.status_code == 503
        assert "cannot read" in response.get_data(as_text=True)
        with pytest.raises(AuthFileError):
            auth.load()
    finally:
        auth.path.unlink()


def test_cli_set_password_and_clear_password(settings, client, auth):
    env = {"OSCAR_HOME": str(settings.home), "PATH": "/usr/bin:/bin"}

    def oscar(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "oscar.cli", "web", *args], input=stdin,
                              env=env, cwd=REPO, capture_output=True, text=True, timeout=30)

    result = oscar("set-password", "--stdin", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert client.get("/").status_code == 302
    assert login(client).status_code == 302 and client.get("/").status_code == 200

    short = oscar("set-password", "--stdin", stdin="abc\n")
    assert short.returncode == 2 and "at least 8 characters" in short.stderr

    token = oscar("new-token")
    assert token.returncode == 0
    headers = {"Authorization": f"Bearer {token.stdout.strip()}"}
    assert client.get("/api/devices", headers=headers).status_code == 200

    assert oscar("clear-password").returncode == 0
    assert client.get("/").status_code == 200


def test_failed_logins_are_limited_per_client(app, auth):
    auth.set_password(PASSWORD)
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    for _ in range(5):
        assert login(attacker, "guess").status_code == 401
    refused = login(attacker, "guess")
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert text_of(refused.get_data(as_text=True), "password-error") == \
        f"Too many attempts, try again in {wait} s."
    # even the right password is refused while the limit holds: it is what stops guessing
    assert login(attacker).status_code == 429
    assert attacker.get("/").status_code == 302
    # another client is not locked out
    operator = app.test_client()
    operator.environ_base["REMOTE_ADDR"] = "192.0.2.8"
    assert login(operator, "typo").status_code == 401
    assert login(operator).status_code == 302 and operator.get("/").status_code == 200


def test_the_limit_lifts_when_the_failures_age_out(app, auth):
    auth.set_password(PASSWORD)
    limiter = app.extensions["login_limiter"]
    now = [1000.0]
    limiter.clock = lambda: now[0]
    client = app.test_client()
    for _ in range(5):
        login(client, "guess")
    assert login(client).status_code == 429
    now[0] += 59.0
    refused = login(client)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    now[0] += 1.0
    assert login(client).status_code == 302
