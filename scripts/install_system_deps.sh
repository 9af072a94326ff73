#!/usr/bin/env bash
# System packages the tests need beyond Python: Debian's Chromium (the HTML report is opened
# headless). Installs only what is missing, and only where apt-get can (root on Debian).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "Chromium is needed by the report tests: sudo apt-get install chromium" >&2
  exit 1
fi
