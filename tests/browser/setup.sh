#!/usr/bin/env bash
# tests/browser/setup.sh - make the browser test runnable: Debian's
# chromium (apt-get, when /usr/bin/chromium is missing) and playwright-core
# from npm (npm install here, when node_modules lacks it). playwright-core
# never downloads a browser: the test drives /usr/bin/chromium. Silent
# when everything is there. As root (or with sudo for apt-get).
set -euo pipefail

PROG=browser-setup
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ts() { date -u +%FT%TZ; }
say() { printf '%s %s: %s\n' "$(ts)" "$PROG" "$*"; }
die() { printf '%s %s: ERROR: %s\n' "$(ts)" "$PROG" "$*" >&2; exit 1; }

# shellcheck source=stack/apt.sh
. "$HERE/../../stack/apt.sh"

if [[ ! -x /usr/bin/chromium ]]; then
	apt_install chromium fonts-dejavu-core
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	apt_install nodejs npm
fi
if [[ ! -f $HERE/node_modules/playwright-core/package.json ]]; then
	say "npm install (playwright-core) in $HERE"
	# No browser download, ever: Debian's chromium is used.
	(cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund \
		--loglevel=error) >&2 || die "npm install failed in $HERE"
fi
[[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium is still missing"
[[ -f $HERE/node_modules/playwright-core/package.json ]] || die "playwright-core is still missing"
