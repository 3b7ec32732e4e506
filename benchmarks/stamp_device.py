"""A fake device in its own process: stamps every cue that reaches it with CLOCK_MONOTONIC.

    stamp_device.py [--ports N]

Listens on N TCP ports of 127.0.0.1 (printed as one JSON list on the first line of stdout) and
finds every ``seq:<n>:<ns>`` token in the byte stream of each connection, whatever the framing
around it: CR-terminated text from Oscar and the Python relays, raw OSC packets from socat. The
arrival time is time.monotonic_ns() when the bytes were read: CLOCK_MONOTONIC, the same clock
the load generator stamps its cues with in another process on this machine.

Commands, one a line on stdin, each answered with one JSON line on stdout:

    count             cues seen since the last dump
    dump              [[port, seq, sent_ns, arrival_ns], ...] since the last dump, then forget them
    accepts           [[port, monotonic_ns], ...] every connection accepted so far
    connections       {port: open connections}
    close PORT        stop listening on PORT and drop its connections (a device going away)
    open PORT         listen on PORT again (the device coming back)

EOF on stdin ends it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import socket
import sys
import time

TOKEN = re.compile(rb"seq:(\d+):(\d+)(?=\D)")
KEEP = 64  # bytes kept from the end of a read in case a token is cut in two


def listen(port: int = 0) -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(64)
    server.setblocking(False)
    return server


class Device:
    def __init__(self, ports: int):
        self.selector = selectors.DefaultSelector()
        self.servers: dict[int, socket.socket] = {}
        self.conns: dict[socket.socket, int] = {}  # connection -> port it came in on
        self.tails: dict[socket.socket, bytes] = {}
        self.arrivals: list[list[int]] = []
        self.accepts: list[list[int]] = []
        for _ in range(ports):
            self.open(0)
        self.selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
        self.stdin_buffer = b""

    def open(self, port: int) -> None:
        server = listen(port)
        port = server.getsockname()[1]
        self.servers[port] = server
        self.selector.register(server, selectors.EVENT_READ, ("server", port))

    def close(self, port: int) -> None:
        server = self.servers.pop(port)
        self.selector.unregister(server)
        server.close()
        for conn, conn_port in list(self.conns.items()):
            if conn_port == port:
                self.drop(conn)

    def drop(self, conn: socket.socket) -> None:
        self.selector.unregister(conn)
        del self.conns[conn]
        self.tails.pop(conn, None)
        conn.close()

    def read(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(262144)
        except OSError:
            data = b""
        now = time.monotonic_ns()
        if not data:
            self.drop(conn)
            return
        port = self.conns[conn]
        text = self.tails.get(conn, b"") + data
        end = 0
        for match in TOKEN.finditer(text):
            self.arrivals.append([port, int(match[1]), int(match[2]), now])
            end = match.end()
        self.tails[conn] = text[max(end, len(text) - KEEP):]

    def command(self, line: str) -> object:
        verb, _, arg = line.partition(" ")
        if verb == "count":
            return len(self.arrivals)
        if verb == "dump":
            out, self.arrivals = self.arrivals, []
            return out
        if verb == "accepts":
            return self.accepts
        if verb == "connections":
            counts = dict.fromkeys(self.servers, 0)
            for port in self.conns.values():
                counts[port] = counts.get(port, 0) + 1
            return counts
        if verb == "close":
            self.close(int(arg))
            return "closed"
        if verb == "open":
            self.open(int(arg))
            return "open"
        return {"error": f"unknown command {line!r}"}

    def run(self) -> None:
        print(json.dumps(list(self.servers)), flush=True)
        while True:
            for key, _ in self.selector.select():
                tag = key.data
                if tag == "stdin":
                    chunk = os.read(sys.stdin.fileno(), 65536)
                    if not chunk:
                        return
                    self.stdin_buffer += chunk
                    *lines, self.stdin_buffer = self.stdin_buffer.split(b"\n")
                    for line in lines:
                        answer = self.command(line.decode().strip())
                        sys.stdout.write(json.dumps(answer) + "\n")
                        sys.stdout.flush()
                elif tag[0] == "server":
                    try:
                        conn, _ = key.fileobj.accept()  # type: ignore[union-attr]
                    except OSError:
                        continue
                    conn.setblocking(False)
                    self.conns[conn] = tag[1]
                    self.accepts.append([tag[1], time.monotonic_ns()])
                    self.selector.register(conn, selectors.EVENT_READ, "conn")
                else:
                    self.read(key.fileobj)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=1)
    Device(parser.parse_args().ports).run()


if __name__ == "__main__":
    main()
