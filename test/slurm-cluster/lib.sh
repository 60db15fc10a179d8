# lib.sh: what up.sh (one host) and hosts-up.sh (network namespaces) share.
# Source it after setting `here` (this directory) and `me` (the script's name
# for messages); it sets repo and reads the ACCEL_* settings documented in
# up.sh and hosts-up.sh.

repo=$(cd "$here/../.." && pwd)

# accel_settings DIR: the ACCEL_* environment with its defaults; checks that
# slurm-prolog and the plugin exist.
accel_settings() {
	ACCEL_BIN=${ACCEL_BIN:-$repo/bin}
	ACCEL_BIN=$(cd "$ACCEL_BIN" 2>/dev/null && pwd) || { echo "$me: ACCEL_BIN=$ACCEL_BIN is not a directory; run 'make build' first" >&2; exit 1; }
	if [ -z "${ACCEL_PLUGIN:-}" ]; then
		ACCEL_PLUGIN=$ACCEL_BIN/accel_data.so
		[ -f "$ACCEL_PLUGIN" ] || ACCEL_PLUGIN=$repo/spank/accel_data.so
	fi
	ACCEL_PREFIX=${ACCEL_PREFIX:-/jfs}
	ACCEL_PROLOG_WAIT=${ACCEL_PROLOG_WAIT:-60s}
	ACCEL_POLL=${ACCEL_POLL:-200ms}
	ACCEL_TIMEOUT_MS=${ACCEL_TIMEOUT_MS:-500}
	PROLOG=$ACCEL_BIN/slurm-prolog
	local b
	for b in slurmctld slurmd munged mungekey sinfo scontrol "$@"; do
		command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || {
			echo "$me: $b is missing: install Slurm, munge and iproute2 with scripts/deps.sh" >&2; exit 1; }
	done
	[ -x "$PROLOG" ] || { echo "$me: $PROLOG is missing: run 'make build' (or set ACCEL_BIN)" >&2; exit 1; }
	[ -f "$ACCEL_PLUGIN" ] || { echo "$me: $ACCEL_PLUGIN is missing: run 'make -C spank' (or set ACCEL_PLUGIN)" >&2; exit 1; }
	wait_s=$(seconds "$ACCEL_PROLOG_WAIT")
	# PrologEpilogTimeout must exceed the prolog's wait, or slurmd kills it and drains the node.
	PE_TIMEOUT=$(( wait_s + 30 ))
}

# world_executable DIR: munged refuses to start unless every parent directory is world-executable.
world_executable() {
	local d=$1
	while [ "$d" != "/" ]; do
		if [ "$(( 0$(stat -c %a "$d") & 01 ))" -eq 0 ]; then
			echo "$me: $d is not world-executable (munged refuses to run under it): chmod o+x $d or choose another DIR" >&2
			exit 1
		fi
		d=$(dirname "$d")
	done
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

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
	[ -z "$s" ] || { echo "$me: cannot read the duration '$1' (use e.g. 90s, 5m, 1m30s, 500ms)" >&2; return 1; }
	echo $(( (total_ms + 999) / 1000 ))
}

# slurm_conf_common DIR MUNGE_SOCKET: the slurm.conf lines both clusters share
# (everything but the controller, ports and nodes).
slurm_conf_common() {
	local dir=$1 msock=$2
	echo "ClusterName=accel"
	echo "AuthType=auth/munge"
	echo "AuthInfo=socket=$msock"
	echo "CredType=cred/munge"
	echo "SlurmUser=root"
	echo "SlurmdUser=root"
	echo "StateSaveLocation=$dir/spool/ctld"
	echo "SlurmdSpoolDir=$dir/spool/%n"
	echo "SlurmdPidFile=$dir/run/slurmd-%n.pid"
	echo "SlurmdLogFile=$dir/log/slurmd-%n.log"
	echo "SlurmctldPidFile=$dir/run/slurmctld.pid"
	echo "SlurmctldLogFile=$dir/log/slurmctld.log"
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
	echo "JobCompLoc=$dir/log/jobcomp.txt"
	echo "PlugStackConfig=$dir/etc/plugstack.conf"
	echo "# accel-data: job_submit.lua tags --accel-data jobs with their token (admin comment)."
	echo "JobSubmitPlugins=lua"
	echo "# accel-data: the prolog waits for the data (bounded by PrologWait in accel-data.conf)."
	echo "PrologFlags=Alloc"
	echo "Prolog=$PROLOG"
	echo "Epilog=$PROLOG"
	echo "PrologEpilogTimeout=$PE_TIMEOUT"
}

# wait_idle N LOGDIR [CMD-PREFIX…]: wait until sinfo (run with the prefix)
# shows N idle nodes; resume nodes a previous run left drained.
wait_idle() {
	local n=$1 logdir=$2 states idle drained deadline
	shift 2
	deadline=$(( $(date +%s) + 60 ))
	while :; do
		states=$("$@" sinfo -h -N -o '%N %t' 2>/dev/null || true)
		idle=$(grep -c ' idle$' <<<"$states" || true)
		[ "$idle" -eq "$n" ] && return 0
		drained=$(awk '$2 ~ /drain|drng|down/ {print $1}' <<<"$states" | sort -u | paste -sd, -)
		[ -n "$drained" ] && "$@" scontrol update NodeName="$drained" State=RESUME >/dev/null 2>&1 || true
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "$me: nodes not idle after 60s:" >&2
			echo "$states" >&2
			tail -5 "$logdir/slurmctld.log" >&2
			return 1
		fi
		sleep 0.2
	done
}

# stop_pidfile PIDFILE DIR: SIGTERM the process named in PIDFILE if it is ours
# (its command line mentions DIR), wait up to 10s, then SIGKILL; remove the file.
stop_pidfile() {
	local f=$1 dir=$2 pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir"; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
}

# --- multi-host clusters (hosts-up.sh, hosts-down.sh, on.sh) -----------------
# Each host is a network namespace NS_PREFIX-HOST (veth to a bridge in the
# namespace NS_PREFIX-fab) plus a mount and UTS namespace held by a `sleep`
# process whose pid is in DIR/hosts/HOST/holder.pid.

# ns_prefix DIR: the namespace-name prefix of the cluster under DIR (unique per DIR).
ns_prefix() { echo "acc$(printf '%s' "$1" | md5sum | cut -c1-8)"; }

# host_addr HOST: the host's address (198.18.0.0/15 only: the benchmarking
# range, which exists only inside the cluster's namespaces).
host_addr() {
	case $1 in
	ctl) echo 198.18.0.1 ;;
	svc) echo 198.18.0.2 ;;
	login) echo 198.18.0.3 ;;
	c*) echo "198.18.0.$(( 10 + ${1#c} ))" ;;
	*) echo "$me: unknown host $1" >&2; return 1 ;;
	esac
}

# host_holder DIR HOST: the pid holding HOST's mount namespace, if alive and ours.
host_holder() {
	local f=$1/hosts/$2/holder.pid pid
	[ -f "$f" ] || return 1
	pid=$(cat "$f")
	[[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
	# Ours: a process in another mount namespace with DIR's run directory mounted.
	[ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] || return 1
	grep -qF " $1/run " "/proc/$pid/mountinfo" || return 1
	echo "$pid"
}

# on DIR HOST CMD…: run CMD on HOST (its network, mount and UTS namespaces).
on() {
	local dir=$1 h=$2 pid
	shift 2
	pid=$(host_holder "$dir" "$h") || { echo "$me: host $h of the cluster under $dir is not running (hosts-up.sh $dir)" >&2; return 1; }
	nsenter --target "$pid" --mount --uts --net="/run/netns/$(ns_prefix "$dir")-$h" -- "$@"
}
