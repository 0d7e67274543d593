#!/usr/bin/env bash
# Installs Debian's `redis-server` for tests/redis.rs and benches/micro/benches/redis.rs (feature `redis`).
# The tests start their own server on a free 127.0.0.1 port; nothing here starts or enables one.
#
#   scripts/install-redis.sh     # exits 0 when /usr/bin/redis-server is (now) present
#
# Needs root (apt-get). Prints the exact command to run by hand when it cannot install.
set -euo pipefail

if [ -x /usr/bin/redis-server ]; then
  echo "redis-server present: $(/usr/bin/redis-server --version)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

if ! { $SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends redis-server; }; then
  echo "ERROR: could not install redis-server. Run as root:" >&2
  echo "  apt-get update && apt-get install -y redis-server" >&2
  exit 1
fi

# Where an init system runs, the package also starts a server on 6379: the tests do not use it
# (they start their own on a free port) and leave it alone.
if [ ! -x /usr/bin/redis-server ]; then
  echo "ERROR: redis-server still missing after apt-get install. Run as root:" >&2
  echo "  apt-get update && apt-get install -y redis-server" >&2
  exit 1
fi
echo "installed: $(/usr/bin/redis-server --version)"
