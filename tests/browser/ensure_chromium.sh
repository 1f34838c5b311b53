#!/usr/bin/env bash
# Make sure a Chromium that Playwright can drive exists; print its path on the last line.
# Order: SESAME_CHROMIUM, /usr/bin/chromium, Debian's package (root + apt), Playwright's download.
set -euo pipefail
venv_python="${1:-.venv/bin/python}"

found() { echo "$1"; exit 0; }

if [ -n "${SESAME_CHROMIUM:-}" ] && [ -x "${SESAME_CHROMIUM}" ]; then found "$SESAME_CHROMIUM"; fi
for candidate in /usr/bin/chromium /usr/bin/chromium-browser; do
  [ -x "$candidate" ] && found "$candidate"
done

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "Chromium not found: installing Debian's chromium package (apt-get)…" >&2
  if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2; then
    [ -x /usr/bin/chromium ] && found /usr/bin/chromium
  fi
  echo "apt-get could not install chromium; trying Playwright's own browser." >&2
fi

if "$venv_python" -m playwright install chromium >&2; then
  path=$("$venv_python" - <<'PY'
from playwright.sync_api import sync_playwright
with sync_playwright() as p:
    print(p.chromium.executable_path)
PY
)
  [ -x "$path" ] && found "$path"
fi

cat >&2 <<'MSG'
No Chromium could be provisioned for the browser tests.
Fix one of these, then run `make test` again:
  - as root on Debian/Ubuntu:  apt-get update && apt-get install -y chromium
  - or with network access:    .venv/bin/python -m playwright install chromium
  - or point SESAME_CHROMIUM at an existing Chromium/Chrome executable.
MSG
exit 1
