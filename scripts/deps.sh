#!/usr/bin/env bash
# Installs what building and testing accel-data needs on Debian 12, and
# nothing when it is already there (idempotent). Go and gcc come with the
# machine (a missing Go is reported with how to install it); Go modules come
# from the module proxy via `go mod download`.
set -euo pipefail
# shellcheck: the docker role scripts test; prometheus: promtool checks contrib/prometheus/alerts.yml
pkgs=(slurm-wlm slurmctld slurmd munge libmunge-dev libslurm-dev sqlite3 make iproute2 shellcheck prometheus)
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
	for s in slurmctld slurmd munge prometheus prometheus-node-exporter; do $SUDO systemctl disable --now "$s" >/dev/null 2>&1 || true; done
fi
if ! command -v go >/dev/null 2>&1; then
	need=$(sed -n 's/^go //p' "$(dirname "$0")/../go.mod")
	echo "deps: Go is not installed (and Debian 12's golang is too old): install Go $need or newer from https://go.dev/dl," >&2
	echo "deps: e.g. tar -C /usr/local -xzf go$need.linux-amd64.tar.gz && export PATH=/usr/local/go/bin:\$PATH, then run this again" >&2
	exit 1
fi
go mod download
