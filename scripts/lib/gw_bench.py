#!/usr/bin/env python3
"""Clients for scripts/bench push-gateway (stdlib only; the WebSocket client
is the tests' ws_probe.Probe).

  gw_bench.py listen WS_URL TOKEN SECONDS OUT.json
      one client on events and scores for SECONDS; writes the arrival time
      (ms since the epoch) of each event_id on events and of the first
      ScoreUpdate of each cause_event_id: {"events": {...}, "scores": {...}}
  gw_bench.py paced URL HEADER RATE SECONDS THREADS
      GETs URL at RATE a second over THREADS keep-alive connections,
      HEADER ("Name: value") on each; prints {"sent","ok","p50_ms","p99_ms","max_ms"}
  gw_bench.py fanout WS_URL TOKEN N SECONDS
      N clients on metrics and events; counts the messages they receive in
      SECONDS; prints {"clients","connected","messages","per_second"}
"""
import http.client
import json
import os
import selectors
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "integration"))
from ws_probe import Probe  # noqa: E402


def connect(url, token, channels):
    p = Probe(url, timeout=10)
    if p.status != 101:
        return None
    p.frame(1, json.dumps({"type": "auth", "token": token}).encode())
    for ch in channels:
        p.frame(1, json.dumps({"type": "subscribe", "channel": ch}).encode())
    for _ in range(1 + len(channels)):
        if p.recv(10) is None:
            return None
    return p


def listen(url, token, seconds, out):
    p = connect(url, token, ["events", "scores"])
    events, scores = {}, {}
    deadline = time.time() + seconds
    while time.time() < deadline:
        f = p.recv(max(0.01, deadline - time.time()))
        if f is None:
            if p.closed:
                break
            continue
        now = time.time() * 1000
        try:
            m = json.loads(f[1])
        except ValueError:
            continue
        if m.get("type") != "message":
            continue
        d = m.get("data") or {}
        if m["channel"] == "events":
            events.setdefault(d.get("event_id"), now)
        elif m["channel"] == "scores":
            scores.setdefault(d.get("cause_event_id"), now)
    json.dump({"events": events, "scores": scores}, open(out, "w"))


def pct(xs, q):
    return round(xs[min(len(xs) - 1, int(q * len(xs)))], 2) if xs else None


def paced(url, header, rate, seconds, threads):
    u = urllib.parse.urlparse(url)
    name, _, value = header.partition(":")
    lat, ok, sent = [], [0], [0]
    lock = threading.Lock()
    per = rate / threads

    def run():
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        start = time.time()
        i = 0
        while True:
            t = start + i / per
            if t - start >= seconds:
                break
            d = t - time.time()
            if d > 0:
                time.sleep(d)
            t0 = time.time()
            try:
                c.request("GET", u.path + ("?" + u.query if u.query else ""), headers={name.strip(): value.strip()})
                r = c.getresponse()
                r.read()
                good = r.status == 200
            except OSError:
                c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
                good = False
            ms = (time.time() - t0) * 1000
            with lock:
                sent[0] += 1
                ok[0] += good
                lat.append(ms)
            i += 1

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    lat.sort()
    print(json.dumps({"sent": sent[0], "ok": ok[0], "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99),
                      "max_ms": pct(lat, 1.0)}))


def fanout(url, token, n, seconds):
    clients = [c for c in (connect(url, token, ["metrics", "events"]) for _ in range(n)) if c is not None]
    print(json.dumps({"ready": len(clients)}), flush=True)
    sel = selectors.DefaultSelector()
    for p in clients:
        p.sock.setblocking(False)
        sel.register(p.sock, selectors.EVENT_READ, p)
    msgs = 0
    start = time.time()
    deadline = start + seconds
    while time.time() < deadline:
        for key, _ in sel.select(timeout=max(0, deadline - time.time())):
            try:
                chunk = key.fileobj.recv(262144)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            if not chunk:
                sel.unregister(key.fileobj)
                continue
            msgs += chunk.count(b'{"type":"message"')
    print(json.dumps({"clients": n, "connected": len(clients), "messages": msgs,
                      "per_second": round(msgs / seconds)}))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "listen":
        listen(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5])
    elif mode == "paced":
        paced(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]))
    elif mode == "fanout":
        fanout(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
