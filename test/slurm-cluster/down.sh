#!/usr/bin/env bash
# down.sh DIR: stop the cluster that up.sh started under DIR, by its pid files
# only (never by process name). Idempotent: nothing running is fine.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
[ -d "$1" ] || { echo "down.sh: $1 does not exist: nothing to stop"; exit 0; }
DIR=$(cd "$1" && pwd)

here=$(cd "$(dirname "$0")" && pwd)
me=down.sh
. "$here/lib.sh"
stop() { stop_pidfile "$1" "$DIR"; }

for f in "$DIR"/run/slurmd-*.pid; do
	[ -e "$f" ] && stop "$f"
done
stop "$DIR/run/slurmctld.pid"
stop "$DIR/run/munged.pid"
echo "down.sh: cluster under $DIR stopped"
