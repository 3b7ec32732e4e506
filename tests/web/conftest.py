"""The Flask app under its test client, against a real registry process over real ZeroMQ.

The registry runs without supervisord here (so device actors never start: rows show "actor not
running" and restarts fail with a supervisord error, as they would with supervisord down).
Each test module gets its own registry and OSCAR_HOME; tests use their own device names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from oscar import settings as settings_mod
from oscar.client import RegistryClient
from oscar.web import create_app
from tests.support import REPO, free_port, wait_for


@pytest.fixture(scope="module")
def settings():
    home = Path(tempfile.mkdtemp(prefix="oscw-", dir="/tmp"))
    env = {"OSCAR_HOME": str(home), "OSCAR_OSC_HOST": "127.0.0.1",
           "OSCAR_OSC_PORT": str(free_port()), "OSCAR_WEB_PORT": str(free_port())}
    loaded = settings_mod.load(env)
    log = open(home / "registry.out", "w")
    proc = subprocess.Popen([sys.executable, "-m", "oscar.processes.registry"],
                            env={**_base_env(), **env}, cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT)
    client = RegistryClient(loaded, timeout=1.0, retries=0)
    try:
        wait_for(lambda: client.call("ping"), timeout=15, message="registry to answer")
        yield loaded
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OSCAR_")}


@pytest.fixture(scope="module")
def registry(settings):
    """A client for arranging and checking registry state directly."""
    client = RegistryClient(settings, timeout=2.0, retries=0)
    yield client
    client.close()


@pytest.fixture
def app(settings):
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()
