"""CURVE key files: made private, read back, refused clearly when missing or damaged."""

from __future__ import annotations

import stat

import pytest
import zmq
from hypothesis import given, settings
from hypothesis import strategies as st

from oscar import keys
from oscar import settings as settings_mod


def _settings(home, **env):
    return settings_mod.load({"OSCAR_HOME": str(home), **env})


def test_make_writes_private_key_pairs_that_load_back(tmp_path):
    paths = keys.make(tmp_path)
    assert [p.name for p in paths] == ["server.key", "client.key"]
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in paths)
    loaded = keys.load(tmp_path)
    assert loaded.server.public == zmq.curve_public(loaded.server.secret)
    assert loaded.client.public == zmq.curve_public(loaded.client.secret)
    assert loaded.server != loaded.client


def test_existing_keys_are_replaced_only_with_force(tmp_path):
    keys.make(tmp_path)
    first = keys.load(tmp_path)
    with pytest.raises(FileExistsError, match="--force"):
        keys.make(tmp_path)
    keys.make(tmp_path, force=True)
    assert keys.load(tmp_path) != first


def test_ipc_endpoints_need_no_keys_tcp_ones_do(tmp_path):
    keys.check(_settings(tmp_path))  # the default: ipc://, nothing to do
    tcp = _settings(tmp_path, OSCAR_EVENTS_ENDPOINT="tcp://127.0.0.1:5999")
    with pytest.raises(keys.KeysMissing, match="oscar keys"):
        keys.check(tcp)
    keys.make(tmp_path)
    keys.check(tcp)


def test_damaged_key_file_is_refused_with_its_name(tmp_path):
    keys.make(tmp_path)
    (tmp_path / "keys" / "client.key").write_text('public = "short"\nsecret = "short"\n')
    keys.load.cache_clear()
    with pytest.raises(keys.KeysMissing, match="client.key"):
        keys.load(tmp_path)


def test_sockets_are_secured_only_for_tcp(tmp_path):
    keys.make(tmp_path)
    ctx = zmq.Context()
    plain, server, client = ctx.socket(zmq.PULL), ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
    try:
        keys.secure(plain, "ipc:///tmp/x.sock", tmp_path, server=True)
        keys.secure(server, "tcp://127.0.0.1:5999", tmp_path, server=True)
        keys.secure(client, "tcp://127.0.0.1:5999", tmp_path, server=False)
        assert plain.get(zmq.MECHANISM) == zmq.NULL
        assert server.get(zmq.MECHANISM) == zmq.CURVE and server.get(zmq.CURVE_SERVER) == 1
        assert client.get(zmq.MECHANISM) == zmq.CURVE and client.get(zmq.CURVE_SERVER) == 0
    finally:
        for sock in (plain, server, client):
            sock.close(linger=0)
        ctx.term()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_key_file_text_loads_or_is_refused_as_missing(tmp_path_factory, text):
    home = tmp_path_factory.mktemp("home")
    (home / "keys").mkdir()
    for name in ("server.key", "client.key"):
        (home / "keys" / name).write_text(text)
    try:
        keys.load(home)
    except keys.KeysMissing:
        pass
