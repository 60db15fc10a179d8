#!/usr/bin/env bash
# demo.sh: the README's "try it" command on a fresh Debian 12 machine (run as root).
#   scripts/demo.sh          install deps, build, bring up a 3-node Slurm cluster with
#                            warmupd and a JuiceFS volume, submit jobs with --accel-data
#                            and show swarmup while they warm and run; leaves it all up.
#   scripts/demo.sh --hosts N   (or DEMO_HOSTS=N) the same on a cluster of separate hosts
#                            (network namespaces, test/slurm-cluster/hosts-up.sh): ctl
#                            (slurmctld), svc (warmupd on TCP with MUNGE), login (sbatch,
#                            swarmup), c1..cN (slurmd, slurm-prolog), each with its own
#                            munged and JuiceFS mount; prints the topology.
#   scripts/demo.sh stop     stop everything the demo started (by pid file); says so
#                            when nothing was running. Give it the same DEMO_DIR.
#   scripts/demo.sh stop-command     print the exact command that stops this DEMO_DIR's demo
#   scripts/demo.sh warmupd-command  print warmupd's environment and command line (as the demo runs it)
# Idempotent: run it again to replay the demo (datasets evicted, warmupd restarted with an empty queue).
# Uses a real `juicefs` when one is on PATH (local volume: sqlite3 metadata, file
# storage, FUSE mount), else the JuiceFS stand-in test/fakejuicefs.
# DEMO_DIR (default /tmp/accel-demo) holds everything; its parents must be world-executable.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
DEFAULT_DIR=/tmp/accel-demo
DIR=${DEMO_DIR:-$DEFAULT_DIR}
[ -d "$DIR" ] && DIR=$(cd "$DIR" && pwd)
BIN=$repo/bin
JFS=$DIR/jfs
SOCK=$DIR/run/warmupd.sock
here=$repo/test/slurm-cluster
me=demo.sh
# shellcheck source=../test/slurm-cluster/lib.sh
. "$here/lib.sh" # the job script and the datasets, shared with docker/slurm-cluster/demo.sh
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# The exact command that stops this demo (DEMO_DIR included when not the default).
stop_command() {
	if [ "$DIR" = "$DEFAULT_DIR" ]; then
		echo "$repo/scripts/demo.sh stop"
	else
		echo "DEMO_DIR=$(printf %q "$DIR") $repo/scripts/demo.sh stop"
	fi
}

# warmupd_argv JUICEFS: warmupd's environment and command line, NUL-separated
# (the demo runs it; `demo.sh warmupd-command` prints it). SLURM_CONF:
# warmupd's squeue poll (expected start of pending jobs) talks to the demo's cluster.
warmupd_argv() {
	printf '%s\0' env "SLURM_CONF=$DIR/cluster/etc/slurm.conf" ACCEL_DATA_CONF=/dev/null "$BIN/warmupd" \
		--socket "$SOCK" --database "$DIR/warmupd.db" --juicefs "$1" --mounts "$JFS" --check-interval 500ms
}

# cluster_up: does any daemon of the demo's Slurm cluster still run?
cluster_up() {
	local f
	for f in "$DIR"/cluster/run/*.pid; do
		alive "$f" && return 0
	done
	return 1
}

stop() {
	local stopped=()
	if [ ! -d "$DIR" ]; then
		echo "demo: $DIR does not exist: nothing to stop (started with another DEMO_DIR? run DEMO_DIR=that-dir $0 stop)"
		return 0
	fi
	if alive "$DIR/run/warmupd.pid"; then
		kill -TERM "$(cat "$DIR/run/warmupd.pid")"
		for _ in $(seq 1 100); do alive "$DIR/run/warmupd.pid" || break; sleep 0.1; done
		stopped+=(warmupd)
	fi
	rm -f "$DIR/run/warmupd.pid"
	if cluster_up; then
		"$repo/test/slurm-cluster/down.sh" "$DIR/cluster" >/dev/null
		stopped+=("the Slurm cluster")
	fi
	if [ -d "$DIR/hosts/hosts" ]; then
		"$repo/test/slurm-cluster/hosts-down.sh" "$DIR/hosts" >/dev/null
		stopped+=("the multi-host cluster")
	fi
	if [ -f "$DIR/real-juicefs" ] && mountpoint -q "$JFS"; then
		"$(cat "$DIR/real-juicefs")" umount "$JFS" || true
		stopped+=("the JuiceFS mount $JFS")
	fi
	if [ ${#stopped[@]} -eq 0 ]; then
		echo "demo: nothing was running under $DIR"
	else
		echo "demo: stopped ${stopped[*]} (remove $DIR to start from scratch)"
	fi
}
HOSTS=${DEMO_HOSTS:-}
case "${1:-}" in
stop) stop; exit 0 ;;
stop-command) stop_command; exit 0 ;;
warmupd-command)
	mapfile -d '' -t argv < <(warmupd_argv "$BIN/fakejuicefs")
	printf '%q ' "${argv[@]}"; echo; exit 0 ;;
--hosts) HOSTS=${2:-(none)}; shift; [ $# -eq 0 ] || shift ;;
esac
[ $# -eq 0 ] || { echo "usage: $0 [stop | stop-command | warmupd-command | --hosts N]" >&2; exit 2; }
[ -z "$HOSTS" ] || [[ "$HOSTS" =~ ^[1-9][0-9]?$ ]] || { echo "demo: --hosts wants a number of compute hosts from 1 to 99, got '$HOSTS'" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (it starts slurmctld/slurmd/munged like a real cluster)" >&2; exit 1; }

# hosts_demo N: the demo on a cluster of separate hosts (network namespaces).
hosts_demo() {
	local n=$1 H=$DIR/hosts on JFSH out
	on="$repo/test/slurm-cluster/on.sh $H" # printed; run with onh
	onh() { "$repo/test/slurm-cluster/on.sh" "$H" "$@"; }
	JFSH=$H/jfs
	say "a cluster of $n+3 hosts (network and mount namespaces, 198.18.0.0/24 on a private bridge)"
	"$repo/test/slurm-cluster/hosts-down.sh" "$H" >/dev/null
	# Nothing is mounted now: emptying the shared cache evicts every dataset, so the demo shows the warm-up again.
	rm -rf "$H/cache"
	mkdir -p "$H"
	ACCEL_BIN=$BIN ACCEL_PLUGIN=$repo/spank/accel_data.so ACCEL_PROLOG_WAIT=2m ACCEL_POLL=500ms \
		ACCEL_BANDWIDTH=40 ACCEL_TEST_JUICEFS=$(command -v juicefs || true) "$repo/test/slurm-cluster/hosts-up.sh" "$H" "$n"
	out=$H/out
	demo_job_script "$H/jobs"
	cat <<EOT

  host    address       runs
  ctl     198.18.0.1    slurmctld                                      (SlurmctldHost=ctl(198.18.0.1))
  svc     198.18.0.2    warmupd --listen 198.18.0.2:7117, munged, JuiceFS mount $JFSH
  login   198.18.0.3    sbatch/salloc/srun with the plugin, swarmup, munged, JuiceFS mount
  c1..c$n  198.18.0.11…  slurmd, slurm-prolog (Prolog/Epilog), munged, JuiceFS mount (cache $H/cache, shared)
  every munged: the same key, its socket at $H/run/munge.sock on its own host
  plugstack.conf: $(cat "$H/etc/plugstack.conf")
  accel-data.conf: $(tr '\n' ' ' <"$H/etc/accel-data.conf")
EOT
	say "datasets (written on this machine into the one volume)"
	demo_dataset "$JFSH" imagenet-mini 50 "$H"
	demo_dataset "$JFSH" coco-mini 25 "$H"
	du -sh "$JFSH"/datasets/*

	say "submitting from login: sbatch --accel-data=... (jobs on c1..c$n share imagenet-mini)"
	local i
	for i in $(seq 1 "$n"); do
		echo "login\$ sbatch -w c$i --accel-data=$JFSH/datasets/imagenet-mini train.sh"
		onh login sbatch -w "c$i" -o "$out/%j.out" --accel-data="$JFSH/datasets/imagenet-mini" "$H/jobs/train.sh" "$JFSH/datasets/imagenet-mini"
	done
	echo "login\$ sbatch --accel-data=/etc/passwd ...   (bad input is refused at submission)"
	onh login sbatch --accel-data=/etc/passwd --wrap true || true

	say "swarmup on login (over TCP with MUNGE) while the data warms on svc"
	for _ in $(seq 1 90); do
		if [ -t 1 ]; then clear; else echo; fi
		date +%T
		onh login "$BIN/swarmup" --server 198.18.0.2:7117 --munge-socket "$H/run/munge.sock" --all || true
		echo
		onh login squeue -o '%.6i %.12j %.2t %.8M %.8r %N' || true
		[ -z "$(onh login squeue -h)" ] && break
		sleep 1
	done
	say "job output"
	for j in $(ls "$out"/*.out 2>/dev/null | sort -V | tail -n "$n"); do cat "$j"; done
	say "prolog log (one line per job and compute host)"
	tail -n $(( 2 * n )) "$H/log/prolog.log" 2>/dev/null || true
	cat <<EOT

The cluster is still up. Run commands on a host with test/slurm-cluster/on.sh, e.g.:
  $on login sbatch --accel-data=$JFSH/datasets/coco-mini --wrap 'ls $JFSH/datasets/coco-mini | wc -l'
  $on login $BIN/swarmup --server 198.18.0.2:7117 --munge-socket $H/run/munge.sock --all
  $on c1 hostname
Stop everything with:
  $(stop_command)
EOT
}

say "installing what is missing (scripts/deps.sh) and building (make build)"
cd "$repo"
./scripts/deps.sh
make -s build

mkdir -p "$DIR"/{run,log,jobs,out}
DIR=$(cd "$DIR" && pwd)
if [ -n "$HOSTS" ]; then
	chmod 755 "$DIR"
	hosts_demo "$HOSTS"
	exit 0
fi
JFS=$DIR/jfs
SOCK=$DIR/run/warmupd.sock
chmod 755 "$DIR" "$DIR/run" "$DIR/jobs" "$DIR/out"

say "JuiceFS volume at $JFS"
if command -v juicefs >/dev/null 2>&1; then
	JUICEFS=$(command -v juicefs)
	echo "$JUICEFS" >"$DIR/real-juicefs"
	if ! mountpoint -q "$JFS"; then
		meta=sqlite3://$DIR/meta.db
		[ -f "$DIR/meta.db" ] || "$JUICEFS" format --storage file --bucket "$DIR/bucket" --trash-days 0 --no-update "$meta" accel-demo
		mkdir -p "$JFS"
		"$JUICEFS" mount -d "$meta" "$JFS" --cache-dir "$DIR/cache" --cache-scan-interval=-1 --no-usage-report --log "$DIR/log/juicefs.log"
	fi
	echo "demo: real JuiceFS client $JUICEFS"
else
	JUICEFS=$BIN/fakejuicefs
	rm -f "$DIR/real-juicefs"
	[ -f "$JFS/.config" ] || "$JUICEFS" format "$JFS" --cache-dir "$DIR/cache" --bandwidth 40 >/dev/null
	echo "demo: no juicefs on PATH: using the JuiceFS stand-in (test/fakejuicefs, 40 MiB/s) — install juicefs to use a real client"
fi

say "datasets"
demo_dataset "$JFS" imagenet-mini 50 "$DIR"
demo_dataset "$JFS" coco-mini 25 "$DIR"
du -sh "$JFS"/datasets/*
# Evict so that every run of the demo shows the warm-up again.
"$JUICEFS" warmup --evict "$JFS/datasets" >/dev/null 2>&1 || true

say "warmupd (fresh queue each run, so the demo shows the warm-up again)"
if alive "$DIR/run/warmupd.pid"; then
	kill -TERM "$(cat "$DIR/run/warmupd.pid")"
	for _ in $(seq 1 100); do alive "$DIR/run/warmupd.pid" || break; sleep 0.1; done
fi
rm -f "$DIR"/warmupd.db*
if ! alive "$DIR/run/warmupd.pid"; then
	rm -f "$SOCK"
	mapfile -d '' -t argv < <(warmupd_argv "$JUICEFS")
	nohup "${argv[@]}" >>"$DIR/log/warmupd.log" 2>&1 &
	echo $! >"$DIR/run/warmupd.pid"
	for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
fi
[ -S "$SOCK" ] || { echo "demo: warmupd did not start, see $DIR/log/warmupd.log" >&2; tail -5 "$DIR/log/warmupd.log" >&2; exit 1; }
echo "demo: warmupd pid $(cat "$DIR/run/warmupd.pid"), socket $SOCK, log $DIR/log/warmupd.log"

say "Slurm cluster (slurmctld + 3 slurmd, accel-data plugin and prolog)"
ACCEL_BIN=$BIN ACCEL_PLUGIN=$repo/spank/accel_data.so ACCEL_SOCKET=$SOCK ACCEL_PREFIX=$JFS \
	ACCEL_PROLOG_WAIT=2m ACCEL_POLL=500ms "$repo/test/slurm-cluster/up.sh" "$DIR/cluster" 3
export SLURM_CONF=$DIR/cluster/etc/slurm.conf
export WARMUPD_SOCKET=$SOCK

demo_job_script "$DIR/jobs"

say "submitting: sbatch --accel-data=... (three jobs share imagenet-mini)"
submit() { # submit NODE PATHS
	echo "\$ sbatch -w $1 --accel-data=$2 train.sh"
	sbatch -w "$1" -o "$DIR/out/%j.out" --accel-data="$2" "$DIR/jobs/train.sh" $(tr ',' ' ' <<<"$2")
}
submit n1 "$JFS/datasets/imagenet-mini"
submit n2 "$JFS/datasets/imagenet-mini"
submit n3 "$JFS/datasets/imagenet-mini,$JFS/datasets/coco-mini"
echo "\$ sbatch --accel-data=/etc/passwd ...   (bad input is refused at submission)"
sbatch --accel-data=/etc/passwd --wrap true || true

say "swarmup while the data warms (jobs wait in their prolog: state R, and reason Prolog in squeue's %r column)"
for _ in $(seq 1 90); do
	if [ -t 1 ]; then clear; else echo; fi
	date +%T
	"$BIN/swarmup" --all || true
	echo
	squeue -o '%.6i %.12j %.2t %.8M %.8r %N' || true
	[ -z "$(squeue -h)" ] && break
	sleep 1
done

say "swarmup datasets"
"$BIN/swarmup" datasets || true
say "job output"
for j in $(ls "$DIR"/out/*.out 2>/dev/null | sort -V | tail -n 3); do cat "$j"; done
say "prolog log (one line per job and node)"
tail -n 6 "$DIR/cluster/log/prolog.log" 2>/dev/null || true

cat <<EOT

The cluster, warmupd and the volume are still up. Try:
  export SLURM_CONF=$SLURM_CONF WARMUPD_SOCKET=$SOCK
  sbatch --accel-data=$JFS/datasets/coco-mini --wrap 'ls $JFS/datasets/coco-mini | wc -l'
  $BIN/swarmup --all
Stop everything with:
  $(stop_command)
EOT
