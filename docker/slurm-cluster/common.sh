# common.sh: what every host of the Docker cluster shares; the role scripts
# (munge-key.sh, volume.sh, ctl.sh, svc.sh, login.sh, compute.sh) set `me`
# and source it. The layout and the configuration are the multi-host
# namespace cluster's (test/slurm-cluster/hosts-up.sh), made by the same
# functions of test/slurm-cluster/lib.sh with DIR=/accel:
#   /accel/etc     slurm.conf, plugstack.conf, accel-data.conf, job_submit.lua, cgroup.conf:
#                  written by every host at start, the same on all of them
#   /accel/run     the host's own munged socket, pid files (not shared)
#   /accel/munge   the cluster's MUNGE key (volume shared by every host)
#   /accel/jfs     the JuiceFS volume (stand-in: a shared volume; real client:
#                  each host's own FUSE mount of /accel/volume)
#   /accel/cache   the JuiceFS cache (volume shared by svc, login, c1..cN)
#   /accel/log     every host's logs (shared volume, file names say the host)
#   /accel/shared  job scripts and output (shared by login and c1..cN)
# Environment (docker-compose.yml sets it the same on every host):
#   COMPUTE_HOSTS      number of compute hosts c1..cN (the compose file has 3)
#   ACCEL_BANDWIDTH    warm-up bandwidth in MiB/s (0 = unlimited)
#   ACCEL_PROLOG_WAIT, ACCEL_POLL, ACCEL_TIMEOUT_MS, ACCEL_PORT: as for hosts-up.sh
# shellcheck shell=bash

DIR=/accel
here=/opt/accel-data/test/slurm-cluster
# shellcheck source=../../test/slurm-cluster/lib.sh
. "$here/lib.sh"
H=$(hostname)
N=${COMPUTE_HOSTS:-3}
[[ "$N" =~ ^[1-9][0-9]?$ ]] || { echo "$me: COMPUTE_HOSTS must be a number from 1 to 99, got '$N'" >&2; exit 2; }
ACCEL_PREFIX=${ACCEL_PREFIX:-$DIR/jfs}
ACCEL_PORT=${ACCEL_PORT:-7117}
ACCEL_BANDWIDTH=${ACCEL_BANDWIDTH:-100}
# shellcheck disable=SC2119 # no binaries to check beyond its own list
accel_settings
COMPUTE=()
for i in $(seq 1 "$N"); do COMPUTE+=("c$i"); done
MSOCK=$DIR/run/munge.sock
SERVER=$(host_addr svc):$ACCEL_PORT

# A real JuiceFS client where docker-compose.juicefs.yml mounts one, else the stand-in.
REAL_JUICEFS=/usr/local/bin/juicefs
if [ -x "$REAL_JUICEFS" ]; then
	JUICEFS=$REAL_JUICEFS
	REAL=1
else
	JUICEFS=$ACCEL_BIN/fakejuicefs
	REAL=
fi

say() { echo "$me ($H): $*"; }

# juicefs_note: say plainly which JuiceFS this host uses.
juicefs_note() {
	if [ -n "$REAL" ]; then
		say "JuiceFS: the real client $JUICEFS ($("$JUICEFS" --version 2>&1 | head -1))"
	else
		say "JuiceFS: THE STAND-IN test/fakejuicefs (a test double acting as the juicefs binary, NOT JuiceFS): no juicefs binary at $REAL_JUICEFS; to use a real client, start with docker-compose.juicefs.yml (docs/docker.md)"
	fi
}

# write_config: the cluster's configuration, the same on every host.
write_config() {
	mkdir -p "$DIR/etc"
	{
		echo "# Written by docker/slurm-cluster/common.sh on every host of the Docker cluster."
		hosts_slurm_conf "$DIR" "$MSOCK" "${COMPUTE[@]}"
	} >"$DIR/etc/slurm.conf"
	hosts_plugstack "$SERVER" "$MSOCK" >"$DIR/etc/plugstack.conf"
	hosts_accel_conf "$DIR" "$SERVER" "$MSOCK" >"$DIR/etc/accel-data.conf"
	cp "$repo/contrib/slurm.conf.d/job_submit.lua" "$DIR/etc/job_submit.lua"
	# slurmd loads a cgroup plugin whatever ProctrackType says. On a cgroup v2
	# host its plugin asks systemd over dbus for a scope, and a container has
	# neither: it builds the tree itself (Slurm 22.05's cgroup.conf(5); cgroup v1
	# ignores the key). The compute hosts are privileged, so the tree is writable.
	{
		echo "# Written by docker/slurm-cluster/common.sh: no systemd in a container."
		echo "IgnoreSystemd=yes"
	} >"$DIR/etc/cgroup.conf"
	chmod 644 "$DIR"/etc/*
}

# start_munged: this host's munged with the cluster's key (made by munge-key.sh).
start_munged() {
	local key=$DIR/munge/munge.key
	[ -f "$key" ] || { echo "$me: $key is missing: the munge-key service makes it (docker compose up starts it first)" >&2; exit 1; }
	rm -f "$MSOCK" "$MSOCK.lock"
	munged -S "$MSOCK" --key-file="$key" --pid-file="$DIR/run/munged.pid" \
		--log-file="$DIR/log/munged-$H.log" --seed-file="$DIR/run/munged.seed" --force ||
		{ echo "$me: munged failed to start, see $DIR/log/munged-$H.log:" >&2; tail -5 "$DIR/log/munged-$H.log" >&2; exit 1; }
}

# mount_volume: the JuiceFS volume at /accel/jfs (svc, login and compute hosts).
mount_volume() {
	juicefs_note
	if [ -z "$REAL" ]; then
		[ -f "$DIR/jfs/.config" ] || { echo "$me: $DIR/jfs is not a stand-in volume: the volume service formats it (docker compose up starts it first)" >&2; exit 1; }
		return 0
	fi
	local args mbps
	mapfile -t args < <(jfs_mount_args "$DIR")
	mbps=$(download_limit_mbps "$ACCEL_BANDWIDTH") # 0 for 0: unlimited; 0.5 MiB/s is a limit
	if [ "$mbps" != 0 ]; then
		args+=(--download-limit "$mbps")
	fi
	"$JUICEFS" "${args[@]}" --log "$DIR/log/juicefs-$H.log" >/dev/null ||
		{ echo "$me: juicefs mount failed (FUSE needs /dev/fuse and CAP_SYS_ADMIN: docker-compose.juicefs.yml gives both), see $DIR/log/juicefs-$H.log" >&2; exit 1; }
}

# follow LOG: copy a daemon's log file to the container's output (docker compose logs).
follow() {
	touch "$1"
	tail -n 0 -F "$1" 2>/dev/null &
}
