#!/usr/bin/env bash
# Installs what building and testing accel-data needs on Debian 12, and
# nothing when it is already there (idempotent). Go and gcc come with the
# machine; Go modules come from the module proxy via `go mod download`.
set -euo pipefail
pkgs=(slurm-wlm slurmctld slurmd munge libslurm-dev sqlite3 make)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# Debian starts the packaged daemons; accel-data's tests run their own.
	for s in slurmctld slurmd munge; do $SUDO systemctl disable --now "$s" >/dev/null 2>&1 || true; done
fi
go mod download
