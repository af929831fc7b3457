#!/usr/bin/env python3
"""A stand-in for the Hugging Face Hub on 127.0.0.1, for `hfleaks hub` tests
and benchmarks: the repo listings (with `Link` pagination), one repo's
metadata, the discussions list (50 a page) and detail endpoints, real git
smart HTTP for clones (`git http-backend` as CGI over bare repos), Storage
Buckets (listing, info, tree, resolve), the resolve URLs of git repos (LFS
pointers redirect), and a second server, the content host, that the
resolve URLs redirect to.

Standard library only. Usage:

    python3 tests/mockhub.py CONFIG.json

It prints `PORT <n>` (the Hub) and then `CONTENT_PORT <m>` (the content
host) on stdout, in one write, once both listen, and exits when its
standard input closes (the test or benchmark that started it ended), so it
never outlives its parent. CONFIG:

    {
      "git_root": "/abs/dir",        # bare repos at git_root/{models,datasets,spaces,kernels}/NS/NAME.git
      "token": "hf_...",              # the one token that sees private repos and buckets (optional)
      "valid_tokens": ["hf_..."],     # tokens whoami-v2 accepts (others: 401); POST
                                      #   /api/credentials/revoke removes those it is given
                                      #   (always 202; logged as {"event": "revoked",
                                      #   "revoked": [sha256, ...]})
      "revoke_delay_ms": 0,           # the revoke endpoint answers this late
      "page_size": 100,               # listing page size (repos and buckets)
      "tree_page_size": 1000,         # bucket tree page size (default 1000)
      "log": "/abs/requests.jsonl",  # one line per request, both servers: server ("hub" or
                                      #   "content"), method, path, authorization; the Hub's add
                                      #   inflight (API requests being answered, this one included)
                                      #   and, for resolve requests, range (the Range header or
                                      #   null); the content host's add range, status and bytes
                                      #   (body bytes actually sent), and leaked_authorization:
                                      #   true when an Authorization header reached it
      "api_latency_ms": 30,           # every API answer waits this long first (a real round trip;
                                      #   also read from "faults")
      "content_latency_ms": 0,        # every content-host answer waits this long first
      "repos": [{"type": "model", "id": "NS/NAME", "private": false,   # type: model, dataset,
                                      #   space or kernel
                 "gated": false, "disabled": false,
                 "variables": {"KEY": {"value": "...", "description": "...",   # a Space's
                                       "updatedAt": "2026-01-01T00:00:00.000Z"}},   # variables
                 "variables_file": "/abs/vars.json",    # or read from this file at each request
                 "discussions": [{"num": 1, "title": "...", "isPullRequest": false,
                                  "status": "open", "author": "bob",
                                  "events": [{"id": "...", "type": "comment", ...}]}]}],
      "buckets": [{"id": "NS/NAME", "private": false,
                   "createdAt": "2026-01-01T00:00:00.000Z",        # optional
                   "files": [{"path": "logs/run 1/x.txt", "content": "text"},   # utf-8
                             {"path": "a.bin", "content_b64": "..."},
                             {"path": "w.safetensors", "file": "/abs/path"},    # read from disk
                             ...]}],      # each may add "mtime" and "uploadedAt"
      "lfs_store": "/abs/dir",        # LFS/Xet contents of git repos: lfs_store/<64-hex sha256 oid>
      "list_kernels": true,           # false: /api/kernels?author= answers 404 (as the Hub may)
      "faults": {"listing_429": 1,              # the first N listing requests get 429
                 "drop_clone": ["NS/NAME"],     # upload-pack hangs up halfway
                 "variables_403": ["NS/NAME"],  # the Space's variables answer 403
                 "error_500": {"NS/NAME": 2},   # the first N discussion-list requests get 500
                 "git_429": {"NS/NAME": 1},     # the first N info/refs requests get 429
                 "git_hold": {"NS/NAME": "/abs/flag"},  # info/refs requests get 429 (Retry-After: 1)
                 "outage": {"NS/NAME": "/abs/flag"},    # every request about that repo (its API,
                                                #   discussions, git, resolve) gets 503 as long
                                                #   as that file exists: a Hub outage
                                                #   as long as that file exists
                 "content_cut": {"KEY": 1}}     # KEY a bucket file path or an LFS oid (or a
                                                #   xetHash): its first N GETs on the content host
                                                #   send the full Content-Length, half the body,
                                                #   then close the connection
    }

Endpoints of the Hub (those under /api/ wait api_latency_ms):

    GET  /api/whoami-v2
    GET  /api/{models|datasets|spaces|kernels}?author=NS[&cursor=K]      Link rel="next"
    GET  /api/{models|datasets|spaces|kernels}/NS/NAME[/discussions[?p=K] | /discussions/NUM]
    GET  /api/spaces/NS/NAME/variables             {KEY: {value, description, updatedAt}}
    GET  /api/buckets/NS[?cursor=K]                 info objects, Link rel="next"
    GET  /api/buckets/NS/NAME                       {id, private, createdAt, size, totalFiles}
    GET  /api/buckets/NS/NAME/tree[/PREFIX][?recursive=true][&cursor=K]
         entries sorted by path, tree_page_size a page, Link rel="next"; without
         recursive only the prefix's direct children; a prefix that is no directory: 404
         EntryNotFound
    GET|HEAD /buckets/NS/NAME/resolve/PATH          GET: 302 to the content host's
         /xet/<xetHash>; HEAD: 200 with Content-Length and X-Xet-Hash
    GET|HEAD /[datasets/|spaces/|kernels/]NS/NAME/resolve/REV/PATH   the blob REV:PATH; an
         LFS pointer: 302 to the content host's /lfs/<oid> with X-Linked-Size, X-Linked-Etag
    git smart HTTP under /[datasets/|spaces/|kernels/]NS/NAME[.git]/...

Path segments are percent-decoded (utf-8). Private repos and buckets are
404 RepoNotFound without the token (as Bearer; git takes it as the Basic
password); a missing file is 404 EntryNotFound. The content host serves
GET|HEAD /xet/<xetHash> and /lfs/<oid> (any query), whole (200) or one
`Range: bytes=A-B | bytes=A- | bytes=-N` (206 with Content-Range; 416 past
the end), and answers any request carrying an Authorization header with 400.
"""

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

KINDS = {"models": "model", "datasets": "dataset", "spaces": "space", "kernels": "kernel"}
# The URL prefixes of the kinds whose web and git URLs carry one (a model's has none).
PREFIXED = (["datasets"], ["spaces"], ["kernels"])
PAGE = 50
STAMP = "2026-01-01T00:00:00.000Z"
LFS_VERSION = b"version https://git-lfs.github.com/spec/v1"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 65536

CONFIG = {}
LOCK = threading.Lock()
COUNTERS = {}
INFLIGHT = [0]
CONTENT_PORT = [0]
# Buckets by id: {"info": {...}, "files": {path: entry}, "entries": [tree entries, sorted]}.
BUCKETS = {}
# xetHash -> the bucket file entries with those bytes (the same hash, the same bytes).
XET = {}


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


def write_log(entry):
    log = CONFIG.get("log")
    if not log:
        return
    line = json.dumps(entry)
    with LOCK:
        with open(log, "a") as f:
            f.write(line + "\n")


def decode(segments):
    """Percent-decoded path segments (utf-8), or None when one is not utf-8."""
    try:
        return [unquote(s, encoding="utf-8", errors="strict") for s in segments]
    except UnicodeDecodeError:
        return None


# -- buckets ------------------------------------------------------------------


def load_buckets():
    for b in CONFIG.get("buckets", []):
        files = {}
        for f in b.get("files", []):
            path = f["path"].strip("/")
            if "file" in f:
                h = hashlib.sha256()
                with open(f["file"], "rb") as src:
                    while True:
                        chunk = src.read(1 << 20)
                        if not chunk:
                            break
                        h.update(chunk)
                data, size, source = None, os.path.getsize(f["file"]), f["file"]
                digest = h.hexdigest()
            else:
                if "content_b64" in f:
                    data = base64.b64decode(f["content_b64"])
                else:
                    data = f.get("content", "").encode("utf-8")
                size, source, digest = len(data), None, hashlib.sha256(data).hexdigest()
            entry = {
                "bucket": b["id"],
                "path": path,
                "size": size,
                "xetHash": digest,
                "mtime": f.get("mtime", STAMP),
                "uploadedAt": f.get("uploadedAt", STAMP),
                "data": data,
                "source": source,
            }
            files[path] = entry
            XET.setdefault(digest, []).append(entry)
        dirs = set()
        for path in files:
            parts = path.split("/")
            for i in range(1, len(parts)):
                dirs.add("/".join(parts[:i]))
        entries = [
            {"type": "file", "path": e["path"], "size": e["size"], "xetHash": e["xetHash"],
             "mtime": e["mtime"], "uploadedAt": e["uploadedAt"]}
            for e in files.values()
        ] + [{"type": "directory", "path": d, "uploadedAt": STAMP} for d in dirs]
        entries.sort(key=lambda e: e["path"])
        BUCKETS[b["id"]] = {
            "info": {
                "id": b["id"],
                "private": bool(b.get("private")),
                "createdAt": b.get("createdAt", STAMP),
                "size": sum(e["size"] for e in files.values()),
                "totalFiles": len(files),
            },
            "files": files,
            "dirs": dirs,
            "entries": entries,
        }


def parse_range(header, total):
    """(start, end inclusive) of a `bytes=` Range header; None without one
    (or one this mock does not understand: the whole body); "bad" when it
    is not satisfiable."""
    if not header:
        return None
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not m or (not m.group(1) and not m.group(2)):
        return None
    if not m.group(1):
        n = int(m.group(2))
        if n == 0:
            return "bad"
        return max(0, total - n), total - 1
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else total - 1
    if start >= total or end < start:
        return "bad"
    return start, min(end, total - 1)


class Body:
    """Bytes held in memory or in a file, read in chunks."""

    def __init__(self, data=None, path=None):
        self.data, self.path = data, path
        self.size = len(data) if data is not None else os.path.getsize(path)

    def chunks(self, start, length):
        if self.data is not None:
            for off in range(start, start + length, CHUNK):
                yield self.data[off : min(off + CHUNK, start + length)]
            return
        with open(self.path, "rb") as f:
            f.seek(start)
            left = length
            while left > 0:
                chunk = f.read(min(CHUNK, left))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk


class Base(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def bearer(self):
        """Whether the request carries the configured token as Bearer."""
        token = CONFIG.get("token")
        return bool(token) and (self.headers.get("Authorization") or "") == "Bearer " + token

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
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_body(self, body, headers=(), cut=False):
        """`body` (a Body) whole or in the request's Range; HEAD sends the
        headers only. `cut`: the full Content-Length, half the body, then the
        connection closes. Returns (status, body bytes sent)."""
        span = parse_range(self.headers.get("Range"), body.size)
        if span == "bad":
            self.send_response(416)
            self.send_header("Content-Range", "bytes */%d" % body.size)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return 416, 0
        if span is None:
            status, start, length = 200, 0, body.size
        else:
            status, start, length = 206, span[0], span[1] - span[0] + 1
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, start + length - 1, body.size))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD":
            return status, 0
        limit = length // 2 if cut else length
        sent = 0
        try:
            for chunk in body.chunks(start, limit):
                self.wfile.write(chunk)
                sent += len(chunk)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        if cut:
            self.close_connection = True
        return status, sent

    def error_code(self, status, code, message):
        self.send_json(status, {"error": message},
                       [("X-Error-Code", code), ("X-Error-Message", message)])

    def not_found(self):
        self.error_code(404, "RepoNotFound", "Repository not found")

    def entry_not_found(self):
        self.error_code(404, "EntryNotFound", "Entry not found")


class Handler(Base):
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
        entry = {
            "server": "hub",
            "method": self.command,
            "path": self.path,
            "authorization": self.headers.get("Authorization"),
            "inflight": inflight,
        }
        if self.command in ("GET", "HEAD") and "/resolve/" in urlsplit(self.path).path:
            entry["range"] = self.headers.get("Range")
        write_log(entry)

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

    def do_HEAD(self):
        self.route()

    def do_POST(self):
        self.route()

    def route(self):
        try:
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
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def outage(self, parts):
        """503 for a repo whose outage flag file exists."""
        path = "/" + "/".join(unquote(p) for p in parts) + "/"
        for rid, flag in CONFIG.get("faults", {}).get("outage", {}).items():
            if os.path.exists(flag) and ("/" + rid + "/" in path or "/" + rid + ".git/" in path):
                self.close_connection = True
                self.send_json(503, {"error": "Service Unavailable"}, [("Connection", "close")])
                return True
        return False

    def answer(self):
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        query = parse_qs(url.query)
        if self.outage(parts):
            return
        if parts == ["api", "whoami-v2"]:
            return self.whoami()
        if parts == ["api", "credentials", "revoke"] and self.command == "POST":
            return self.revoke()
        if parts[:2] == ["api", "buckets"] and len(parts) >= 3:
            return self.bucket_api(parts[2:], query, url)
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
            if rest == ["variables"] and kind == "space":
                return self.variables(repo)
            if len(rest) == 2 and rest[0] == "discussions":
                return self.discussion(repo, rest[1])
            return self.not_found()
        if self.command in ("GET", "HEAD"):
            if parts[:1] == ["buckets"] and len(parts) >= 5 and parts[3] == "resolve":
                return self.bucket_resolve(parts[1:3], parts[4:])
            rest, kind = parts, "model"
            if rest[:1] in PREFIXED:
                kind, rest = KINDS[rest[0]], rest[1:]
            if len(rest) >= 5 and rest[2] == "resolve":
                return self.git_resolve(kind, rest[:2], rest[3], rest[4:])
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

    def revoke(self):
        """POST /api/credentials/revoke: always 202 (as the Hub); each token
        given stops being valid, and the log gets one entry naming their
        sha256 (never the tokens)."""
        try:
            given = json.loads(self.body() or b"{}").get("credentials", [])
        except ValueError:
            given = []
        time.sleep(CONFIG.get("revoke_delay_ms", 0) / 1000)
        with LOCK:
            valid = CONFIG.setdefault("valid_tokens", [])
            for t in given:
                if t in valid:
                    valid.remove(t)
        write_log({"server": "hub", "event": "revoked",
                   "revoked": [hashlib.sha256(t.encode()).hexdigest() for t in given if isinstance(t, str)]})
        self.send_json(202, {})

    def item(self, repo):
        return {
            "_id": "x" + repo["id"],
            "id": repo["id"],
            "private": bool(repo.get("private")),
            "gated": repo.get("gated", False),
            "disabled": bool(repo.get("disabled")),
        }

    def variables(self, repo):
        if repo["id"] in CONFIG.get("faults", {}).get("variables_403", []):
            return self.error_code(403, "Forbidden", "You don't have access to this Space's settings")
        current = repo.get("variables", {})
        if repo.get("variables_file"):
            # Read at each request: a test changes a Space's variables.
            try:
                with open(repo["variables_file"]) as f:
                    current = json.load(f)
            except (OSError, ValueError):
                current = {}
        self.send_json(200, {
            key: {"value": v.get("value", ""), "description": v.get("description", ""),
                  "updatedAt": v.get("updatedAt", STAMP)}
            for key, v in current.items()
        })

    def listing(self, kind, query):
        faults = CONFIG.get("faults", {})
        if kind == "kernel" and not CONFIG.get("list_kernels", True):
            return self.send_json(404, {"error": "Not Found"})
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

    # -- buckets ---------------------------------------------------------

    def bucket(self, segments):
        """The visible bucket NS/NAME of two raw path segments, or None."""
        names = decode(segments)
        if names is None:
            return None
        b = BUCKETS.get("/".join(names))
        if b is None or (b["info"]["private"] and not self.bearer()):
            return None
        return b

    def next_link(self, url, query, cursor):
        """This request's URL with `cursor` set, absolute."""
        q = [(k, v) for k, vs in query.items() if k != "cursor" for v in vs]
        q.append(("cursor", str(cursor)))
        return '<http://%s%s?%s>; rel="next"' % (self.headers.get("Host"), url.path, urlencode(q))

    def bucket_api(self, rest, query, url):
        if self.command not in ("GET", "HEAD"):
            return self.send_json(405, {"error": "Method not allowed"})
        if len(rest) == 1:
            ns = decode(rest)
            if ns is None:
                return self.not_found()
            items = [
                b["info"]
                for bid, b in BUCKETS.items()
                if bid.split("/")[0] == ns[0] and (not b["info"]["private"] or self.bearer())
            ]
            size = int(CONFIG.get("page_size", 100))
            start = int((query.get("cursor") or ["0"])[0])
            headers = []
            if start + size < len(items):
                nxt = "http://%s/api/buckets/%s?limit=%d&cursor=%d" % (
                    self.headers.get("Host"), quote(ns[0], safe=""), size, start + size)
                headers.append(("Link", '<%s>; rel="next"' % nxt))
            return self.send_json(200, items[start : start + size], headers)
        b = self.bucket(rest[:2])
        if b is None:
            return self.not_found()
        if len(rest) == 2:
            return self.send_json(200, b["info"])
        if rest[2] != "tree":
            return self.not_found()
        segs = decode(rest[3:])
        if segs is None:
            return self.entry_not_found()
        prefix = "/".join(segs).strip("/")
        if prefix and prefix not in b["dirs"]:
            return self.entry_not_found()
        recursive = (query.get("recursive") or ["false"])[0].lower() in ("true", "1")
        under = prefix + "/" if prefix else ""
        entries = [
            e for e in b["entries"]
            if e["path"].startswith(under) and (recursive or "/" not in e["path"][len(under):])
        ]
        size = int(CONFIG.get("tree_page_size", 1000))
        start = int((query.get("cursor") or ["0"])[0])
        headers = []
        if start + size < len(entries):
            headers.append(("Link", self.next_link(url, query, start + size)))
        self.send_json(200, entries[start : start + size], headers)

    def bucket_resolve(self, segments, path_segments):
        b = self.bucket(segments)
        if b is None:
            return self.not_found()
        segs = decode(path_segments)
        entry = b["files"].get("/".join(segs)) if segs is not None else None
        if entry is None:
            return self.entry_not_found()
        digest = entry["xetHash"]
        if self.command == "HEAD":
            self.send_response(200)
            self.send_header("Content-Length", str(entry["size"]))
            self.send_header("X-Xet-Hash", digest)
            self.send_header("ETag", '"%s"' % digest)
            self.end_headers()
            return
        self.redirect("/xet/" + digest, [("X-Xet-Hash", digest), ("X-Linked-Size", str(entry["size"]))])

    def redirect(self, content_path, headers):
        sig = hashlib.sha256(("%s %f" % (content_path, time.time())).encode()).hexdigest()[:20]
        self.send_response(302)
        self.send_header("Location", "http://127.0.0.1:%d%s?sig=%s" % (CONTENT_PORT[0], content_path, sig))
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()

    # -- git -------------------------------------------------------------

    def git_resolve(self, kind, id_segments, rev_segment, path_segments):
        names = decode(id_segments + [rev_segment] + path_segments)
        if names is None:
            return self.entry_not_found()
        rid, rev, path = "/".join(names[:2]), names[2], "/".join(names[3:])
        repo = repo_of(kind, rid)
        if repo is None or not os.path.isdir(git_path(kind, rid)):
            return self.not_found()
        if repo.get("private") and not self.bearer():
            return self.not_found()
        if repo.get("disabled"):
            return self.send_json(403, {}, [("X-Error-Message", "Access to this resource is disabled.")])
        if repo.get("gated") and not self.bearer():
            return self.error_code(403, "GatedRepo", "Access to this repo is restricted.")
        if not rev or rev.startswith("-") or ":" in rev or any(c in rev + path for c in "\n\0") or not path:
            return self.entry_not_found()
        got = subprocess.run(["git", "-C", git_path(kind, rid), "cat-file", "blob", "%s:%s" % (rev, path)],
                             stdin=subprocess.DEVNULL, capture_output=True)
        if got.returncode != 0:
            return self.entry_not_found()
        blob = got.stdout
        if blob.startswith(LFS_VERSION) and len(blob) < 1024:
            text = blob.decode("utf-8", "replace")
            oid = re.search(r"^oid sha256:([0-9a-f]{64})\s*$", text, re.M)
            size = re.search(r"^size (\d+)\s*$", text, re.M)
            if oid and size:
                return self.redirect("/lfs/" + oid.group(1), [
                    ("X-Linked-Size", size.group(1)),
                    ("X-Linked-Etag", '"%s"' % oid.group(1)),
                    ("ETag", '"%s"' % hashlib.sha1(blob).hexdigest()),
                ])
        self.send_body(Body(data=blob), [("ETag", '"%s"' % hashlib.sha1(blob).hexdigest())])

    def git(self, parts, query):
        kind = "model"
        if parts[:1] in PREFIXED:
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
        hold = CONFIG.get("faults", {}).get("git_hold", {}).get(rid)
        if self.command == "GET" and hold and os.path.exists(hold):
            return self.send_json(429, {"error": "rate limited"}, [("Retry-After", "1")])
        if self.command == "GET" and bump("git:" + rid) <= CONFIG.get("faults", {}).get("git_429", {}).get(rid, 0):
            return self.send_json(429, {"error": "rate limited"}, [("Retry-After", "1")])
        body = self.body() if self.command == "POST" else b""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": CONFIG["git_root"],
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": "/%ss/%s.git/%s" % (kind, rid, tail),
            "REQUEST_METHOD": "GET" if self.command == "HEAD" else self.command,
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
        while self.command != "HEAD":
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
        if self.command == "HEAD":
            proc.kill()
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


class ContentHandler(Base):
    """The content host: /xet/<xetHash> (bucket files) and /lfs/<oid>
    (lfs_store). Never needs, and refuses, an Authorization header."""

    def do_GET(self):
        self.serve()

    def do_HEAD(self):
        self.serve()

    def serve(self):
        time.sleep(CONFIG.get("content_latency_ms", 0) / 1000)
        auth = self.headers.get("Authorization")
        entry = {
            "server": "content",
            "method": self.command,
            "path": self.path,
            "range": self.headers.get("Range"),
            "authorization": auth,
            "status": None,
            "bytes": 0,
        }
        try:
            if auth is not None:
                entry["leaked_authorization"] = True
                entry["status"] = 400
                return self.send_json(400, {"error": "Authorization reached the content host"})
            entry["status"], entry["bytes"] = self.content()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            write_log(entry)

    def content(self):
        parts = urlsplit(self.path).path.strip("/").split("/")
        body, keys = None, []
        if len(parts) == 2 and HEX64.match(parts[1]):
            digest = parts[1]
            if parts[0] == "xet" and digest in XET:
                e = XET[digest][0]
                body = Body(data=e["data"]) if e["data"] is not None else Body(path=e["source"])
                keys = [digest] + [x["path"] for x in XET[digest]]
            elif parts[0] == "lfs" and CONFIG.get("lfs_store"):
                path = os.path.join(CONFIG["lfs_store"], digest)
                if os.path.isfile(path):
                    body, keys = Body(path=path), [digest]
        if body is None:
            self.send_json(404, {"error": "Not found"})
            return 404, 0
        cut = False
        if self.command == "GET":
            cuts = CONFIG.get("faults", {}).get("content_cut", {})
            for k in keys:
                if k in cuts:
                    cut = bump("cut:" + k) <= cuts[k]
                    break
        return self.send_body(body, [("ETag", '"%s"' % parts[1])], cut=cut)


def main():
    global CONFIG
    with open(sys.argv[1]) as f:
        CONFIG = json.load(f)
    load_buckets()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    content = ThreadingHTTPServer(("127.0.0.1", 0), ContentHandler)
    content.daemon_threads = True
    CONTENT_PORT[0] = content.server_address[1]
    threading.Thread(target=content.serve_forever, daemon=True).start()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # One write: a parent that reads the first line and closes the pipe
    # never makes a later write fail.
    sys.stdout.write("PORT %d\nCONTENT_PORT %d\n" % (server.server_address[1], CONTENT_PORT[0]))
    sys.stdout.flush()
    # Stop when the parent goes away.
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
