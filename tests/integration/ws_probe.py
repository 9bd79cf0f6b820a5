#!/usr/bin/env python3
"""A WebSocket client for the push-gateway's tests, stdlib only, so a test
can send what a library would refuse to: binary and fragmented frames,
invalid UTF-8, huge frames, floods. Frames from the client are masked, as
RFC 6455 requires.

  ws_probe.py URL SCRIPT.json   runs the steps of SCRIPT and prints one JSON
                                line per frame received (text frames as
                                parsed JSON, others as {"opcode": N}), then
                                {"closed": true} if the server closed.

A script is a list of steps:
  {"send": <JSON value>}                a text frame of that JSON
  {"text": "..."}                       a text frame of that exact text
  {"raw_hex": "..."}                    a text frame of these bytes
  {"binary": "..."}                     a binary frame
  {"fragments": ["...", "..."]}         one text message in several frames
  {"big": N}                            a text frame of N bytes ('x')
  {"repeat": N, "send": <JSON>}         N frames at once
  {"recv": N, "timeout": S}             wait for N frames (or S seconds)
  {"recv_until": "<type>", "timeout": S}  wait for a frame of that type
  {"sleep": S}
  {"close": true}
  {"rcvbuf": N}                         (anywhere) a receive buffer of N bytes
  {"origin": "http://x"}                (anywhere) an Origin header on the handshake
"""
import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.parse


class Probe:
    def __init__(self, url, timeout=10, rcvbuf=0, origin=None):
        u = urllib.parse.urlparse(url)
        if rcvbuf > 0:  # a small window, so a client that stops reading stalls the server soon
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            self.sock.connect((u.hostname, u.port))
        else:
            self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        path = u.path or "/"
        req = (f"GET {path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               + (f"Origin: {origin}\r\n" if origin else "") + "\r\n")
        self.sock.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        status, _, rest = head.partition(b"\r\n\r\n")
        self.status = int(status.split(b" ")[1])
        self.buf = rest
        self.closed = False

    def frame(self, opcode, payload, fin=True):
        mask = os.urandom(4)
        b0 = (0x80 if fin else 0) | opcode
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", b0, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", b0, 0x80 | 127, n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 1 << 20 else \
            (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")
        try:
            self.sock.sendall(head + mask + body)
        except OSError:
            self.closed = True

    def _need(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.time()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
                return False
            self.buf += chunk
        return True

    def recv(self, timeout):
        """One frame: (opcode, payload), or None on timeout or close."""
        deadline = time.time() + timeout
        if not self._need(2, deadline):
            return None
        b0, b1 = self.buf[0], self.buf[1]
        n, off = b1 & 0x7F, 2
        if n == 126:
            if not self._need(4, deadline):
                return None
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            if not self._need(10, deadline):
                return None
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        if not self._need(off + n, deadline):
            return None
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        opcode = b0 & 0x0F
        if opcode == 8:
            self.closed = True
        if opcode == 9:  # ping: answer
            self.frame(10, payload)
        return opcode, payload


def show(opcode, payload):
    if opcode == 1:
        try:
            return json.loads(payload.decode())
        except ValueError:
            return {"opcode": 1, "text": payload.decode(errors="replace")}
    return {"opcode": opcode, "code": struct.unpack("!H", payload[:2])[0] if opcode == 8 and len(payload) >= 2 else None}


def run(url, steps):
    rcvbuf = next((st["rcvbuf"] for st in steps if "rcvbuf" in st), 0)
    origin = next((st["origin"] for st in steps if "origin" in st), None)
    try:
        p = Probe(url, rcvbuf=rcvbuf, origin=origin)
    except ConnectionError:  # refused without an answer
        print(json.dumps({"handshake": 0}))
        return
    out = [{"handshake": p.status}]
    for st in steps:
        if "repeat" in st:
            for _ in range(st["repeat"]):
                p.frame(1, json.dumps(st["send"]).encode())
        elif "send" in st:
            p.frame(1, json.dumps(st["send"]).encode())
        elif "text" in st:
            p.frame(1, st["text"].encode())
        elif "raw_hex" in st:
            p.frame(1, bytes.fromhex(st["raw_hex"]))
        elif "binary" in st:
            p.frame(2, st["binary"].encode())
        elif "fragments" in st:
            parts = st["fragments"]
            for i, part in enumerate(parts):
                p.frame(1 if i == 0 else 0, part.encode(), fin=i == len(parts) - 1)
        elif "big" in st:
            p.frame(1, b"x" * st["big"])
        elif "recv" in st:
            deadline = time.time() + st.get("timeout", 5)
            for _ in range(st["recv"]):
                f = p.recv(max(0, deadline - time.time()))
                if f is None:
                    break
                out.append(show(*f))
        elif "recv_until" in st:
            deadline = time.time() + st.get("timeout", 5)
            while True:
                f = p.recv(max(0, deadline - time.time()))
                if f is None:
                    break
                out.append(show(*f))
                if isinstance(out[-1], dict) and out[-1].get("type") == st["recv_until"]:
                    break
        elif "sleep" in st:
            time.sleep(st["sleep"])
        elif "close" in st:
            p.frame(8, struct.pack("!H", 1000))
        if p.closed:
            break
    # Whatever else is there, briefly.
    while not p.closed:
        f = p.recv(0.3)
        if f is None:
            break
        out.append(show(*f))
    if p.closed:
        out.append({"closed": True})
    for o in out:
        print(json.dumps(o))


if __name__ == "__main__":
    run(sys.argv[1], json.load(open(sys.argv[2])))
