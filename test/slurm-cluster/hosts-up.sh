#!/usr/bin/env bash
# hosts-up.sh DIR [N=3]: start a Slurm cluster of separate hosts on this machine
# under DIR, the way a real cluster is laid out, with accel-data wired in:
#   ctl      slurmctld
#   svc      warmupd, listening on TCP (Listen=) with MUNGE; its unix socket
#            is on a tmpfs only svc sees
#   login    where users run sbatch/salloc/srun/swarmup (the SPANK plugin)
#   c1..cN   one slurmd each (slurmd -N cK), slurm-prolog as Prolog/Epilog
# Each host is a network namespace (veth to a bridge in a namespace of its own,
# addresses 198.18.0.0/24 only: nothing is added to this machine's network)
# plus a mount and UTS namespace (hostname = host name). Every host runs its
# own munged with the cluster's one key, its socket at the same path
# (DIR/run/munge.sock: a per-host directory mounted over DIR/run), so one
# slurm.conf, plugstack.conf and accel-data.conf serve all hosts. svc, login
# and c1..cN each mount the one JuiceFS volume at DIR/jfs, sharing the cache
# directory DIR/cache: the stand-in (a bind mount of the stand-in volume per
# host) or, with ACCEL_TEST_JUICEFS, a real `juicefs mount` per host with
# --cache-scan-interval=-1 (also mounted on this machine at DIR/jfs, so
# that data can be written there).
# Idempotent: a second run with the same settings leaves the cluster alone;
# with other settings it restarts it. A failed start tears down what it
# started. Stop it with hosts-down.sh DIR; run commands on a host with
# on.sh DIR HOST CMD… (e.g. on.sh DIR login sinfo).
#
# Environment (besides ACCEL_BIN, ACCEL_PLUGIN, ACCEL_PROLOG_WAIT, ACCEL_POLL,
# ACCEL_TIMEOUT_MS of up.sh):
#   ACCEL_PREFIX        the plugin's allowed prefixes (default: DIR/jfs)
#   ACCEL_PORT          warmupd's TCP port on svc (default: 7117)
#   ACCEL_WARMUPD       1 (default): start warmupd on svc; 0: leave svc without
#                       it (the tests start their own)
#   ACCEL_BANDWIDTH     warm-up bandwidth, MiB/s (default 100; 0 = unlimited)
#   ACCEL_TEST_JUICEFS  a real juicefs binary: mount a real local volume
#   ACCEL_TEST_STANDIN_FUSE  1: mount the stand-in per host with FUSE like a real
#                       client (its volume in DIR/volume/standin; docs/standin-fuse.md)
set -euo pipefail

usage() { echo "usage: $0 DIR [N]   (see the comment at the top of $0)" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
N=${2:-3}
[[ "$N" =~ ^[1-9][0-9]?$ ]] || { echo "hosts-up.sh: N must be a number from 1 to 99, got '$N'" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "hosts-up.sh: run as root (network namespaces, mounts, slurmd)" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
me=hosts-up.sh
. "$here/lib.sh"
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
ACCEL_PREFIX=${ACCEL_PREFIX:-$DIR/jfs}
accel_settings ip nsenter unshare
world_executable "$DIR"
ACCEL_PORT=${ACCEL_PORT:-7117}
ACCEL_WARMUPD=${ACCEL_WARMUPD:-1}
ACCEL_BANDWIDTH=${ACCEL_BANDWIDTH:-100}
REAL=${ACCEL_TEST_JUICEFS:-}
# ACCEL_TEST_STANDIN_FUSE=1: the stand-in is a FUSE mount per host, mounted like a real client
# (docs/standin-fuse.md), instead of a bind mount of a plain directory.
FUSE_STANDIN=
[ -z "$REAL" ] && [ "${ACCEL_TEST_STANDIN_FUSE:-}" = 1 ] && FUSE_STANDIN=1
if [ -n "$REAL" ]; then
	JUICEFS=$REAL
else
	JUICEFS=$ACCEL_BIN/fakejuicefs
	[ -x "$JUICEFS" ] || { echo "hosts-up.sh: $JUICEFS is missing: run 'make build' (or set ACCEL_TEST_JUICEFS)" >&2; exit 1; }
fi

PFX=$(ns_prefix "$DIR")
HOSTS=(ctl svc login)
COMPUTE=()
for i in $(seq 1 "$N"); do COMPUTE+=("c$i"); done
HOSTS+=("${COMPUTE[@]}")
SVC=$(host_addr svc)
SERVER=$SVC:$ACCEL_PORT
MSOCK=$DIR/run/munge.sock
WSOCK=$DIR/run/private/warmupd.sock

mkdir -p "$DIR"/{etc,run,log,munge,spool/ctld,jfs,cache,out}
chmod 755 "$DIR" "$DIR"/{etc,run,log,spool,jfs,out}
chmod 700 "$DIR"/munge

# The configuration every host shares.
new=$DIR/etc/slurm.conf.new
{
	echo "# Written by test/slurm-cluster/hosts-up.sh; a cluster of network namespaces under $DIR."
	hosts_slurm_conf "$DIR" "$MSOCK" "${COMPUTE[@]}"
	echo "# plugin=$ACCEL_PLUGIN juicefs=$JUICEFS bandwidth=$ACCEL_BANDWIDTH warmupd=$ACCEL_WARMUPD"
} >"$new"
plug_new=$(hosts_plugstack "$SERVER" "$MSOCK")
conf_new=$(hosts_accel_conf "$DIR" "$SERVER" "$MSOCK")
hosts_new=$( {
	printf '127.0.0.1\tlocalhost\n'
	for h in "${HOSTS[@]}"; do printf '%s\t%s\n' "$(host_addr "$h")" "$h"; done
} )

# running: every host's holder and daemons alive.
running() {
	local h
	for h in "${HOSTS[@]}"; do
		host_holder "$DIR" "$h" >/dev/null || return 1
		alive "$DIR/hosts/$h/run/munged.pid" || return 1
	done
	alive "$DIR/hosts/ctl/run/slurmctld.pid" || return 1
	for h in "${COMPUTE[@]}"; do alive "$DIR/hosts/$h/run/slurmd-$h.pid" || return 1; done
	[ "$ACCEL_WARMUPD" = 0 ] || alive "$DIR/hosts/svc/run/warmupd.pid" || return 1
	[ "$(ls "$DIR/hosts")" = "$(printf '%s\n' "${HOSTS[@]}" | sort)" ] || return 1
}
if running; then
	if cmp -s "$new" "$DIR/etc/slurm.conf" && [ "$plug_new" = "$(cat "$DIR/etc/plugstack.conf")" ] &&
		[ "$conf_new" = "$(cat "$DIR/etc/accel-data.conf")" ]; then
		rm -f "$new"
		echo "hosts-up.sh: cluster under $DIR already running with these settings"
		exit 0
	fi
	echo "hosts-up.sh: settings changed, restarting the cluster under $DIR"
fi
# Start from nothing: whatever an earlier run left goes first.
"$here/hosts-down.sh" "$DIR" >/dev/null

# From here on, a failure tears down everything this run started.
trap 'rc=$?; if [ $rc -ne 0 ]; then echo "hosts-up.sh: start failed, tearing down" >&2; "$here/hosts-down.sh" "$DIR" >&2 || true; fi' EXIT

mv "$new" "$DIR/etc/slurm.conf"
echo "$plug_new" >"$DIR/etc/plugstack.conf"
echo "$conf_new" >"$DIR/etc/accel-data.conf"
echo "$hosts_new" >"$DIR/etc/hosts"
cp "$repo/contrib/slurm.conf.d/job_submit.lua" "$DIR/etc/job_submit.lua"
echo "$PFX" >"$DIR/etc/ns-prefix"
chmod 644 "$DIR"/etc/*
[ -f "$DIR/munge/munge.key" ] || mungekey -c -k "$DIR/munge/munge.key" >/dev/null
chmod 600 "$DIR/munge/munge.key"

# The JuiceFS volume (formatted once).
if [ -n "$REAL" ]; then
	jfs_format "$REAL" "$DIR" accel-hosts
	mapfile -t jfs_mount_args < <(jfs_mount_args "$DIR")
	# For the tests, which mount svc again with the bandwidth a test asks for (a mount option of a real client).
	printf '%s\n' "${jfs_mount_args[@]}" >"$DIR/etc/juicefs-mount.args"
	echo "$REAL" >"$DIR/etc/juicefs-real" # hosts-down.sh unmounts with it
	mbps=$(download_limit_mbps "$ACCEL_BANDWIDTH") # 0 for 0: unlimited; 0.5 MiB/s is a limit
	if [ "$mbps" != 0 ]; then
		jfs_mount_args+=(--download-limit "$mbps")
	fi
elif [ -n "$FUSE_STANDIN" ]; then
	if [ ! -f "$DIR/volume/standin/.config" ]; then
		mkdir -p "$DIR/volume"
		"$JUICEFS" format "$DIR/volume/standin" --cache-dir "$DIR/cache" --bandwidth "$ACCEL_BANDWIDTH" >/dev/null
	fi
	jfs_mount_args=(mount -d "$DIR/volume/standin" "$DIR/jfs" --cache-scan-interval=-1)
	echo "$JUICEFS" >"$DIR/etc/juicefs-real" # hosts-down.sh unmounts with it: a mount process of its own, as a real client
else
	rm -f "$DIR/etc/juicefs-real"
fi
if [ -z "$REAL" ] && [ -z "$FUSE_STANDIN" ] && [ ! -f "$DIR/jfs/.config" ]; then
	"$JUICEFS" format "$DIR/jfs" --cache-dir "$DIR/cache" --bandwidth "$ACCEL_BANDWIDTH" >/dev/null
fi

# The fabric: a bridge in a namespace of its own.
fabric_up "$PFX"

for h in "${HOSTS[@]}"; do
	hd=$DIR/hosts/$h
	mkdir -p "$hd/run" "$hd/munge"
	chmod 755 "$hd" "$hd/run"
	chmod 700 "$hd/munge"
	netns_host "$PFX" "$h" "$(host_addr "$h")"
	# The holder keeps the host's mount and UTS namespaces (no process of the
	# host shares this machine's mounts or hostname).
	setsid unshare --mount --uts --propagation private sleep infinity </dev/null >/dev/null 2>&1 &
	echo $! >"$hd/holder.pid"
	disown
	for _ in $(seq 1 100); do
		[ "$(readlink "/proc/$(cat "$hd/holder.pid")/ns/mnt" 2>/dev/null)" != "$(readlink /proc/self/ns/mnt)" ] && break
		sleep 0.02
	done
	nsenter --target "$(cat "$hd/holder.pid")" --mount --uts -- sh -ec "
		hostname $h
		mount --bind '$hd/run' '$DIR/run'
		mount --bind '$DIR/etc/hosts' /etc/hosts"
	if [ "$h" = svc ]; then
		# warmupd's unix socket: on a tmpfs only svc sees (no socket is shared between hosts).
		mkdir -p "$hd/run/private"
		on "$DIR" svc mount -t tmpfs -o mode=700,size=1m accel-private "$DIR/run/private"
	fi
	on "$DIR" "$h" munged -S "$MSOCK" --key-file="$DIR/munge/munge.key" --pid-file="$DIR/run/munged.pid" \
		--log-file="$DIR/log/munged-$h.log" --seed-file="$hd/munge/munged.seed" --force ||
		{ echo "hosts-up.sh: munged on $h failed to start, see $DIR/log/munged-$h.log:" >&2; tail -5 "$DIR/log/munged-$h.log" >&2; exit 1; }
	if [ "$h" != ctl ]; then
		# Every host but the controller mounts the volume (login too: the plugin checks paths there).
		if [ -n "$REAL" ] || [ -n "$FUSE_STANDIN" ]; then
			on "$DIR" "$h" "$JUICEFS" "${jfs_mount_args[@]}" --log "$DIR/log/juicefs-$h.log" >/dev/null
		else
			on "$DIR" "$h" mount --bind "$DIR/jfs" "$DIR/jfs"
		fi
	fi
done
if { [ -n "$REAL" ] || [ -n "$FUSE_STANDIN" ]; } && ! mountpoint -q "$DIR/jfs"; then
	# This machine's own mount, to write data (made after the hosts', so they do not see it).
	"$JUICEFS" "${jfs_mount_args[@]}" --log "$DIR/log/juicefs-admin.log" >/dev/null
fi

export SLURM_CONF=$DIR/etc/slurm.conf
on "$DIR" ctl slurmctld -f "$SLURM_CONF" ||
	{ echo "hosts-up.sh: slurmctld failed, see $DIR/log/slurmctld.log:" >&2; tail -5 "$DIR/log/slurmctld.log" >&2; exit 1; }
for h in "${COMPUTE[@]}"; do
	on "$DIR" "$h" slurmd -f "$SLURM_CONF" -N "$h" ||
		{ echo "hosts-up.sh: slurmd $h failed, see $DIR/log/slurmd-$h.log:" >&2; tail -5 "$DIR/log/slurmd-$h.log" >&2; exit 1; }
done

if [ "$ACCEL_WARMUPD" != 0 ]; then
	# SLURM_CONF: warmupd's squeue poll reaches the controller from svc.
	on "$DIR" svc env SLURM_CONF="$SLURM_CONF" ACCEL_DATA_CONF=/dev/null FAKEJUICEFS_BANDWIDTH="$ACCEL_BANDWIDTH" \
		"$ACCEL_BIN/warmupd" --socket "$WSOCK" --database "$DIR/hosts/svc/warmupd.db" --juicefs "$JUICEFS" \
		--mounts "$DIR/jfs" --listen "$SERVER" --munge-socket "$MSOCK" </dev/null >>"$DIR/log/warmupd.log" 2>&1 &
	echo $! >"$DIR/hosts/svc/run/warmupd.pid"
	disown
	for _ in $(seq 1 100); do
		on "$DIR" svc test -S "$WSOCK" && break
		alive "$DIR/hosts/svc/run/warmupd.pid" || break
		sleep 0.1
	done
	on "$DIR" svc test -S "$WSOCK" ||
		{ echo "hosts-up.sh: warmupd did not start on svc, see $DIR/log/warmupd.log:" >&2; tail -5 "$DIR/log/warmupd.log" >&2; exit 1; }
fi

wait_idle "$N" "$DIR/log" on "$DIR" login
trap - EXIT
echo "hosts-up.sh: cluster up under $DIR: ctl $(host_addr ctl), svc $(host_addr svc) (warmupd $SERVER), login $(host_addr login), $N compute hosts c1..c$N"
echo "hosts-up.sh: run commands on a host with: $here/on.sh $DIR login sinfo"
