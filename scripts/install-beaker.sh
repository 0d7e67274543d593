#!/usr/bin/env bash
# Installs Python Beaker 1.14 with both of its AES backends (pyca `cryptography`, `pycryptodome`)
# into a virtual environment, for tests/beaker.rs (feature `beaker-compat`): the tests make their
# legacy cookies with Beaker's own CookieSession (tests/beaker/make_cookies.py).
#
#   scripts/install-beaker.sh     # exits 0 when the environment is (now) ready
#
# The environment lives in $SEALED_TEST_BEAKER_VENV (default: target/beaker-venv), which is
# where tests/beaker.rs looks for it. Needs python3; installs Debian's python3-venv with apt-get
# (as root) when `python3 -m venv` cannot work. Prints the commands to run by hand when it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${SEALED_TEST_BEAKER_VENV:-target/beaker-venv}"
PY="$VENV/bin/python"
REQUIREMENTS=("beaker==1.14.*" "cryptography" "pycryptodome")

ready() {
  [ -x "$PY" ] && "$PY" -c 'import beaker, cryptography, Crypto; assert beaker.__version__.startswith("1.14")' 2>/dev/null
}

if ready; then
  echo "Beaker present: $("$PY" -c 'import beaker; print(beaker.__version__)') in $VENV"
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

apt_install() {
  $SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "$@"
}

if ! command -v python3 >/dev/null 2>&1; then
  if ! apt_install python3 python3-venv; then
    echo "ERROR: no python3 and it could not be installed. Run as root:" >&2
    echo "  apt-get update && apt-get install -y python3 python3-venv" >&2
    exit 1
  fi
fi

# Debian splits ensurepip (what `python3 -m venv` needs) into python3-venv.
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  if ! apt_install python3-venv; then
    echo "ERROR: python3 has no venv/ensurepip and python3-venv could not be installed. Run as root:" >&2
    echo "  apt-get update && apt-get install -y python3-venv" >&2
    exit 1
  fi
fi

rm -rf "$VENV"
if ! python3 -m venv "$VENV"; then
  echo "ERROR: python3 -m venv $VENV failed" >&2
  exit 1
fi
if ! "$PY" -m pip install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}"; then
  echo "ERROR: could not install ${REQUIREMENTS[*]} from PyPI into $VENV. By hand:" >&2
  echo "  python3 -m venv $VENV && $PY -m pip install ${REQUIREMENTS[*]}" >&2
  exit 1
fi
if ! ready; then
  echo "ERROR: Beaker 1.14 still not importable from $PY" >&2
  exit 1
fi
echo "installed: Beaker $("$PY" -c 'import beaker; print(beaker.__version__)') in $VENV"
