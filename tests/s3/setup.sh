#!/usr/bin/env bash
# tests/s3/setup.sh - make the S3 test server runnable: Node.js and npm
# (apt-get, when missing) and s3rver from npm (npm ci here, when
# node_modules lacks it). Silent when everything is there. As root (or
# with sudo for apt-get). Used by tests/integration/t0302-s3.sh.
set -euo pipefail

PROG=s3-setup
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ts() { date -u +%FT%TZ; }
say() { printf '%s %s: %s\n' "$(ts)" "$PROG" "$*"; }
die() { printf '%s %s: ERROR: %s\n' "$(ts)" "$PROG" "$*" >&2; exit 1; }

MODULE=$HERE/node_modules/@20minutes/s3rver/package.json

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	SUDO=()
	((EUID == 0)) || SUDO=(sudo)
	APT=("${SUDO[@]}" apt-get -q -y -o DPkg::Lock::Timeout=300)
	export DEBIAN_FRONTEND=noninteractive
	say "apt-get install nodejs npm"
	if ! "${APT[@]}" install --no-install-recommends nodejs npm >/dev/null; then
		say "apt-get update"
		"${APT[@]}" update >/dev/null || die "apt-get update failed"
		"${APT[@]}" install --no-install-recommends nodejs npm >/dev/null ||
			die "apt-get install nodejs npm failed"
	fi
fi
if [[ ! -f $MODULE ]]; then
	say "npm ci (s3rver) in $HERE"
	(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
		die "npm ci failed in $HERE"
fi
[[ -f $MODULE ]] || die "s3rver is still missing ($MODULE)"
