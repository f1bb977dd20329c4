#!/usr/bin/env bash
# System libraries that pip cannot provide: Pango and HarfBuzz (WeasyPrint), a Japanese font for
# PDF reports, poppler-utils for the PDF tests, openssl for the test servers' certificates,
# Chromium for the browser tests of the HTML report (Playwright drives /usr/bin/chromium and
# never downloads a browser). Installs only what is missing.
set -euo pipefail
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-ipaexfont-gothic poppler-utils openssl \
           chromium; do
  have "$pkg" || need+=("$pkg")
done
((${#need[@]})) || exit 0
if ! command -v apt-get >/dev/null; then
  echo "migready: please install: ${need[*]} (Debian/Ubuntu package names)" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
