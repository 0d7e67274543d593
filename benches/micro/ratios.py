#!/usr/bin/env python3
"""The ratios of `cargo bench -p sealed-session-micro-bench --bench instructions`, as markdown.

    cargo bench -p sealed-session-micro-bench --bench instructions | python3 benches/micro/ratios.py

Reads gungraun's output on stdin (the header line of each benchmark, then its `Instructions:`).
"""

import re
import sys

counts = {}
name = None
for line in sys.stdin:
    m = re.match(r"^\S+::\S+::(\w+) (\w+):", line)
    if m:
        name = (m.group(1), m.group(2))
        continue
    m = re.match(r"^\s+Instructions:\s+(\d+)", line)
    if m and name:
        counts[name] = int(m.group(1))
        name = None

SIZES = [("150", "150 B"), ("1024", "1 KiB"), ("3000", "3 KiB")]
MODES = [
    ("siv", "AES-256-GCM-SIV (default)"),
    ("gcm", "AES-256-GCM"),
    ("xchacha", "XChaCha20-Poly1305"),
    ("signed", "signed (HMAC-SHA256, software SHA-256 under Valgrind)"),
]


def get(fn, bench):
    return counts.get((fn, bench))


def k(n):
    return f"{n / 1000:.1f}k" if n is not None else "n/a"


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "n/a"


print("| instructions (ratio to the floor) | " + " | ".join(l for _, l in SIZES) + " |")
print("|---|" + "---:|" * len(SIZES))
row = []
for i, (size, _) in enumerate(SIZES):
    s = get("session_path", f"size_{i}")
    f = get("floor_roundtrip", f"siv_{size}")
    row.append(f"{k(s)} ({ratio(s, f)})")
print("| session path: load, get, insert, finish (default mode) | " + " | ".join(row) + " |")
for mode, label in MODES:
    row = []
    for size, _ in SIZES:
        s = get("sealer_roundtrip", f"{mode}_{size}")
        f = get("floor_roundtrip", f"{mode}_{size}")
        row.append(f"{k(s)} ({ratio(s, f)})")
    print(f"| sealer seal + open, {label} | " + " | ".join(row) + " |")
for mode, label in MODES:
    row = [k(get("floor_roundtrip", f"{mode}_{size}")) for size, _ in SIZES]
    print(f"| floor, {label} | " + " | ".join(row) + " |")
for jar, mode, label in [
    ("private", "gcm", "cookie PrivateJar + serde (ratio to the AES-256-GCM floor)"),
    ("signed", "signed", "cookie SignedJar + serde (ratio to the signed floor)"),
]:
    row = []
    for size, _ in SIZES:
        s = get("peer_roundtrip", f"{jar}_{size}")
        f = get("floor_roundtrip", f"{mode}_{size}")
        row.append(f"{k(s)} ({ratio(s, f)})")
    print(f"| {label} | " + " | ".join(row) + " |")
