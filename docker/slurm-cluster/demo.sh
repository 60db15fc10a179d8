#!/usr/bin/env bash
# demo.sh [JOBS]: the demo on the Docker cluster; run it on the login host:
#   docker compose exec login /opt/accel-data/docker/slurm-cluster/demo.sh
# Writes the dataset imagenet-mini (50 x 4 MiB) into the JuiceFS volume once
# and evicts it from the cache, submits JOBS jobs (default: one per compute
# host) with sbatch --accel-data, shows swarmup and squeue while the data
# warms on svc and the jobs wait in their prolog, then the jobs' output, the
# prolog log and the finished warm-ups. Prints "Submitted batch job N" per job
# (sbatch's line; test/docker reads it). The job script and the dataset are
# scripts/demo.sh's (test/slurm-cluster/lib.sh).
set -euo pipefail
me=demo.sh
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
JOBS=${1:-$N}
[[ "$JOBS" =~ ^[1-9][0-9]?$ ]] || { echo "usage: $0 [JOBS]   (1 to 99 jobs, default $N)" >&2; exit 2; }
[ -f "$DIR/run/ready" ] || { echo "$me: run it on the login host once it is ready (docker compose ps: login healthy)" >&2; exit 1; }
DS=$DIR/jfs/datasets/imagenet-mini
OUT=$DIR/shared/out
banner() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

banner "dataset (written once into the one volume, then evicted from the cache)"
juicefs_note
if [ ! -f "$DIR/jfs/.dataset-imagenet-mini-done" ]; then
	demo_dataset "$DIR/jfs" imagenet-mini 50 "$DIR/jfs"
	"$JUICEFS" warmup --evict "$DS" >/dev/null 2>&1 || true
fi
du -sh "$DS"
demo_job_script "$DIR/shared/jobs"

banner "submitting from login: sbatch --accel-data=$DS"
for i in $(seq 1 "$JOBS"); do
	node=c$(( (i - 1) % N + 1 ))
	echo "login\$ sbatch -w $node --accel-data=$DS train.sh"
	sbatch -w "$node" -o "$OUT/%j.out" --accel-data="$DS" "$DIR/shared/jobs/train.sh" "$DS"
done
echo "login\$ sbatch --accel-data=/etc/passwd ...   (bad input is refused at submission)"
sbatch --accel-data=/etc/passwd --wrap true || true

banner "swarmup on login (over TCP with MUNGE) while the data warms on svc"
for _ in $(seq 1 120); do
	echo
	date +%T
	swarmup --all || true
	echo
	squeue -o '%.6i %.12j %.2t %.8M %.8r %N' || true
	[ -z "$(squeue -h)" ] && break
	sleep 1
done
banner "job output"
for j in $(find "$OUT" -name '*.out' | sort -V | tail -n "$JOBS"); do cat "$j"; done
banner "prolog log (one line per job and compute host)"
tail -n $(( 2 * JOBS )) "$DIR/log/prolog.log" 2>/dev/null || true
banner "swarmup --all"
swarmup --all
