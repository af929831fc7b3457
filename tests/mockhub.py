#!/usr/bin/env python3
"""A stand-in for the Hugging Face Hub on 127.0.0.1, for `hfleaks hub` tests
and benchmarks: the repo listings (with `Link` pagination), one repo's
metadata, the discussions list (50 a page) and detail endpoints, and real
git smart HTTP for clones (`git http-backend` as CGI over bare repos).

Standard library only. Usage:

    python3 tests/mockhub.py CONFIG.json

It prints `PORT <n>` on stdout once it listens, and exits when its standard
input closes (the test or benchmark that started it ended), so it never
outlives its parent. CONFIG:

    {
      "git_root": "/abs/dir",        # bare repos at git_root/{models,datasets,spaces}/NS/NAME.git
      "token": "hf_...",              # the one token that sees private repos (optional)
      "valid_tokens": ["hf_..."],     # tokens whoami-v2 accepts (others: 401)
      "page_size": 100,               # listing page size
      "log": "/abs/requests.jsonl",  # one line per request: method, path, authorization,
                                      #   inflight (API requests being answered, this one included)
      "api_latency_ms": 30,           # every API answer waits this long first (a real round trip;
                                      #   also read from "faults")
      "repos": [{"type": "model", "id": "NS/NAME", "private": false,
                 "gated": false, "disabled": false,
                 "discussions": [{"num": 1, "title": "...", "isPullRequest": false,
                                  "status": "open", "author": "bob",
                                  "events": [{"id": "...", "type": "comment", ...}]}]}],
      "faults": {"listing_429": 1,              # the first N listing requests get 429
                 "drop_clone": ["NS/NAME"],     # upload-pack hangs up halfway
                 "error_500": {"NS/NAME": 2},   # the first N discussion-list requests get 500
                 "git_429": {"NS/NAME": 1}}     # the first N info/refs requests get 429
    }
"""

import base64
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

KINDS = {"models": "model", "datasets": "dataset", "spaces": "space"}
PAGE = 50

CONFIG = {}
LOCK = threading.Lock()
COUNTERS = {}
INFLIGHT = [0]


def bump(key):
    with LOCK:
        COUNTERS[key] = COUNTERS.get(key, 0) + 1
        return COUNTERS[key]


def repo_of(kind, rid):
    for r in CONFIG.get("repos", []):
        if r["type"] == kind and r["id"] == rid:
            return r
    return None


def git_path(kind, rid):
    return os.path.join(CONFIG["git_root"], kind + "s", rid + ".git")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    # -- helpers ---------------------------------------------------------

    def authorized(self):
        """Whether the request carries the configured token (Bearer for the
        API, the password of Basic for git)."""
        token = CONFIG.get("token")
        auth = self.headers.get("Authorization") or ""
        if not token:
            return False
        if auth == "Bearer " + token:
            return True
        if auth.startswith("Basic "):
            try:
                user_pass = base64.b64decode(auth[6:]).decode()
            except Exception:
                return False
            return user_pass.split(":", 1)[-1] == token
        return False

    def visible(self, repo):
        return repo is not None and (not repo.get("private") or self.authorized())

    def record(self, inflight=None):
        log = CONFIG.get("log")
        if not log:
            return
        line = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "authorization": self.headers.get("Authorization"),
                "inflight": inflight,
            }
        )
        with LOCK:
            with open(log, "a") as f:
                f.write(line + "\n")

    def send_json(self, status, value, headers=()):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("RateLimit", '"api";r=499;t=300')
        self.send_header("RateLimit-Policy", '"fixed window";"api";q=500;w=300')
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def not_found(self):
        self.send_json(
            404,
            {"error": "Repository not found"},
            [("X-Error-Code", "RepoNotFound"), ("X-Error-Message", "Repository not found")],
        )

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # -- routes ----------------------------------------------------------

    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def route(self):
        if not self.path.startswith("/api/"):
            self.record()
            return self.answer()
        # In flight: arrived and not yet answered. The count drops before the
        # answer is written, so a client that reuses its slot for the next
        # request never overlaps the end of this one.
        with LOCK:
            INFLIGHT[0] += 1
            inflight = INFLIGHT[0]
        try:
            self.record(inflight)
            latency = CONFIG.get("api_latency_ms", CONFIG.get("faults", {}).get("api_latency_ms", 0))
            time.sleep(latency / 1000)
        finally:
            with LOCK:
                INFLIGHT[0] -= 1
        return self.answer()

    def answer(self):
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        query = parse_qs(url.query)
        if parts == ["api", "whoami-v2"]:
            return self.whoami()
        if parts[:1] == ["api"] and len(parts) == 2 and parts[1] in KINDS:
            return self.listing(KINDS[parts[1]], query)
        if parts[:1] == ["api"] and len(parts) >= 4 and parts[1] in KINDS:
            kind, rid, rest = KINDS[parts[1]], "/".join(parts[2:4]), parts[4:]
            repo = repo_of(kind, rid)
            if not self.visible(repo):
                return self.not_found()
            if repo.get("disabled"):
                return self.send_json(
                    403, {}, [("X-Error-Message", "Access to this resource is disabled.")]
                )
            if not rest:
                return self.send_json(200, self.item(repo))
            if rest == ["discussions"]:
                return self.discussions(repo, query)
            if len(rest) == 2 and rest[0] == "discussions":
                return self.discussion(repo, rest[1])
            return self.not_found()
        return self.git(parts, url.query)

    def whoami(self):
        auth = self.headers.get("Authorization") or ""
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if token in CONFIG.get("valid_tokens", []):
            return self.send_json(200, {
                "type": "user", "name": "leaky", "fullname": "Leaky Dev",
                "orgs": [], "auth": {"type": "access_token",
                                     "accessToken": {"displayName": "ci", "role": "read"}},
            })
        self.send_json(401, {"error": "Invalid credentials in Authorization header"},
                       [("X-Error-Message", "Invalid credentials in Authorization header")])

    def item(self, repo):
        return {
            "_id": "x" + repo["id"],
            "id": repo["id"],
            "private": bool(repo.get("private")),
            "gated": repo.get("gated", False),
            "disabled": bool(repo.get("disabled")),
        }

    def listing(self, kind, query):
        faults = CONFIG.get("faults", {})
        if bump("listing") <= faults.get("listing_429", 0):
            return self.send_json(
                429,
                {"error": "rate limited"},
                [("Retry-After", "1"), ("RateLimit", '"api";r=0;t=1')],
            )
        author = (query.get("author") or [""])[0]
        items = [
            self.item(r)
            for r in CONFIG.get("repos", [])
            if r["type"] == kind and r["id"].split("/")[0] == author and self.visible(r)
        ]
        size = int(CONFIG.get("page_size", 100))
        start = int((query.get("cursor") or ["0"])[0])
        page = items[start : start + size]
        headers = []
        if start + size < len(items):
            host = self.headers.get("Host")
            nxt = "http://%s/api/%ss?author=%s&limit=%d&cursor=%d" % (
                host,
                kind,
                author,
                size,
                start + size,
            )
            headers.append(("Link", '<%s>; rel="next"' % nxt))
        self.send_json(200, page, headers)

    def discussions(self, repo, query):
        faults = CONFIG.get("faults", {})
        if bump("discussions:" + repo["id"]) <= faults.get("error_500", {}).get(repo["id"], 0):
            return self.send_json(500, {"error": "internal"})
        items = repo.get("discussions", [])
        p = int((query.get("p") or ["0"])[0])
        page = items[p * PAGE : (p + 1) * PAGE]
        self.send_json(
            200,
            {
                "discussions": [
                    {
                        "num": d["num"],
                        "title": d["title"],
                        "status": d.get("status", "open"),
                        "isPullRequest": d.get("isPullRequest", False),
                        "createdAt": d.get("createdAt", "2026-01-01T00:00:00.000Z"),
                        "author": {"name": d.get("author", "someone")},
                        "numComments": len(d.get("events", [])),
                    }
                    for d in page
                ],
                "count": len(items),
                "start": p * PAGE,
                "numClosedDiscussions": 0,
            },
        )

    def discussion(self, repo, num):
        for d in repo.get("discussions", []):
            if str(d["num"]) == num:
                return self.send_json(
                    200,
                    {
                        "num": d["num"],
                        "title": d["title"],
                        "status": d.get("status", "open"),
                        "isPullRequest": d.get("isPullRequest", False),
                        "createdAt": d.get("createdAt", "2026-01-01T00:00:00.000Z"),
                        "author": {"name": d.get("author", "someone")},
                        "events": d.get("events", []),
                    },
                )
        self.send_json(404, {"error": "Discussion not found"})

    def git(self, parts, query):
        kind = "model"
        if parts[:1] in (["datasets"], ["spaces"]):
            kind = KINDS[parts[0]]
            parts = parts[1:]
        if len(parts) < 3:
            return self.not_found()
        name = parts[1][:-4] if parts[1].endswith(".git") else parts[1]
        rid = parts[0] + "/" + name
        tail = "/".join(parts[2:])
        repo = repo_of(kind, rid)
        if repo is None or not os.path.isdir(git_path(kind, rid)):
            return self.not_found()
        if repo.get("disabled") or (repo.get("gated") and not self.authorized()):
            self.send_response(403)
            if repo.get("disabled"):
                self.send_header("X-Error-Message", "Access to this resource is disabled.")
            else:
                self.send_header("X-Error-Code", "GatedRepo")
                self.send_header("X-Error-Message", "Access to this repo is restricted.")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if repo.get("private") and not self.authorized():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="Authentication required"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.command == "GET" and bump("git:" + rid) <= CONFIG.get("faults", {}).get("git_429", {}).get(rid, 0):
            return self.send_json(429, {"error": "rate limited"}, [("Retry-After", "1")])
        body = self.body() if self.command == "POST" else b""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": CONFIG["git_root"],
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": "/%ss/%s.git/%s" % (kind, rid, tail),
            "REQUEST_METHOD": self.command,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
        }
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        drop = self.command == "POST" and rid in CONFIG.get("faults", {}).get("drop_clone", [])
        proc = subprocess.Popen(
            ["git", "http-backend"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        feeder = threading.Thread(target=self.feed, args=(proc, body))
        feeder.start()
        status, headers = "200 OK", []
        while True:
            line = proc.stdout.readline()
            if not line or line in (b"\r\n", b"\n"):
                break
            k, _, v = line.decode("latin-1").rstrip("\r\n").partition(":")
            if k.lower() == "status":
                status = v.strip()
            else:
                headers.append((k, v.strip()))
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason or None)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        sent = 0
        while True:
            chunk = proc.stdout.read1(65536) if hasattr(proc.stdout, "read1") else proc.stdout.read(65536)
            if not chunk:
                break
            if drop and sent + len(chunk) > 2048:
                # A server that hangs up halfway: part of the pack, then nothing.
                self.wfile.write(chunk[: max(0, 2048 - sent)])
                self.wfile.flush()
                proc.kill()
                self.close_connection = True
                break
            self.wfile.write(chunk)
            sent += len(chunk)
        proc.stdout.close()
        proc.wait()
        feeder.join()

    @staticmethod
    def feed(proc, body):
        try:
            proc.stdin.write(body)
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass


def main():
    global CONFIG
    with open(sys.argv[1]) as f:
        CONFIG = json.load(f)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # Stop when the parent goes away.
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
