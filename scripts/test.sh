#!/usr/bin/env bash
# Every test of the crate, on a fresh machine: installs what the tests need, then runs
# `cargo test --workspace --all-features`: the crate and the workspace members that hold what its
# own dev-dependencies must not (the browser tests in tests/browser/, the benchmark crates in
# benches/, whose servers are built and benchmarks compiled). This is the README's test command,
# and .ci/run calls it.
#
#   scripts/test.sh                  # everything
#   scripts/test.sh --test seal      # extra arguments go to cargo test
#   scripts/test.sh -p sealed-session-browser-tests   # one member
#
# The test harness's own variables start with SEALED_TEST_, never SEALED_SESSION_: the config
# module treats an unknown SEALED_SESSION_* variable as a configuration error (typos are caught).
#
# Needs: the Rust toolchain. Installs (as root, with apt-get) when missing:
#   chromium chromium-driver   for tests/browser/ (skipped, loudly, only if they cannot be installed)
#   redis-server               for tests/redis.rs (the same: SKIPPED only if it cannot be installed)
#   python3-venv, then Beaker 1.14, cryptography and pycryptodome from PyPI into target/beaker-venv,
#                              for tests/beaker.rs (the same)
set -euo pipefail
cd "$(dirname "$0")/.."

if bash scripts/install-browser.sh; then
  # From here on a missing browser is a failure, not a skip.
  export SEALED_TEST_REQUIRE_BROWSER=1
else
  echo "WARNING: Chromium could not be installed; the browser tests (tests/browser/) will print SKIPPED." >&2
  echo "WARNING: install it with: apt-get update && apt-get install -y chromium chromium-driver" >&2
fi

if bash scripts/install-redis.sh; then
  # From here on a missing redis-server is a failure, not a skip.
  export SEALED_TEST_REQUIRE_REDIS=1
else
  echo "WARNING: redis-server could not be installed; tests/redis.rs will print SKIPPED." >&2
  echo "WARNING: install it with: apt-get update && apt-get install -y redis-server" >&2
fi

if bash scripts/install-beaker.sh; then
  # From here on a missing Beaker is a failure, not a skip.
  export SEALED_TEST_REQUIRE_BEAKER=1
else
  echo "WARNING: Beaker could not be installed; tests/beaker.rs will print SKIPPED." >&2
  echo "WARNING: install it with: scripts/install-beaker.sh (needs python3 and python3-venv)" >&2
fi

cargo test --workspace --all-features "$@"
