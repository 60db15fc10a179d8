#!/usr/bin/env bash
# up.sh DIR [N=3]: start a private Slurm cluster on this host under DIR: its own
# munged (key and socket), one slurmctld and N slurmd (n1..nN) on free ports,
# with accel-data wired in: the SPANK plugin in plugstack.conf and slurm-prolog
# as Prolog= and Epilog= (PrologFlags=Alloc). Waits until every node is idle.
# Idempotent: a second run with the same settings leaves the cluster alone; with
# other settings it restarts it. Stop it with down.sh DIR.
#
# Environment:
#   ACCEL_BIN          directory holding slurm-prolog (default: <repo>/bin)
#   ACCEL_PLUGIN       accel_data.so (default: $ACCEL_BIN/accel_data.so, else <repo>/spank/accel_data.so)
#   ACCEL_SOCKET       warmupd's socket (default: DIR/run/warmupd.sock)
#   ACCEL_PREFIX       colon-separated allowed path prefixes (default: /jfs)
#   ACCEL_PROLOG_WAIT  slurm-prolog's PrologWait, Go duration (default: 60s)
#   ACCEL_POLL         slurm-prolog's PollInterval (default: 200ms)
#   ACCEL_TIMEOUT_MS   the plugin's timeout_ms (default: 500)
#   ACCEL_STAGEIN      a Go duration: turn on stage-in mode (burst_buffer/lua, contrib's
#                      burst_buffer.lua, job_submit.lua with STAGE_IN = true) with this
#                      StageInDeadline (default: empty, off)
# Then use the cluster with: export SLURM_CONF=DIR/etc/slurm.conf
set -euo pipefail

usage() { echo "usage: $0 DIR [N]   (see the comment at the top of $0)" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
N=${2:-3}
[[ "$N" =~ ^[1-9][0-9]?$ ]] || { echo "up.sh: N must be a number from 1 to 99, got '$N'" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
me=up.sh
. "$here/lib.sh"
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
accel_settings
ACCEL_SOCKET=${ACCEL_SOCKET:-$DIR/run/warmupd.sock}
world_executable "$DIR"

mkdir -p "$DIR"/{etc,run,log,munge,spool/ctld}
chmod 755 "$DIR" "$DIR"/run
chmod 700 "$DIR"/munge

# Ports: keep the ones chosen by an earlier run, else find N+1 consecutive free ones.
if [ -s "$DIR/etc/port" ]; then
	BASE=$(cat "$DIR/etc/port")
else
	used=$(ss -Htan | awk '{print $4}' | sed 's/.*://' | sort -u)
	for _ in $(seq 1 200); do
		BASE=$(( 20000 + (RANDOM * 32768 + RANDOM) % 30000 ))
		ok=1
		for p in $(seq "$BASE" $(( BASE + N ))); do
			if grep -qx "$p" <<<"$used"; then ok=0; break; fi
		done
		[ "$ok" -eq 1 ] && break
	done
	echo "$BASE" >"$DIR/etc/port"
fi

host=$(hostname -s)
new=$DIR/etc/slurm.conf.new
{
	echo "# Written by test/slurm-cluster/up.sh; a private cluster under $DIR."
	echo "SlurmctldHost=$host(127.0.0.1)"
	echo "SlurmctldPort=$BASE"
	slurm_conf_common "$DIR" "$DIR/run/munge.sock"
	for i in $(seq 1 "$N"); do
		echo "NodeName=n$i NodeAddr=127.0.0.1 Port=$(( BASE + i )) CPUs=2 RealMemory=1000"
	done
	echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
	echo "# plugin=$ACCEL_PLUGIN"
	if [ -n "${ACCEL_STAGEIN:-}" ]; then
		echo "# accel-data stage-in mode: burst_buffer.lua next to this file runs slurm-prolog stagein."
		echo "BurstBufferType=burst_buffer/lua"
	fi
} >"$new"
plug_new="required $ACCEL_PLUGIN socket=$ACCEL_SOCKET prefix=$ACCEL_PREFIX timeout_ms=$ACCEL_TIMEOUT_MS"
conf_new=$(printf 'Socket=%s\nPrologWait=%s\nPollInterval=%s\nPrologLog=%s\n' \
	"$ACCEL_SOCKET" "$ACCEL_PROLOG_WAIT" "$ACCEL_POLL" "$DIR/log/prolog.log")
[ -z "${ACCEL_STAGEIN:-}" ] || conf_new=$(printf '%s\nStageInDeadline=%s\n' "$conf_new" "$ACCEL_STAGEIN")

running=0
alive "$DIR/run/slurmctld.pid" && running=1
if [ "$running" -eq 1 ]; then
	if cmp -s "$new" "$DIR/etc/slurm.conf" && [ "$plug_new" = "$(cat "$DIR/etc/plugstack.conf" 2>/dev/null)" ] \
		&& [ "$conf_new" = "$(cat "$DIR/etc/accel-data.conf" 2>/dev/null)" ]; then
		echo "up.sh: cluster under $DIR already running with these settings"
	else
		echo "up.sh: settings changed, restarting the cluster under $DIR"
		"$here/down.sh" "$DIR"
		running=0
	fi
fi
mv "$new" "$DIR/etc/slurm.conf"
echo "$plug_new" >"$DIR/etc/plugstack.conf"
cp "$repo/contrib/slurm.conf.d/job_submit.lua" "$DIR/etc/job_submit.lua"
rm -f "$DIR/etc/burst_buffer.lua" "$DIR/etc/burst_buffer.conf"
if [ -n "${ACCEL_STAGEIN:-}" ]; then
	sed -i 's/^local STAGE_IN = false$/local STAGE_IN = true/' "$DIR/etc/job_submit.lua"
	grep -q '^local STAGE_IN = true$' "$DIR/etc/job_submit.lua" || { echo "$me: could not switch job_submit.lua to STAGE_IN = true" >&2; exit 1; }
	sed "s|^local SLURM_PROLOG = .*|local SLURM_PROLOG = \"$PROLOG\"|" "$repo/contrib/slurm.conf.d/burst_buffer.lua" >"$DIR/etc/burst_buffer.lua"
	cp "$repo/contrib/slurm.conf.d/burst_buffer.conf" "$DIR/etc/burst_buffer.conf"
fi
# slurm-prolog finds this file next to SLURM_CONF (slurmd passes SLURM_CONF to the prolog).
echo "$conf_new" >"$DIR/etc/accel-data.conf"
chmod 644 "$DIR"/etc/*

export SLURM_CONF=$DIR/etc/slurm.conf

if ! alive "$DIR/run/munged.pid"; then
	[ -f "$DIR/munge/munge.key" ] || mungekey -c -k "$DIR/munge/munge.key" >/dev/null
	chmod 600 "$DIR/munge/munge.key"
	rm -f "$DIR/run/munge.sock" "$DIR/run/munge.sock.lock"
	munged -S "$DIR/run/munge.sock" --key-file="$DIR/munge/munge.key" --pid-file="$DIR/run/munged.pid" \
		--log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed" --force ||
		{ echo "up.sh: munged failed to start, see $DIR/log/munged.log:" >&2; tail -5 "$DIR/log/munged.log" >&2; exit 1; }
fi

if ! alive "$DIR/run/slurmctld.pid"; then
	slurmctld -f "$SLURM_CONF" ||
		{ echo "up.sh: slurmctld failed, see $DIR/log/slurmctld.log:" >&2; tail -5 "$DIR/log/slurmctld.log" >&2; exit 1; }
fi
for i in $(seq 1 "$N"); do
	if ! alive "$DIR/run/slurmd-n$i.pid"; then
		slurmd -f "$SLURM_CONF" -N "n$i" ||
			{ echo "up.sh: slurmd n$i failed, see $DIR/log/slurmd-n$i.log:" >&2; tail -5 "$DIR/log/slurmd-n$i.log" >&2; exit 1; }
	fi
done

# Wait until every node is idle; resume nodes a previous run left drained.
wait_idle "$N" "$DIR/log"
echo "up.sh: cluster up under $DIR: $N nodes idle, controller port $BASE"
echo "up.sh: export SLURM_CONF=$SLURM_CONF"
