#!/usr/bin/env python3
"""Many WebSocket clients at once, for the push-gateway's tests and bench.

  ws_many.py URL TOKEN N EVENT_ID TIMEOUT

Opens N connections (each authenticated and subscribed to events with the
filter fingerprint=fp-many), prints "ready N" once all are, then waits up
to TIMEOUT seconds for each to receive the events message whose event_id is
EVENT_ID (the caller posts it after "ready"), and prints one JSON line:
{"clients": N, "connected": n, "received": n, "p50_ms": .., "p99_ms": .., "max_ms": ..}
with the times from "ready" to each client's message.
"""
import json
import os
import selectors
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from ws_probe import Probe  # noqa: E402


def main():
    url, token, n, event_id, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
    clients = []
    for _ in range(n):
        try:
            p = Probe(url, timeout=10)
        except OSError:
            continue
        if p.status != 101:
            continue
        p.frame(1, json.dumps({"type": "auth", "token": token}).encode())
        p.frame(1, json.dumps({"type": "subscribe", "channel": "events",
                               "filter": {"fingerprint": "fp-many"}}).encode())
        clients.append(p)
    # Each: authenticated, subscribed.
    ok = []
    for p in clients:
        got = 0
        while got < 2:
            f = p.recv(10)
            if f is None:
                break
            got += 1
        if got == 2:
            ok.append(p)
    print(f"ready {len(ok)}", flush=True)
    start = time.time()
    sel = selectors.DefaultSelector()
    for p in ok:
        p.sock.setblocking(False)
        sel.register(p.sock, selectors.EVENT_READ, p)
    times = {}
    deadline = start + timeout
    while len(times) < len(ok) and time.time() < deadline:
        for key, _ in sel.select(timeout=max(0, deadline - time.time())):
            p = key.data
            try:
                chunk = p.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                sel.unregister(p.sock)
                continue
            p.buf += chunk
            if id(p) not in times and event_id.encode() in p.buf:
                times[id(p)] = (time.time() - start) * 1000
    lat = sorted(times.values())
    pct = (lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 1)) if lat else (lambda q: None)
    print(json.dumps({"clients": n, "connected": len(ok), "received": len(lat),
                      "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": round(lat[-1], 1) if lat else None}))


if __name__ == "__main__":
    main()
