#!/usr/bin/env bash
# Installs what the browser end-to-end tests (tests/browser/) drive: Debian's `chromium` and
# `chromium-driver` packages (/usr/bin/chromium and /usr/bin/chromedriver). Nothing is fetched at
# run time by the tests themselves; this script is the only install step.
#
# Usage: scripts/install-browser.sh        (as root, or with sudo available)
# Exit status: 0 when both binaries are present afterwards, 1 when they could not be installed
# (the message says what to install by hand).
set -euo pipefail

CHROMIUM=/usr/bin/chromium
DRIVER=/usr/bin/chromedriver
PACKAGES=(chromium chromium-driver)

have_all() {
  [[ -x "$CHROMIUM" && -x "$DRIVER" ]]
}

report() {
  echo "install-browser: chromium: $("$CHROMIUM" --version 2>/dev/null || echo '?')"
  echo "install-browser: chromedriver: $("$DRIVER" --version 2>/dev/null || echo '?')"
}

cannot() {
  cat >&2 <<MSG
install-browser: cannot install the browser: $1
install-browser: install these Debian packages by hand, then rerun the browser tests:
    apt-get update && apt-get install -y ${PACKAGES[*]}
install-browser: (they provide $CHROMIUM and $DRIVER; the tests skip without them unless
install-browser: SEALED_TEST_REQUIRE_BROWSER=1 is set)
MSG
  exit 1
}

if have_all; then
  echo "install-browser: $CHROMIUM and $DRIVER are already installed"
  report
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  cannot "apt-get is not available (not a Debian-based system)"
fi

SUDO=()
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    cannot "not running as root and sudo is not available without a password"
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-browser: installing ${PACKAGES[*]} with apt-get"
if ! "${SUDO[@]}" apt-get update -q; then
  cannot "apt-get update failed"
fi
if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"; then
  cannot "apt-get install ${PACKAGES[*]} failed"
fi

if ! have_all; then
  cannot "the packages installed but $CHROMIUM or $DRIVER is still missing"
fi
report
