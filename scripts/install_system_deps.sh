#!/usr/bin/env bash
# System packages the tests need beyond Python: Debian's Chromium (the HTML report is opened
# headless) and PostgreSQL (the lake backend's catalog; the tests start their own server in a
# temporary folder). Installs only what is missing, and only where apt-get can (root on Debian).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
# initdb is not on PATH in Debian's package: it lives under /usr/lib/postgresql/<major>/bin.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "Needed by the tests: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
