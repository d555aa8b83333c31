#!/usr/bin/env bash
# stack/deps.sh - install the Debian packages CloudCrowd-C builds, runs and
# tests with (make deps; also run by make test and make demo). Asks dpkg
# which are missing and apt-get installs only those; silent when all are
# there. For Debian bookworm, as root (or with sudo).
#
# While it installs, services that packages would start (the system
# MariaDB, nginx on port 80) are held back with a temporary policy-rc.d:
# the project runs its own private instances (stack/start.sh).
set -euo pipefail

PROG=deps
ts() { date -u +%FT%TZ; }
say() { printf '%s %s: %s\n' "$(ts)" "$PROG" "$*"; }
die() { printf '%s %s: ERROR: %s\n' "$(ts)" "$PROG" "$*" >&2; exit 1; }

PACKAGES=(
	# build
	build-essential pkg-config
	libfcgi-dev libmariadb-dev libjansson-dev libcurl4-openssl-dev
	libmicrohttpd-dev libinih-dev libssl-dev
	# run: database and web server of the private stacks
	mariadb-server mariadb-client nginx-light apache2-utils
	# tests and tools
	libcmocka-dev jq curl iproute2 procps psmisc logrotate shellcheck
	# what the shipped actions run
	graphicsmagick poppler-utils qpdf ghostscript
	# (the browser test and the S3 test install what they need themselves:
	#  tests/browser/setup.sh -> chromium, playwright-core;
	#  tests/s3/setup.sh -> @20minutes/s3rver)
)

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[[ $status == ii* ]] || missing+=("$p")
done

if ((${#missing[@]})); then
	if ((EUID != 0)) && ! command -v sudo >/dev/null 2>&1; then
		die "missing packages (${missing[*]}) and not root: run as root, or install sudo"
	fi
	# shellcheck source=stack/apt.sh
	. "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

	# Hold back service starts while installing (only if no policy is set).
	policy=/usr/sbin/policy-rc.d
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\n# temporary, from CloudCrowd-C stack/deps.sh\nexit 101\n' |
			"${APT_SUDO[@]}" tee "$policy" >/dev/null
		"${APT_SUDO[@]}" chmod 755 "$policy"
		trap '"${APT_SUDO[@]}" rm -f "$policy"' EXIT
	fi

	say "missing: ${missing[*]}"
	say "apt-get update"
	"${APT[@]}" update >/dev/null || die "apt-get update failed"
	apt_install "${missing[@]}"
	say "installed: ${missing[*]}"
fi

# ---- npm packages for the browser tests (later) ----
