"""CURVE keys for ZeroMQ over tcp:// (actors on another host): made by ``oscar keys``.

``ipc://`` endpoints (the default) stay on this machine and need no keys. Over ``tcp://`` every
socket that binds is a CURVE server holding the server secret key, and every socket that
connects is a CURVE client that knows the server's public key (and has a client key pair), so
the traffic is encrypted and a peer without the keys gets no answer.

Files, in ``$OSCAR_HOME/keys/`` (folder 0700, files 0600; copy the folder to every host that
runs Oscar processes for this installation):

    server.key    public = "<Z85>" / secret = "<Z85>"
    client.key    the same for the client pair
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path

import zmq
from zmq.utils import z85

NAMES = ("server", "client")


class KeysMissing(RuntimeError):
    """tcp:// endpoints are configured but the CURVE keys are missing or unreadable."""


@dataclass(frozen=True)
class KeyPair:
    public: bytes
    secret: bytes


@dataclass(frozen=True)
class Keys:
    server: KeyPair
    client: KeyPair


def keys_dir(home: Path) -> Path:
    return Path(home) / "keys"


def is_tcp(endpoint: str) -> bool:
    return endpoint.startswith("tcp://")


def tcp_endpoints(settings) -> list[str]:
    endpoints = [settings.control, settings.publish, settings.events,
                 settings.actor_endpoint("NAME")]
    return [e for e in endpoints if is_tcp(e)]


def make(home: Path, force: bool = False) -> list[Path]:
    """Write new server and client key pairs; refuses to replace existing ones unless forced
    (every host holding the old ones would stop talking)."""
    folder = keys_dir(home)
    paths = [folder / f"{name}.key" for name in NAMES]
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise FileExistsError(f"{existing[0]} exists; use --force to replace the keys")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    for path in paths:
        public, secret = zmq.curve_keypair()
        text = f'public = "{public.decode()}"\nsecret = "{secret.decode()}"\n'
        tmp = path.with_name("." + path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    load.cache_clear()
    return paths


def _pair(path: Path) -> KeyPair:
    try:
        data = tomllib.loads(path.read_text())
        public, secret = data["public"].encode(), data["secret"].encode()
    except FileNotFoundError:
        raise KeysMissing(f"{path} is missing") from None
    except (OSError, tomllib.TOMLDecodeError, KeyError, AttributeError) as exc:
        raise KeysMissing(f"{path} is unreadable: {exc}") from None
    if len(public) != 40 or len(secret) != 40:
        raise KeysMissing(f"{path}: keys must be 40 Z85 characters")
    return KeyPair(public, secret)


@functools.lru_cache(maxsize=8)
def load(home: Path) -> Keys:
    """The keys of an OSCAR_HOME; KeysMissing (saying to run ``oscar keys``) if absent."""
    folder = keys_dir(home)
    try:
        return Keys(*(_pair(folder / f"{name}.key") for name in NAMES))
    except KeysMissing as exc:
        raise KeysMissing(f"ZeroMQ over tcp:// needs CURVE keys: {exc}. Run `oscar keys` "
                          f"(OSCAR_HOME={home}) and copy {folder} to every Oscar host") from None


def check(settings) -> None:
    """Refuse early (before anything starts) when tcp:// endpoints have no keys."""
    if tcp_endpoints(settings):
        load(settings.home)


def secure(sock: zmq.Socket, endpoint: str, home: Path | None, server: bool) -> None:
    """Make ``sock`` a CURVE server (binds) or client (connects) when ``endpoint`` is tcp://.
    Must run before bind()/connect(). ``home`` None: this process's OSCAR_HOME."""
    if not is_tcp(endpoint):
        return
    if home is None:
        from oscar import settings

        home = settings.load().home
    keys = load(Path(home))
    if server:
        _start_authenticator(sock.context, keys.client.public)
        sock.zap_domain = b"oscar"
        sock.curve_secretkey = keys.server.secret
        sock.curve_publickey = keys.server.public
        sock.curve_server = True
    else:
        sock.curve_serverkey = keys.server.public
        sock.curve_publickey = keys.client.public
        sock.curve_secretkey = keys.client.secret


ZAP_ENDPOINT = "inproc://zeromq.zap.01"  # fixed by the ZeroMQ Authentication Protocol
_authenticators: dict[int, threading.Thread] = {}
_authenticators_lock = threading.Lock()


def _start_authenticator(ctx: zmq.Context, client_public: bytes) -> None:
    """Once per context: a ZAP handler that admits CURVE clients holding Oscar's client key
    (anyone else is refused during the handshake). Without it a CURVE server admits any
    client that knows the server's public key."""
    with _authenticators_lock:
        thread = _authenticators.get(id(ctx))
        if thread is not None and thread.is_alive():
            return
        handler = ctx.socket(zmq.REP)
        handler.linger = 0
        handler.bind(ZAP_ENDPOINT)
        thread = threading.Thread(target=_authenticate, args=(handler, z85.decode(
            client_public)), name="oscar-zap", daemon=True)
        _authenticators[id(ctx)] = thread
        thread.start()


def _authenticate(handler: zmq.Socket, allowed: bytes) -> None:
    # ZAP request: version, request id, domain, address, identity, mechanism, credentials...
    # Ends when the context is terminated (the process's clean shutdown): ctx.term() never
    # waits for this thread.
    try:
        while True:
            frames = handler.recv_multipart()
            request_id = frames[1] if len(frames) > 1 else b""
            mechanism = frames[5] if len(frames) > 5 else b""
            # NULL (ipc:// sockets in the same process) is not ours to judge: a CURVE server
            # refuses NULL peers in the handshake itself.
            ok = mechanism == b"NULL" or (mechanism == b"CURVE" and frames[6:7] == [allowed])
            handler.send_multipart([b"1.0", request_id, b"200" if ok else b"400",
                                    b"OK" if ok else b"unknown client key", b"", b""])
    except zmq.ContextTerminated:
        pass
    finally:
        handler.close(linger=0)


def run_cli(settings, force: bool = False) -> int:
    if not zmq.has("curve"):
        print("oscar keys: this libzmq was built without CURVE support", file=sys.stderr)
        return 2
    try:
        paths = make(settings.home, force=force)
    except FileExistsError as exc:
        print(f"oscar keys: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {', '.join(str(p) for p in paths)} (mode 0600). tcp:// endpoints now use "
          f"CURVE; copy {keys_dir(settings.home)} to every host running Oscar processes and "
          "restart Oscar.")
    return 0
