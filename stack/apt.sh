# stack/apt.sh - apt_install PKG...: the one way the project's scripts
# install Debian packages (stack/deps.sh, tests/browser/setup.sh). Sourced,
# never run; the caller defines say and die.
#
# Installs without recommends, waits up to 300 s for another apt to let go
# of the lock, keeps existing config files, and repairs what an earlier,
# interrupted install left behind: when apt-get refuses because "dpkg was
# interrupted", it runs `dpkg --configure -a` and `apt-get -f install` and
# tries again (a CI machine or a killed test run can leave dpkg that way).
# On a first failure it also runs apt-get update once, for stale lists.

# shellcheck shell=bash

APT_SUDO=()
((EUID == 0)) || APT_SUDO=(sudo)
export DEBIAN_FRONTEND=noninteractive
APT=("${APT_SUDO[@]}" apt-get -q -y -o DPkg::Lock::Timeout=300
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# apt_repair: finish whatever dpkg left half-done. Quiet when nothing is.
apt_repair() {
	if [[ -n $("${APT_SUDO[@]}" dpkg --audit 2>/dev/null) ]]; then
		say "dpkg was left half-done by an earlier install: dpkg --configure -a"
		"${APT_SUDO[@]}" dpkg --configure -a >/dev/null ||
			die "dpkg --configure -a failed (see dpkg --audit)"
		"${APT[@]}" -f install >/dev/null || die "apt-get -f install failed"
	fi
}

apt_install() {
	apt_repair
	say "apt-get install $*"
	"${APT[@]}" install --no-install-recommends "$@" >&2 && return 0
	apt_repair
	say "apt-get update"
	"${APT[@]}" update >/dev/null || die "apt-get update failed"
	"${APT[@]}" install --no-install-recommends "$@" >&2 ||
		die "apt-get install $* failed"
}
