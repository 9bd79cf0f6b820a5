#!/usr/bin/env python3
"""Hostile HTTP clients for the integration tests (stdlib only).

Each mode prints one JSON object on stdout and exits 0; the shell test
decides what passes.

  slow PORT ADMIN_PORT SECONDS N_BODY N_HEADER N_IDLE N_ADMIN_IDLE
      N_BODY connections trickle a body at one byte a second, N_HEADER
      trickle their headers, N_IDLE connect and say nothing, N_ADMIN_IDLE
      do the same to the admin port; each reconnects when cut off. Meanwhile
      a normal client posts an event every 100 ms and GETs /healthz: prints
      their statuses and latencies.
  cut PORT PHASE
      one connection trickles (PHASE "header" or "body") until the server
      answers or closes: prints what it got and after how long.
  flood PORT N BYTES
      N connections POST a valid BYTES-long event at once: prints statuses.
  raw PORT
      reads a request from stdin, sends it as is, prints the status line.
"""

import json
import socket
import sys
import threading
import time

EVENT = b'{"event_type":"page_view","fingerprint":"fp-normal"}'


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def request_head(length, extra=b""):
    return (b"POST /api/analytics/events HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\n" + extra +
            b"Content-Length: " + str(length).encode() + b"\r\n\r\n")


def read_status(s):
    """Returns the status code of the response on s, or 0 when it closed."""
    data = b""
    while b"\r\n" not in data:
        try:
            chunk = s.recv(4096)
        except OSError:
            return 0
        if not chunk:
            return 0
        data += chunk
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return -1


class Trickler(threading.Thread):
    """Keeps one slow connection open until stop is set, reconnecting."""

    def __init__(self, port, kind, stop, counts):
        super().__init__(daemon=True)
        self.port, self.kind, self.stop, self.counts = port, kind, stop, counts

    def one(self):
        s = connect(self.port)
        s.settimeout(1)
        if self.kind == "body":
            s.sendall(request_head(10000))
            payload = b"x" * 10000
        elif self.kind == "header":
            payload = request_head(len(EVENT)) + EVENT
        else:
            payload = b""
        i = 0
        while not self.stop.is_set():
            if i < len(payload):
                try:
                    s.send(payload[i:i + 1])
                except OSError:
                    break
                i += 1
            try:
                if s.recv(4096) == b"":
                    break
                break  # any answer: the server cut us off
            except socket.timeout:
                continue
            except OSError:
                break
        s.close()
        with self.counts["lock"]:
            self.counts["cut"] += 1

    def run(self):
        while not self.stop.is_set():
            try:
                self.one()
            except OSError:
                with self.counts["lock"]:
                    self.counts["refused"] += 1
                time.sleep(0.05)


def normal_post(port):
    t0 = time.monotonic()
    try:
        s = connect(port)
        s.settimeout(5)
        s.sendall(request_head(len(EVENT)) + EVENT)
        status = read_status(s)
        s.close()
    except OSError:
        status = 0
    return status, time.monotonic() - t0


def normal_get(port, path):
    t0 = time.monotonic()
    try:
        s = connect(port)
        s.settimeout(5)
        s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        status = read_status(s)
        s.close()
    except OSError:
        status = 0
    return status, time.monotonic() - t0


def mode_slow(port, admin_port, seconds, n_body, n_header, n_idle, n_admin):
    stop = threading.Event()
    counts = {"lock": threading.Lock(), "cut": 0, "refused": 0}
    threads = ([Trickler(port, "body", stop, counts) for _ in range(n_body)] +
               [Trickler(port, "header", stop, counts) for _ in range(n_header)] +
               [Trickler(port, "idle", stop, counts) for _ in range(n_idle)] +
               [Trickler(admin_port, "idle", stop, counts) for _ in range(n_admin)])
    for t in threads:
        t.start()
    time.sleep(1.5)  # let every slow connection settle in
    posts, gets = [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        posts.append(normal_post(port))
        gets.append(normal_get(admin_port, b"/healthz"))
        time.sleep(0.1)
    stop.set()
    print(json.dumps({
        "posts": len(posts),
        "post_statuses": sorted({p[0] for p in posts}),
        "post_max_s": round(max(p[1] for p in posts), 3),
        "healthz_statuses": sorted({g[0] for g in gets}),
        "healthz_max_s": round(max(g[1] for g in gets), 3),
        "slow_cut": counts["cut"],
        "slow_refused": counts["refused"],
    }))


def mode_cut(port, phase):
    s = connect(port)
    s.settimeout(0.5)
    t0 = time.monotonic()
    if phase == "body":
        s.sendall(request_head(1000))
        payload = b"x" * 1000
    else:
        payload = request_head(len(EVENT)) + EVENT
    got, i = b"", 0
    while time.monotonic() - t0 < 60:
        if i < len(payload):
            try:
                s.send(payload[i:i + 1])
            except OSError:
                break
            i += 1
        try:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        except socket.timeout:
            continue
        except OSError:
            break
    status = int(got.split(b" ", 2)[1]) if got.startswith(b"HTTP/") else 0
    print(json.dumps({"status": status, "seconds": round(time.monotonic() - t0, 2),
                      "sent": i}))


def mode_flood(port, n, size):
    pad = size - len(EVENT) - 16
    body = (b'{"event_type":"page_view","fingerprint":"fp-flood","junk":"' +
            b"a" * pad + b'"}')
    socks = []
    for _ in range(n):
        try:
            s = connect(port)
            s.settimeout(30)
            s.sendall(request_head(len(body)))
            socks.append(s)
        except OSError:
            pass
    statuses = []
    lock = threading.Lock()

    def finish(s):
        try:
            s.sendall(body)
            st = read_status(s)
        except OSError:
            st = 0
        with lock:
            statuses.append(st)
        s.close()

    threads = [threading.Thread(target=finish, args=(s,)) for s in socks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    hist = {}
    for st in statuses:
        hist[str(st)] = hist.get(str(st), 0) + 1
    print(json.dumps({"connections": len(socks), "statuses": hist}))


def mode_raw(port):
    data = sys.stdin.buffer.read()
    s = connect(port)
    s.settimeout(5)
    s.sendall(data)
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
            if b"\r\n\r\n" in got:
                head, _, rest = got.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v.strip())
                if len(rest) >= length:
                    break
    except OSError:
        pass
    s.close()
    status = int(got.split(b" ", 2)[1]) if got.startswith(b"HTTP/") else 0
    body = got.partition(b"\r\n\r\n")[2].decode("utf-8", "replace")
    print(json.dumps({"status": status, "body": body}))


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "slow":
        mode_slow(int(args[0]), int(args[1]), float(args[2]), *[int(a) for a in args[3:7]])
    elif mode == "cut":
        mode_cut(int(args[0]), args[1])
    elif mode == "flood":
        mode_flood(int(args[0]), int(args[1]), int(args[2]))
    elif mode == "raw":
        mode_raw(int(args[0]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
