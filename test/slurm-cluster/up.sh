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
# Then use the cluster with: export SLURM_CONF=DIR/etc/slurm.conf
set -euo pipefail

usage() { echo "usage: $0 DIR [N]   (see the comment at the top of $0)" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
N=${2:-3}
[[ "$N" =~ ^[1-9][0-9]?$ ]] || { echo "up.sh: N must be a number from 1 to 99, got '$N'" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
mkdir -p "$1"
DIR=$(cd "$1" && pwd)

ACCEL_BIN=${ACCEL_BIN:-$repo/bin}
ACCEL_BIN=$(cd "$ACCEL_BIN" 2>/dev/null && pwd) || { echo "up.sh: ACCEL_BIN=$ACCEL_BIN is not a directory; run 'make build' first" >&2; exit 1; }
if [ -z "${ACCEL_PLUGIN:-}" ]; then
	ACCEL_PLUGIN=$ACCEL_BIN/accel_data.so
	[ -f "$ACCEL_PLUGIN" ] || ACCEL_PLUGIN=$repo/spank/accel_data.so
fi
ACCEL_SOCKET=${ACCEL_SOCKET:-$DIR/run/warmupd.sock}
ACCEL_PREFIX=${ACCEL_PREFIX:-/jfs}
ACCEL_PROLOG_WAIT=${ACCEL_PROLOG_WAIT:-60s}
ACCEL_POLL=${ACCEL_POLL:-200ms}
ACCEL_TIMEOUT_MS=${ACCEL_TIMEOUT_MS:-500}
PROLOG=$ACCEL_BIN/slurm-prolog

for b in slurmctld slurmd munged mungekey sinfo scontrol; do
	command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || {
		echo "up.sh: $b is missing: install Slurm and munge with scripts/deps.sh" >&2; exit 1; }
done
[ -x "$PROLOG" ] || { echo "up.sh: $PROLOG is missing: run 'make build' (or set ACCEL_BIN)" >&2; exit 1; }
[ -f "$ACCEL_PLUGIN" ] || { echo "up.sh: $ACCEL_PLUGIN is missing: run 'make -C spank' (or set ACCEL_PLUGIN)" >&2; exit 1; }

# munged refuses to start unless every parent directory is world-executable.
d=$DIR
while [ "$d" != "/" ]; do
	if [ "$(( 0$(stat -c %a "$d") & 01 ))" -eq 0 ]; then
		echo "up.sh: $d is not world-executable (munged refuses to run under it): chmod o+x $d or choose another DIR" >&2
		exit 1
	fi
	d=$(dirname "$d")
done

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# PrologEpilogTimeout must exceed the prolog's wait, or slurmd kills it and drains the node.
# seconds DURATION: whole seconds (rounded up) of a Go duration such as 90s, 5m, 1m30s, 500ms.
seconds() {
	local s=$1 total_ms=0 n u
	while [[ "$s" =~ ^([0-9]+)(ms|h|m|s)(.*)$ ]]; do
		n=${BASH_REMATCH[1]} u=${BASH_REMATCH[2]} s=${BASH_REMATCH[3]}
		case $u in
		h) total_ms=$(( total_ms + n * 3600000 )) ;;
		m) total_ms=$(( total_ms + n * 60000 )) ;;
		s) total_ms=$(( total_ms + n * 1000 )) ;;
		ms) total_ms=$(( total_ms + n )) ;;
		esac
	done
	[ -z "$s" ] || { echo "up.sh: cannot read the duration '$1' (use e.g. 90s, 5m, 1m30s, 500ms)" >&2; return 1; }
	echo $(( (total_ms + 999) / 1000 ))
}
wait_s=$(seconds "$ACCEL_PROLOG_WAIT")
PE_TIMEOUT=$(( wait_s + 30 ))

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
	echo "ClusterName=accel"
	echo "SlurmctldHost=$host(127.0.0.1)"
	echo "SlurmctldPort=$BASE"
	echo "AuthType=auth/munge"
	echo "AuthInfo=socket=$DIR/run/munge.sock"
	echo "CredType=cred/munge"
	echo "SlurmUser=root"
	echo "SlurmdUser=root"
	echo "StateSaveLocation=$DIR/spool/ctld"
	echo "SlurmdSpoolDir=$DIR/spool/%n"
	echo "SlurmdPidFile=$DIR/run/slurmd-%n.pid"
	echo "SlurmdLogFile=$DIR/log/slurmd-%n.log"
	echo "SlurmctldPidFile=$DIR/run/slurmctld.pid"
	echo "SlurmctldLogFile=$DIR/log/slurmctld.log"
	echo "ProctrackType=proctrack/linuxproc"
	echo "TaskPlugin=task/none"
	echo "MpiDefault=none"
	echo "SelectType=select/cons_tres"
	echo "SelectTypeParameters=CR_Core"
	echo "ReturnToService=2"
	echo "SchedulerParameters=batch_sched_delay=0"
	echo "AccountingStorageType=accounting_storage/none"
	echo "JobAcctGatherType=jobacct_gather/none"
	echo "JobCompType=jobcomp/filetxt"
	echo "JobCompLoc=$DIR/log/jobcomp.txt"
	echo "PlugStackConfig=$DIR/etc/plugstack.conf"
	echo "# accel-data: job_submit.lua tags --accel-data jobs with their token (admin comment)."
	echo "JobSubmitPlugins=lua"
	echo "# accel-data: the prolog waits for the data (bounded by PrologWait in accel-data.conf)."
	echo "PrologFlags=Alloc"
	echo "Prolog=$PROLOG"
	echo "Epilog=$PROLOG"
	echo "PrologEpilogTimeout=$PE_TIMEOUT"
	for i in $(seq 1 "$N"); do
		echo "NodeName=n$i NodeAddr=127.0.0.1 Port=$(( BASE + i )) CPUs=2 RealMemory=1000"
	done
	echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
	echo "# plugin=$ACCEL_PLUGIN"
} >"$new"
plug_new="required $ACCEL_PLUGIN socket=$ACCEL_SOCKET prefix=$ACCEL_PREFIX timeout_ms=$ACCEL_TIMEOUT_MS"
conf_new=$(printf 'Socket=%s\nPrologWait=%s\nPollInterval=%s\nPrologLog=%s\n' \
	"$ACCEL_SOCKET" "$ACCEL_PROLOG_WAIT" "$ACCEL_POLL" "$DIR/log/prolog.log")

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
deadline=$(( $(date +%s) + 60 ))
while :; do
	states=$(sinfo -h -N -o '%N %t' 2>/dev/null || true)
	idle=$(grep -c ' idle$' <<<"$states" || true)
	[ "$idle" -eq "$N" ] && break
	drained=$(awk '$2 ~ /drain|drng|drng|down/ {print $1}' <<<"$states" | sort -u | paste -sd, -)
	[ -n "$drained" ] && scontrol update NodeName="$drained" State=RESUME >/dev/null 2>&1 || true
	if [ "$(date +%s)" -ge "$deadline" ]; then
		echo "up.sh: nodes not idle after 60s:" >&2
		echo "$states" >&2
		tail -5 "$DIR/log/slurmctld.log" >&2
		exit 1
	fi
	sleep 0.2
done
echo "up.sh: cluster up under $DIR: $N nodes idle, controller port $BASE"
echo "up.sh: export SLURM_CONF=$SLURM_CONF"
