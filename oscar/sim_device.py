"""``oscar sim-device PORT``: a stand-in for a projector or switcher, for trying Oscar out.

Accepts TCP connections and prints every line it receives with control bytes made visible,
optionally answering each line.
"""

from __future__ import annotations

import selectors
import socket
import sys
import time

from oscar import escapes


def serve(port: int, host: str = "127.0.0.1", reply: bytes = b"", out=sys.stdout) -> None:
    server = socket.create_server((host, port), reuse_port=False)
    server.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ)
    print(f"sim-device listening on {host}:{port} (Ctrl-C to stop)", file=out, flush=True)
    buffers: dict[socket.socket, bytes] = {}
    try:
        while True:
            for key, _ in selector.select(timeout=1.0):
                sock = key.fileobj
                if sock is server:
                    conn, address = server.accept()
                    conn.setblocking(False)
                    selector.register(conn, selectors.EVENT_READ)
                    buffers[conn] = b""
                    print(f"{_now()} connection from {address[0]}:{address[1]}", file=out,
                          flush=True)
                    continue
                try:
                    data = sock.recv(65536)  # type: ignore[union-attr]
                except OSError:
                    data = b""
                if not data:
                    selector.unregister(sock)
                    sock.close()  # type: ignore[union-attr]
                    buffers.pop(sock, None)  # type: ignore[arg-type]
                    print(f"{_now()} connection closed", file=out, flush=True)
                    continue
                buffers[sock] += data  # type: ignore[index]
                *lines, rest = _split(buffers[sock])  # type: ignore[index]
                buffers[sock] = rest  # type: ignore[index]
                for line in lines:
                    print(f"{_now()} received {escapes.encode(line)}", file=out, flush=True)
                    if reply:
                        sock.sendall(reply)  # type: ignore[union-attr]
    except KeyboardInterrupt:
        pass
    finally:
        selector.close()
        server.close()


def _split(buffer: bytes) -> list[bytes]:
    """Lines ending in CR, LF or CRLF (terminator kept); the last item is the unfinished rest."""
    parts: list[bytes] = []
    start = 0
    i = 0
    while i < len(buffer):
        if buffer[i] in (0x0D, 0x0A):
            end = i + 1
            if buffer[i] == 0x0D and end < len(buffer) and buffer[end] == 0x0A:
                end += 1
            parts.append(buffer[start:end])
            start = i = end
            continue
        i += 1
    parts.append(buffer[start:])
    return parts


def _now() -> str:
    return time.strftime("%H:%M:%S")
