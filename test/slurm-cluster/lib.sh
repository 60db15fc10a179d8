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
		states=$("$@" sinfo -h -N -o '%N %t' 2>/dev/null | sort -u || true) # a node of two partitions is listed twice
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

# fabric_up PFX: the bridge br0 the hosts' veths join, in a network namespace
# of its own (PFX-fab): nothing is added to this machine's network.
fabric_up() {
	ip netns add "$1-fab"
	ip -n "$1-fab" link add br0 type bridge
	ip -n "$1-fab" link set br0 up
}

# netns_host PFX HOST [ADDR]: HOST's network namespace PFX-HOST with lo up
# and, given ADDR, eth0 (a veth to the fabric's bridge) at ADDR/24.
netns_host() {
	local ns=$1-$2
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	[ $# -ge 3 ] || return 0
	ip -n "$1-fab" link add "v-$2" type veth peer name eth0 netns "$ns"
	ip -n "$1-fab" link set "v-$2" master br0 up
	ip -n "$ns" addr add "$3/24" dev eth0
	ip -n "$ns" link set eth0 up
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

# hosts_slurm_conf DIR MSOCK COMPUTE…: the slurm.conf of a cluster of separate
# hosts (hosts-up.sh, docker/slurm-cluster): slurmctld on ctl, one slurmd per
# COMPUTE host, each at its host_addr, the controller and slurmd on Slurm's
# usual ports.
hosts_slurm_conf() {
	local dir=$1 msock=$2 h
	shift 2
	echo "SlurmctldHost=ctl($(host_addr ctl))"
	echo "SlurmctldPort=6817"
	echo "SlurmdPort=6818"
	slurm_conf_common "$dir" "$msock"
	for h in "$@"; do
		echo "NodeName=$h NodeAddr=$(host_addr "$h") CPUs=2 RealMemory=1000"
	done
	echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
	# warmupd's warm-up shards (WarmupPartition=warm): least loaded nodes first,
	# so the tasks of one array spread over the idle nodes.
	echo "PartitionName=warm Nodes=ALL MaxTime=INFINITE State=UP LLN=YES"
}

# hosts_plugstack SERVER MSOCK: the plugstack.conf line of every host of a
# multi-host cluster: the plugin reaches warmupd at SERVER over TCP with MUNGE.
hosts_plugstack() {
	echo "required $ACCEL_PLUGIN server=$1 munge_socket=$2 prefix=$ACCEL_PREFIX timeout_ms=$ACCEL_TIMEOUT_MS"
}

# hosts_accel_conf DIR SERVER MSOCK: accel-data.conf of every host of a
# multi-host cluster (swarmup and slurm-prolog reach warmupd at SERVER).
hosts_accel_conf() {
	printf 'Server=%s\nMungeSocket=%s\nPrologWait=%s\nPollInterval=%s\nPrologLog=%s\n' \
		"$2" "$3" "$ACCEL_PROLOG_WAIT" "$ACCEL_POLL" "$1/log/prolog.log"
}

# jfs_meta DIR: the metadata URL of the real local JuiceFS volume of a
# multi-host cluster (sqlite3 metadata and file storage under DIR/volume).
jfs_meta() { echo "sqlite3://$1/volume/meta.db"; }

# jfs_format REAL DIR NAME: format that volume once with the real client REAL.
jfs_format() {
	[ -f "$2/volume/meta.db" ] && return 0
	mkdir -p "$2/volume"
	"$1" format --storage file --bucket "$2/volume/bucket" --trash-days 0 --no-update "$(jfs_meta "$2")" "$3" >/dev/null
}

# jfs_mount_args DIR: the `juicefs mount` arguments (one a line) every host
# uses: the volume at DIR/jfs, the shared cache DIR/cache never scanned.
# --enable-xattr as internal/testutil's real volume: without it a real client
# refuses xattrs (Lsetxattr: operation not supported; docs/juicefs-facts.md),
# which the stand-in's volume (.config DisableXAttrs false) and jfs-dedup apply
# expect.
jfs_mount_args() {
	printf '%s\n' mount -d "$(jfs_meta "$1")" "$1/jfs" --cache-dir "$1/cache" --cache-scan-interval=-1 --enable-xattr --no-usage-report
}

# download_limit_mbps MIBPS: the --download-limit (Mbit/s) that lets MIBPS
# MiB/s through: JuiceFS lets 85 % of it through (internal/testutil
# DownloadLimitMbps). 0 for 0 (unlimited).
download_limit_mbps() {
	awk -v b="$1" 'BEGIN { if (b == 0) { print 0; exit } m = b * 1048576 * 8 / 1e6 / 0.85; printf "%d", (m == int(m)) ? m : int(m) + 1 }'
}

# --- the demo (scripts/demo.sh, docker/slurm-cluster/demo.sh) ----------------

# demo_job_script DIR: DIR/train.sh, the demo's job: says where it runs, reads
# every dataset directory it is given, then sleeps 3 s.
demo_job_script() {
	mkdir -p "$1"
	cat >"$1/train.sh" <<'JOB'
#!/bin/sh
echo "job $SLURM_JOB_ID on $SLURMD_NODENAME ($(hostname)) started $(date +%T)"
for d in "$@"; do
	echo "read $d: $(find "$d" -type f -exec cat {} + | wc -c) bytes"
done
sleep 3
JOB
	chmod 755 "$1/train.sh"
}

# demo_dataset ROOT NAME FILES STAMPS: FILES x 4 MiB of random data in
# ROOT/datasets/NAME, written once (STAMPS/.dataset-NAME-done says it was).
demo_dataset() {
	local d=$1/datasets/$2 i
	[ -f "$4/.dataset-$2-done" ] && return 0
	mkdir -p "$d"
	for i in $(seq -w 1 "$3"); do head -c $((4 << 20)) /dev/urandom >"$d/part-$i.bin"; done
	touch "$4/.dataset-$2-done"
}
