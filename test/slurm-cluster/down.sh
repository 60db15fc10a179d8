#!/usr/bin/env bash
# down.sh DIR: stop the cluster that up.sh started under DIR, by its pid files
# only (never by process name). Idempotent: nothing running is fine.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
[ -d "$1" ] || { echo "down.sh: $1 does not exist: nothing to stop"; exit 0; }
DIR=$(cd "$1" && pwd)

# stop PIDFILE: SIGTERM the process named in PIDFILE if it is ours (its command
# line mentions DIR), wait up to 10s, then SIGKILL.
stop() {
	local f=$1 pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$DIR"; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
}

for f in "$DIR"/run/slurmd-*.pid; do
	[ -e "$f" ] && stop "$f"
done
stop "$DIR/run/slurmctld.pid"
stop "$DIR/run/munged.pid"
echo "down.sh: cluster under $DIR stopped"
