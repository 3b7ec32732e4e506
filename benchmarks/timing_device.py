"""A fake device in its own process, so the benchmark's sender cannot delay its clock readings.

Prints its port, then records time.perf_counter() (CLOCK_MONOTONIC: comparable across
processes) for every CR-terminated line; on stdin closing, prints them as JSON and exits.
"""

import json
import selectors
import socket
import sys
import threading
import time


def main() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    print(server.getsockname()[1], flush=True)
    arrivals: dict[str, float] = {}
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ)
    partial: dict[socket.socket, bytes] = {}
    while not stop.is_set():
        for key, _ in selector.select(timeout=0.1):
            sock = key.fileobj
            if sock is server:
                conn, _ = server.accept()
                selector.register(conn, selectors.EVENT_READ)
                partial[conn] = b""
                continue
            data = sock.recv(65536)
            now = time.perf_counter()
            if not data:
                selector.unregister(sock)
                sock.close()
                continue
            *lines, partial[sock] = (partial[sock] + data).split(b"\r")
            for line in lines:
                arrivals[line.decode()] = now
    print(json.dumps(arrivals), flush=True)


if __name__ == "__main__":
    main()
