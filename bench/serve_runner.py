#!/usr/bin/env python3
"""Measure `hfleaks serve` (continuous monitoring, issue #21) on 127.0.0.1
and print the figures.

    serve_runner.py --hfleaks BIN [--clients 8] [--burst 2000] [--queued 10000]
                    [--repos 4] [--pushes 5] [--workers 2] [--latency-ms 30]
                    [--json OUT]

Used by bench/serve.sh. Starts the mock Hub (tests/mockhub.py: real git
smart HTTP over bare repos built here with the git CLI, every API answer
`--latency-ms` late), an alert sink (this process's threads: it answers 200
and notes when each alert arrived), and `hfleaks serve --workers N` with
the sink as its `--alert`. Every delivery is a version-3 payload as the Hub
sends it, each on a new connection, with `X-Webhook-Secret`. Phases:

1. push to alert: a small model repo gets a commit adding a token, the
   commit is pushed to the mock's bare repo (not timed), then the push
   event is delivered; the time from sending the delivery to the alert's
   arrival at the sink. The repo's first event (its whole history audited)
   is timed apart from the `--pushes` incremental ones that follow.
2. burst: `--burst` push deliveries for `--repos` repos (they exist on the
   mock), from `--clients` threads at once, the workers running: accepted
   deliveries per second and the latency of each answer (p50, p99, max);
   then the time until every event is processed.
3. queued: the workers are held (the mock answers 429 with Retry-After to
   the refs of these repos as long as a flag file exists), `--queued` deliveries are made from `--clients` threads (the
   receiver alone: rate and latency), the queue depth and the process's
   memory (VmRSS, and VmHWM, its peak since start, from /proc/PID/status)
   are read with them all queued; then the hold is lifted and the time to
   drain the queue (depth 0) is measured.

Nothing asserts on timings; refused deliveries and missing alerts are
counted and printed. Nothing leaves the machine; every token is synthetic
(seeded).
"""

import argparse
import hashlib
import http.client
import math
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
MOCKHUB = os.path.join(HERE, "..", "tests", "mockhub.py")
SECRET = "bench-webhook-secret-not-a-token"
GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="bench@example.com",
               GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="bench@example.com")


def fake_token(rng):
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    while True:
        body = "".join(rng.choice(letters) for _ in range(34))
        if any(c.isupper() for c in body) and any(c.islower() for c in body):
            return "hf_" + body


def git(cwd, *args):
    out = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return out.stdout.decode().strip()


class Repo:
    """A work tree whose commits are pushed to the mock's bare repo."""

    def __init__(self, root, rid):
        self.rid = rid
        self.work = os.path.join(root, "work", rid.replace("/", "_"))
        self.bare = os.path.join(root, "git", "models", rid + ".git")
        os.makedirs(self.work)
        os.makedirs(os.path.dirname(self.bare), exist_ok=True)
        git(self.work, "init", "-q", "-b", "main")
        git(root, "init", "-q", "--bare", "-b", "main", self.bare)

    def commit(self, files, message):
        for path, content in files.items():
            p = os.path.join(self.work, path)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(content)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        return git(self.work, "rev-parse", "HEAD")

    def publish(self):
        git(self.work, "push", "-q", "--force", self.bare, "main")


def push_payload(rid, old, new):
    return json.dumps({
        "event": {"action": "update", "scope": "repo.content"},
        "repo": {"type": "model", "name": rid, "id": hashlib.sha256(rid.encode()).hexdigest()[:24],
                 "private": False, "headSha": new,
                 "url": {"web": "http://127.0.0.1:9/" + rid, "api": "http://127.0.0.1:9/api/models/" + rid},
                 "owner": {"id": "0" * 24}},
        "updatedRefs": [{"ref": "refs/heads/main", "oldSha": old, "newSha": new}],
        "webhook": {"id": "6650e1aa0c5a51ec0c6b8c01", "version": 3},
    }).encode()


def deliver(port, body, timeout=120):
    """POST /webhook on a new connection: (status, seconds)."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/webhook", body=body,
                     headers={"Content-Type": "application/json", "X-Webhook-Secret": SECRET})
        resp = conn.getresponse()
        resp.read()
        status = resp.status
    except OSError:
        status = 0
    finally:
        conn.close()
    return status, time.perf_counter() - start


def metrics(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        name = name.split("{")[0]
        try:
            values[name] = values.get(name, 0.0) + float(value)
        except ValueError:
            pass
    return values


def proc_status(pid):
    """VmRSS and VmHWM of `pid`, in bytes."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0]) * 1024
    except OSError:
        pass
    return out


class Sink:
    """The alert receiver: notes each alert's arrival time by its finding's
    secret_sha256."""

    def __init__(self):
        self.lock = threading.Lock()
        self.arrivals = []   # (monotonic time, alert JSON)
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                now = time.perf_counter()
                try:
                    alert = json.loads(body)
                except ValueError:
                    alert = None
                with sink.lock:
                    sink.arrivals.append((now, alert))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d/alerts" % self.server.server_address[1]

    def arrival_of(self, sha):
        with self.lock:
            for t, a in self.arrivals:
                if a and a.get("finding", {}).get("secret_sha256") == sha:
                    return t
        return None


def sha256(s):
    return hashlib.sha256(s.encode()).hexdigest()


def wait(pred, timeout, step=0.02):
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def percentile(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, math.ceil(p / 100 * len(xs)) - 1))
    return xs[k]


def fan_out(port, bodies, clients, timeout=120):
    """Delivers `bodies` from `clients` threads: (wall, statuses, latencies)."""
    statuses, latencies = [None] * len(bodies), [None] * len(bodies)

    def worker(k):
        for i in range(k, len(bodies), clients):
            statuses[i], latencies[i] = deliver(port, bodies[i], timeout=timeout)
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, statuses, latencies


def idle(m):
    return m.get("hfleaks_queue_depth", -1) == 0 and \
        m.get("hfleaks_events_processed_total", -1) == m.get("hfleaks_events_received_total", -2)


def revoked_shas(log):
    """The sha256 of every token the mock Hub was asked to revoke."""
    out = set()
    try:
        with open(log) as f:
            for line in f:
                if '"revoked"' in line:
                    out.update(json.loads(line).get("revoked", []))
    except OSError:
        pass
    return out


def push_to_revoke(args, root, endpoint, env, log, repo, head, tokens):
    env = dict(env)
    db = os.path.join(root, "revoke.db")
    serve = subprocess.Popen(
        [args.hfleaks, "serve", "--listen", "127.0.0.1:0", "--db", db, "--hf-endpoint", endpoint,
         "--workers", str(args.workers), "--verify", "--revoke-policy", "live"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    port = []

    def read():
        for raw in serve.stderr:
            line = raw.decode("utf-8", "replace")
            if not port and "listening on http://" in line and "admin" not in line:
                port.append(int(line.split("listening on http://", 1)[1].split()[0].rsplit(":", 1)[1]))
    threading.Thread(target=read, daemon=True).start()
    times = []
    try:
        if not wait(lambda: port, 60):
            return {"revoke_pushes": 0}
        # The repo's first event audits its history: done before timing.
        deliver(port[0], push_payload(repo.rid, None, head))
        for n, token in enumerate(tokens):
            new = repo.commit({f"keys/k{n}.py": f"K = '{token}'\n"}, f"key {n}")
            repo.publish()
            sent = time.perf_counter()
            status, _ = deliver(port[0], push_payload(repo.rid, head, new))
            head = new
            sha = sha256(token)
            got = status == 202 and wait(lambda: sha in revoked_shas(log), 60, step=0.005)
            times.append(time.perf_counter() - sent if got else None)
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
    ok = [t for t in times if t is not None]
    return {
        "revoke_pushes": len(times),
        "push_to_revoke_median_s": round(statistics.median(ok), 3) if ok else None,
        "push_to_revoke_max_s": round(max(ok), 3) if ok else None,
        "push_to_revoke_missing": len(times) - len(ok),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hfleaks", required=True)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--burst", type=int, default=2000)
    ap.add_argument("--queued", type=int, default=10000)
    ap.add_argument("--repos", type=int, default=4)
    ap.add_argument("--pushes", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--latency-ms", type=int, default=30)
    ap.add_argument("--idle", type=int, default=1000, help="idle connections held in phase 2b")
    ap.add_argument("--revoke-pushes", type=int, default=20,
                    help="pushes of a live token timed to their revoke (0: skip; needs --revoke-policy)")
    ap.add_argument("--json")
    args = ap.parse_args()
    rng = random.Random(21)
    root = tempfile.mkdtemp(prefix="hfleaks-serve-bench-")

    # The repos: one for push-to-alert, one to hold the workers, the queue's.
    latency = Repo(root, "bench/latency")
    first_token = fake_token(rng)
    lat_head = latency.commit({"README.md": "# latency\n", "src/config.py": f"T = '{first_token}'\n"},
                              "init")
    latency.publish()
    hold = Repo(root, "bench/hold")
    h0 = hold.commit({"README.md": "# hold\n"}, "init")
    h1 = hold.commit({"a.txt": "a\n"}, "a")
    hold.publish()
    queue = []
    for i in range(args.repos):
        r = Repo(root, f"bench/q{i}")
        files = {"README.md": f"# q{i}\n"}
        files.update({f"src/m{j}.py": f"x = {j}\n" * 20 for j in range(20)})
        c0 = r.commit(files, "init")
        c1 = r.commit({"src/m0.py": "x = 'changed'\n"}, "change")
        r.publish()
        queue.append((r.rid, c0, c1))
    revoke_repo = Repo(root, "bench/revoke")
    revoke_head = revoke_repo.commit({"README.md": "# revoke\n"}, "init")
    revoke_repo.publish()
    revoke_tokens = [fake_token(rng) for _ in range(args.revoke_pushes)]
    flag = os.path.join(root, "hold.flag")
    config = {
        "git_root": os.path.join(root, "git"),
        "log": os.path.join(root, "requests.jsonl"),
        "api_latency_ms": args.latency_ms,
        "repos": [{"type": "model", "id": rid} for rid in
                  ["bench/latency", "bench/hold", "bench/revoke"] + [q[0] for q in queue]],
        "valid_tokens": list(revoke_tokens),
        # Phase 3 holds every worker: the refs of bench/hold and of the
        # queue's repos answer 429 while the flag exists.
        "faults": {"git_hold": {rid: flag for rid in ["bench/hold"] + [q[0] for q in queue]}},
    }
    with open(os.path.join(root, "hub.json"), "w") as f:
        json.dump(config, f)
    mock = subprocess.Popen([sys.executable, MOCKHUB, os.path.join(root, "hub.json")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    hub_port = int(mock.stdout.readline().split()[1])
    endpoint = f"http://127.0.0.1:{hub_port}"
    sink = Sink()

    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE")}
    env["HFLEAKS_WEBHOOK_SECRET"] = SECRET
    env["NO_COLOR"] = "1"
    db = os.path.join(root, "serve.db")
    serve = subprocess.Popen(
        [args.hfleaks, "serve", "--listen", "127.0.0.1:0", "--db", db, "--alert", sink.url,
         "--hf-endpoint", endpoint, "--workers", str(args.workers)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    port_box = []
    log_lines = [0]

    def read_stderr():
        for raw in serve.stderr:
            line = raw.decode("utf-8", "replace")
            if not port_box and "listening on http://" in line:
                addr = line.split("listening on http://", 1)[1].split()[0]
                port_box.append(int(addr.rsplit(":", 1)[1].rstrip("/")))
            log_lines[0] += 1
    threading.Thread(target=read_stderr, daemon=True).start()
    results = {"clients": args.clients, "workers": args.workers, "latency_ms": args.latency_ms}
    try:
        if not wait(lambda: port_box, 60):
            sys.exit("serve did not start")
        port = port_box[0]
        pid = serve.pid
        results["rss_idle_MiB"] = round(proc_status(pid).get("VmRSS", 0) / 2**20, 1)

        # 1. Push to alert.
        def timed_push(old, new, token):
            sent = time.perf_counter()
            status, _ = deliver(port, push_payload("bench/latency", old, new))
            got = wait(lambda: sink.arrival_of(sha256(token)) is not None, 60, step=0.005)
            if status != 202 or not got:
                return None
            return sink.arrival_of(sha256(token)) - sent
        first = timed_push(None, lat_head, first_token)
        times, head = [], lat_head
        for n in range(args.pushes):
            token = fake_token(rng)
            new = latency.commit({f"src/key{n}.py": f"KEY = '{token}'\n"}, f"key {n}")
            latency.publish()
            times.append(timed_push(head, new, token))
            head = new
        ok = [t for t in times if t is not None]
        results["push_to_alert_first_s"] = round(first, 3) if first is not None else None
        results["push_to_alert_median_s"] = round(statistics.median(ok), 3) if ok else None
        results["push_to_alert_max_s"] = round(max(ok), 3) if ok else None
        results["push_to_alert_missing"] = len(times) - len(ok) + (first is None)

        # 2. Burst, workers running.
        before = metrics(port)
        bodies = [push_payload(*queue[i % len(queue)]) for i in range(args.burst)]
        wall, statuses, lat = fan_out(port, bodies, args.clients)
        accepted = sum(1 for s in statuses if s == 202)
        start = time.perf_counter()
        wait(lambda: idle(metrics(port)), 600, step=0.05)
        results.update({
            "burst": args.burst,
            "burst_refused": args.burst - accepted,
            "burst_accepted_per_s": round(accepted / wall, 1),
            "burst_p50_ms": round(percentile(lat, 50) * 1000, 1),
            "burst_p99_ms": round(percentile(lat, 99) * 1000, 1),
            "burst_max_ms": round(max(lat) * 1000, 1),
            "burst_drain_after_last_s": round(time.perf_counter() - start, 2),
            "burst_processed": metrics(port).get("hfleaks_events_processed_total", 0)
                               - before.get("hfleaks_events_processed_total", 0),
        })

        # 2b. The same burst with 1,000 idle connections held open (what a
        # client that opens sockets and sends nothing does to a server).
        idle_socks = []
        for _ in range(args.idle):
            try:
                idle_socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            except OSError:
                break
        results["idle_connections_open"] = len(idle_socks)
        bodies = [push_payload(*queue[i % len(queue)]) for i in range(args.burst)]
        wall, statuses, lat = fan_out(port, bodies, args.clients, timeout=10)
        accepted = sum(1 for s in statuses if s == 202)
        results.update({
            "idle_refused": args.burst - accepted,
            "idle_accepted_per_s": round(accepted / wall, 1),
            "idle_p50_ms": round(percentile(lat, 50) * 1000, 1),
            "idle_p99_ms": round(percentile(lat, 99) * 1000, 1),
        })
        for sck in idle_socks:
            sck.close()
        wait(lambda: idle(metrics(port)), 600, step=0.05)

        # 3. Queued: the workers held on bench/hold.
        open(flag, "w").close()
        deliver(port, push_payload("bench/hold", h0, h1))
        log = config["log"]

        def held():
            try:
                with open(log) as f:
                    return any('"/bench/hold/info/refs' in line for line in f)
            except OSError:
                return False
        wait(held, 60)
        samples = []
        stop = threading.Event()

        def sample():
            while not stop.wait(0.05):
                samples.append(proc_status(pid).get("VmRSS", 0))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        bodies = [push_payload(*queue[i % len(queue)]) for i in range(args.queued)]
        wall, statuses, lat = fan_out(port, bodies, args.clients)
        accepted = sum(1 for s in statuses if s == 202)
        m = metrics(port)
        st = proc_status(pid)
        results.update({
            "queued": args.queued,
            "queued_refused": args.queued - accepted,
            "queued_accepted_per_s": round(accepted / wall, 1),
            "queued_p50_ms": round(percentile(lat, 50) * 1000, 1),
            "queued_p99_ms": round(percentile(lat, 99) * 1000, 1),
            "queued_max_ms": round(max(lat) * 1000, 1),
            "queue_depth_held": m.get("hfleaks_queue_depth"),
            "rss_queued_MiB": round(st.get("VmRSS", 0) / 2**20, 1),
            "db_MiB": round(sum(os.path.getsize(db + s) for s in ("", "-wal")
                                if os.path.exists(db + s)) / 2**20, 1),
        })
        os.remove(flag)
        start = time.perf_counter()
        drained = wait(lambda: idle(metrics(port)), 1800, step=0.05)
        stop.set()
        sampler.join()
        st = proc_status(pid)
        results.update({
            "drain_s": round(time.perf_counter() - start, 2) if drained else None,
            "rss_peak_sampled_MiB": round(max(samples or [0]) / 2**20, 1),
            "vmhwm_MiB": round(st.get("VmHWM", 0) / 2**20, 1),
            "alerts": len(sink.arrivals),
            "log_lines": log_lines[0],
        })
        serve.send_signal(signal.SIGTERM)
        try:
            results["sigterm_exit"] = serve.wait(timeout=120)
        except subprocess.TimeoutExpired:
            results["sigterm_exit"] = None

        # 4. Push to revoke: a second server with --verify --revoke-policy
        # live; each push brings one live token; the time from the 202 to
        # the revoke request reaching the mock Hub.
        if revoke_tokens:
            results.update(push_to_revoke(args, root, endpoint, env, config["log"],
                                          revoke_repo, revoke_head, revoke_tokens))
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        mock.stdin.close()
        mock.wait()
        sink.server.shutdown()
        shutil.rmtree(root, ignore_errors=True)

    def show(label, value, unit=""):
        print(f"  {label:<58} {value if value is not None else '—'}{unit if value is not None else ''}")
    print(f"\nhfleaks serve, {args.workers} workers, {args.clients} clients, mock API latency {args.latency_ms} ms")
    print("push to alert (small repo)")
    show("first event (whole history audited)", results["push_to_alert_first_s"], " s")
    show(f"next {args.pushes} pushes, median", results["push_to_alert_median_s"], " s")
    show(f"next {args.pushes} pushes, max (target < 2 s)", results["push_to_alert_max_s"], " s")
    show("alerts missing", results["push_to_alert_missing"])
    print(f"burst: {args.burst} push deliveries for {args.repos} repos, workers running")
    show("accepted per second", results["burst_accepted_per_s"])
    show("answer latency p50 / p99 / max",
         f"{results['burst_p50_ms']} / {results['burst_p99_ms']} / {results['burst_max_ms']}", " ms")
    show("refused (not 202)", results["burst_refused"])
    show("processed", results["burst_processed"])
    show("drained, after the last answer", results["burst_drain_after_last_s"], " s")
    print(f"the same burst with {results['idle_connections_open']} idle connections held open")
    show("accepted per second", results["idle_accepted_per_s"])
    show("answer latency p50 / p99",
         f"{results['idle_p50_ms']} / {results['idle_p99_ms']}", " ms")
    show("refused or unanswered within 10 s", results["idle_refused"])
    print(f"queued: {args.queued} deliveries with the workers held")
    show("accepted per second (receiver alone)", results["queued_accepted_per_s"])
    show("answer latency p50 / p99 / max",
         f"{results['queued_p50_ms']} / {results['queued_p99_ms']} / {results['queued_max_ms']}", " ms")
    show("refused (not 202)", results["queued_refused"])
    show("queue depth, all queued", results["queue_depth_held"])
    show("VmRSS idle / all queued",
         f"{results['rss_idle_MiB']} / {results['rss_queued_MiB']}", " MiB")
    show("VmHWM (peak since start)", results["vmhwm_MiB"], " MiB")
    show("database + WAL, all queued", results["db_MiB"], " MiB")
    show("time to drain the queue, hold lifted", results["drain_s"], " s")
    show("exit code after SIGTERM", results["sigterm_exit"])
    if results.get("revoke_pushes"):
        print(f"push to revoke: {results['revoke_pushes']} pushes of a live token, --verify --revoke-policy live")
        show("median (target < 2 s)", results["push_to_revoke_median_s"], " s")
        show("max", results["push_to_revoke_max_s"], " s")
        show("not revoked within 60 s", results["push_to_revoke_missing"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
        print(f"\n(figures in {args.json})")


if __name__ == "__main__":
    main()
