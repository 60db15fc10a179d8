#!/usr/bin/env bash
# hosts-down.sh DIR: stop the multi-host cluster hosts-up.sh started under DIR:
# the daemons by their pid files (and whatever else still runs in the
# cluster's network namespaces: job steps), the JuiceFS mounts, the namespace
# holders by pid, then the network namespaces by name (DIR's prefix). Never by
# process name. Idempotent: nothing running is fine.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
[ -d "$1" ] || { echo "hosts-down.sh: $1 does not exist: nothing to stop"; exit 0; }
DIR=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
me=hosts-down.sh
. "$here/lib.sh"
PFX=$(ns_prefix "$DIR")
JUICEFS=
[ -f "$DIR/etc/juicefs-real" ] && JUICEFS=$(cat "$DIR/etc/juicefs-real")

hosts=()
for d in "$DIR"/hosts/*/; do
	[ -d "$d" ] && hosts+=("$(basename "$d")")
done

for h in "${hosts[@]}"; do
	for f in "$DIR/hosts/$h"/run/*.pid; do
		[ -e "$f" ] && stop_pidfile "$f" "$DIR"
	done
done
for h in "${hosts[@]}"; do
	# A real JuiceFS mount is a process of its own: unmount it before the namespace goes.
	if [ -n "$JUICEFS" ] && pid=$(host_holder "$DIR" "$h"); then
		if nsenter --target "$pid" --mount -- mountpoint -q "$DIR/jfs"; then
			nsenter --target "$pid" --mount -- "$JUICEFS" umount "$DIR/jfs" >/dev/null 2>&1 ||
				nsenter --target "$pid" --mount -- "$JUICEFS" umount --force "$DIR/jfs" >/dev/null 2>&1 || true
		fi
	fi
	# Processes left in the host's network namespace (job steps, a munged a test started).
	if [ -e "/run/netns/$PFX-$h" ]; then
		for pid in $(ip netns pids "$PFX-$h" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
	fi
	if pid=$(host_holder "$DIR" "$h"); then
		kill -KILL "$pid" 2>/dev/null || true
		# Gone (or a zombie: its namespaces are released) within 5 s.
		for _ in $(seq 1 50); do
			[ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || break
			sleep 0.1
		done
	fi
	rm -f "$DIR/hosts/$h/holder.pid"
done
if [ -n "$JUICEFS" ] && mountpoint -q "$DIR/jfs"; then
	"$JUICEFS" umount "$DIR/jfs" >/dev/null 2>&1 || "$JUICEFS" umount --force "$DIR/jfs" >/dev/null 2>&1 || true
fi
# The namespaces by name: the hosts' and the fabric's (their veth pairs go with them).
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX-" || true); do
	ip netns del "$ns" 2>/dev/null || true
done
rm -rf "$DIR/hosts"
echo "hosts-down.sh: cluster under $DIR stopped"
