#!/usr/bin/env python3
"""Instructions per HTTP request, counted by Valgrind's Callgrind (see benches/README.md).

For each case: start the bench server under `valgrind --tool=callgrind`, open one keep-alive
connection, obtain the session cookie the way a browser would, warm up, zero the counters
(`callgrind_control --zero`), send N requests replaying that cookie, dump
(`callgrind_control --dump`), and divide the dump's total by N. Every thread of the server is
counted (Callgrind sums them); the client is this script, in another process, and is not.

    python3 benches/http/callgrind.py BIN_DIR [N]

BIN_DIR holds the release `bench_server` and `bench_server_actix`. Prints a markdown table: one row
per stack, instructions per request over the same framework's no-session server.
"""

import glob
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

PORT = int(os.environ.get("PORT", "18090"))
SEED = int(os.environ.get("SEED_BYTES", "1024"))
WARMUP = 50


class Client:
    """HTTP/1.1 over one keep-alive connection; reads each response fully before the next."""

    def __init__(self, port):
        deadline = time.time() + 60
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.buf = b""

    def get(self, path, cookie=None):
        req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if cookie:
            req += f"Cookie: {cookie}\r\n"
        self.sock.sendall((req + "\r\n").encode())
        while b"\r\n\r\n" not in self.buf:
            self._read()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = [l.split(":", 1) for l in lines[1:]]
        length = next(int(v) for k, v in headers if k.lower() == "content-length")
        while len(self.buf) < length:
            self._read()
        body, self.buf = self.buf[:length], self.buf[length:]
        set_cookie = [v.strip() for k, v in headers if k.lower() == "set-cookie"]
        if status != 200:
            raise SystemExit(f"GET {path}: status {status}")
        return body, set_cookie

    def _read(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed the connection")
        self.buf += chunk


def cookie_of(set_cookie, previous):
    for v in set_cookie:
        pair = v.split(";", 1)[0]
        if pair.startswith("session="):
            return pair
    return previous


def control(*args):
    subprocess.run(
        ["callgrind_control", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def measure(binary, variant, path, seed, n, mode=None):
    out_dir = tempfile.mkdtemp(prefix="callgrind-")
    env = dict(os.environ)
    if mode:
        env["SEALED_MODE"] = mode
    server = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out_dir}/callgrind.out.%p",
            binary,
            variant,
            f"127.0.0.1:{PORT}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = Client(PORT)
        cookie = None
        if variant != "none":
            if seed:
                _, sc = client.get(f"/seed?bytes={seed}")
                cookie = cookie_of(sc, cookie)
            _, sc = client.get("/counter", cookie)
            cookie = cookie_of(sc, cookie)
            if cookie is None:
                raise SystemExit(f"{variant}: no session cookie")
        expect = b'{"count":2}' if path == "/counter" else b'{"count":1}'
        # Every variant answers the same body to the first replayed request (tower-sessions keeps
        # the counter on the server, so its count then goes on growing).
        for i in range(WARMUP):
            body, _ = client.get(path, cookie)
            if i == 0 and body != expect:
                raise SystemExit(f"{variant} {path}: {body!r}, expected {expect!r}")
        control("--zero", str(server.pid))
        for _ in range(n):
            client.get(path, cookie)
        control("--dump", str(server.pid))
        client.sock.close()
        dumps = [
            f for f in glob.glob(f"{out_dir}/callgrind.out.*") if re.search(r"\.\d+\.\d+$", f)
        ]
        if len(dumps) != 1:
            raise SystemExit(f"expected one dump, found {dumps}")
        text = open(dumps[0]).read()
        keep = os.environ.get("KEEP")
        if keep:
            # For profiling: `callgrind_annotate KEEP/<row>.out` shows where the instructions go.
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{os.path.basename(binary)}-{variant}-{mode or ''}-{path}-{seed}")
            os.makedirs(keep, exist_ok=True)
            with open(os.path.join(keep, name + ".out"), "w") as f:
                f.write(text)
        total = int(re.search(r"^(?:summary|totals): (\d+)", text, re.M).group(1))
        return total / n, len(cookie or "")
    finally:
        server.terminate()
        server.wait()
        for f in glob.glob(f"{out_dir}/*"):
            os.remove(f)
        os.rmdir(out_dir)


MODES = ["aes-256-gcm-siv", "aes-256-gcm", "xchacha20poly1305", "signed-hmac-sha256"]


def main():
    bin_dir = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    only = os.environ.get("ONLY", "")
    axum = os.path.join(bin_dir, "bench_server")
    actix = os.path.join(bin_dir, "bench_server_actix")
    # label, binary, variant, path, mode
    rows = []
    for fw, binary, peers in [
        ("axum", axum, [("axum-extra PrivateCookieJar", "private-jar"), ("tower-sessions (memory)", "tower-sessions")]),
        ("actix-web", actix, [("actix-session (cookie)", "actix-session")]),
    ]:
        for mode in MODES:
            rows.append((f"{fw} + sealed-session ({mode})", binary, "sealed", "/counter", mode))
        for label, variant in peers:
            rows.append((f"{fw} + {label}", binary, variant, "/counter", None))
        rows.append((f"{fw} + sealed-session, read-only /me", binary, "sealed", "/me", None))
        for label, variant in peers:
            rows.append((f"{fw} + {label}, read-only /me", binary, variant, "/me", None))
    baselines = {}
    results = []
    for label, binary, variant, path, mode in rows:
        if only and not re.search(only, label):
            continue
        cells = []
        for seed in (0, SEED):
            key = (binary, path)
            if key not in baselines:
                baselines[key], _ = measure(binary, "none", path, 0, n)
                print(f"  {os.path.basename(binary)} none {path}: {baselines[key]:.0f}", file=sys.stderr)
            per, clen = measure(binary, variant, path, seed, n, mode)
            print(f"  {label} pad {seed}: {per:.0f} (cookie {clen} chars)", file=sys.stderr)
            cells.append(per - baselines[key])
        results.append((label, cells))
    print(f"| stack (instructions per request over the no-session server, N={n}) | pad 0 | {SEED} B of session data |")
    print("|---|---:|---:|")
    for (binary, path), base in baselines.items():
        print(f"| {os.path.basename(binary)} none {path} (absolute) | {base/1000:.1f}k | |")
    for label, (a, b) in results:
        print(f"| {label} | {a/1000:+.1f}k | {b/1000:+.1f}k |")


if __name__ == "__main__":
    main()
