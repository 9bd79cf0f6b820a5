#!/usr/bin/env python3
"""Checks deploy/openapi.json against a running push-gateway and its route
table: every route the file names is in services/push-gateway/routes.c and
the other way round; each answers, with the documented parameters filled
in, one of the statuses the file lists, as JSON (CSV when asked); without
a token a guarded route is 401; an undocumented query parameter is 400.

  openapi_check.py SRC BASE_URL ADMIN_TOKEN WRITE_KEY SAMPLES.json

SAMPLES maps a parameter name (or "PATH:name" for one route) to the value
to send. Prints one line per
check ("PASS: ..." / "FAIL: ...") and exits 1 when any failed.
"""
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

src, base, token, wkey, samples_path = sys.argv[1:6]
doc = json.load(open(f"{src}/deploy/openapi.json"))
samples = json.load(open(samples_path))
failed = 0


def check(ok, what):
    global failed
    print(("PASS: " if ok else "FAIL: ") + what)
    failed += 0 if ok else 1


def call(method, path, headers, body=None):
    req = urllib.request.Request(base + path, method=method, headers=headers,
                                 data=json.dumps(body).encode() if body is not None else None)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


table = set()
for line in open(f"{src}/services/push-gateway/routes.c"):
    m = re.match(r'\s*\{"(GET|POST)", "([^"]+)", TOKEN_', line)
    if m:
        table.add((m.group(1), "/" + re.sub(r":(\w+)", r"{\1}", m.group(2))))
documented = {(meth.upper(), path) for path, ops in doc["paths"].items() for meth in ops}
check(documented == table, f"the file documents the route table ({len(table)} routes)"
      + ("" if documented == table else f": only in the file {sorted(documented - table)}, only in the table {sorted(table - documented)}"))

for path, ops in doc["paths"].items():
    for meth, op in ops.items():
        meth = meth.upper()
        public = op.get("x-scope") == "public"
        url = path
        query = {}
        for prm in op.get("parameters", []):
            v = samples.get(f'{path}:{prm["name"]}', samples.get(prm["name"]))
            if prm["in"] == "path":
                url = url.replace("{" + prm["name"] + "}", urllib.parse.quote(str(v), safe=""))
            elif prm.get("required") and v is not None:
                query[prm["name"]] = v
        qs = "?" + urllib.parse.urlencode(query) if query else ""
        auth = {"X-Write-Key": wkey} if public else {"Authorization": "Bearer " + token}
        body = None
        if "requestBody" in op:
            body = {"fingerprint": samples["fingerprint"]}
            if "consent" in op["requestBody"]["content"]["application/json"]["schema"]["properties"]:
                body["consent"] = {"necessary": True, "analytics": False, "marketing": False}
        status, ctype, data = call(meth, url + qs, auth, body)
        listed = set(op["responses"])
        check(str(status) in listed, f"{meth} {path}: {status} is a documented answer")
        if 200 <= status < 300:
            try:
                json.loads(data)
                check("application/json" in ctype, f"{meth} {path}: JSON, said so")
            except ValueError:
                check(False, f"{meth} {path}: the answer is JSON")
        if not public:
            status, _, data = call(meth, url + qs, {}, body)
            check(status == 401 and json.loads(data)["error"]["code"] == "unauthorized",
                  f"{meth} {path}: 401 without a token")
        if meth == "GET":
            sep = "&" if qs else "?"
            status, _, data = call(meth, url + qs + sep + "not_documented=1", auth)
            check(status == 400, f"{meth} {path}: an undocumented parameter is refused")
        if path == "/audiences/{name}/members":
            status, ctype, data = call(meth, url + "?format=csv", auth)
            check(status == 200 and ctype.startswith("text/csv"), f"{meth} {path}?format=csv: CSV")
sys.exit(1 if failed else 0)
