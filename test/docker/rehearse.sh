#!/usr/bin/env bash
# rehearse.sh DIR COMMAND…: run the services of docker/slurm-cluster the way
# Docker runs them, on a machine without a Docker engine (Debian 12, as root):
# each service in network, mount and UTS namespaces of its own, its image the
# machine's own Debian 12 (the same slurm-wlm and munge packages the image
# installs) with the image's /opt/accel-data (staged by the caller in
# DIR/image) and a fresh /accel, its named volumes directories under DIR/vol
# bind-mounted where docker-compose.yml mounts them, its address on one bridge.
# TestRoleScriptsRehearsed (rehearse_test.go) drives it from the compose file.
#   rehearse.sh DIR start NAME HOSTNAME IP|- VOLUMES ENV-FILE PRIV CMD
#       start a service (VOLUMES: vol:/path,…; ENV-FILE: its environment, VAR=value
#       a line; PRIV: privileged (the cgroup tree writable) or - (read-only, as
#       Docker mounts it in an unprivileged container))
#   rehearse.sh DIR running NAME                                    does it still run?
#   rehearse.sh DIR on NAME CMD…                                    run CMD in it (docker compose exec)
#   rehearse.sh DIR down                                            stop everything (by namespace)
# The mount points /accel and /opt/accel-data are made on this machine (empty;
# down removes them) and mounted over inside each service only.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 DIR start|running|on|down …" >&2; exit 2; }
DIR=$(cd "$1" && pwd)
what=$2
shift 2
PFX=dkr$(printf '%s' "$DIR" | md5sum | cut -c1-6)
here=$(cd "$(dirname "$0")/../slurm-cluster" && pwd)
me=rehearse.sh
# shellcheck source=../slurm-cluster/lib.sh
. "$here/lib.sh" # the namespace cluster's network: fabric_up, netns_host

holder() { # holder NAME: the pid of the service's first process, if it runs
	local p
	p=$(cat "$DIR/svc/$1.pid" 2>/dev/null) && kill -0 "$p" 2>/dev/null && echo "$p"
}

case $what in
start)
	[ $# -eq 7 ] || { echo "usage: $0 DIR start NAME HOSTNAME IP|- VOLUMES ENV-FILE PRIV CMD" >&2; exit 2; }
	n=$1 h=$2 ip=$3 vols=$4 envfile=$5 priv=$6 cmd=$7
	cgroup=
	if [ "$priv" != privileged ]; then
		# Docker mounts the cgroup tree read-only in an unprivileged container.
		# shellcheck disable=SC2016 # expanded by the service's shell
		cgroup='for m in $(findmnt -rn -o TARGET -R /sys/fs/cgroup | tac); do mount -o remount,bind,ro "$m"; done'
	fi
	mkdir -p /accel /opt/accel-data "$DIR/svc" "$DIR/vol"
	[ -e "/run/netns/$PFX-fab" ] || fabric_up "$PFX"
	ns=$PFX-$n
	if [ "$ip" = - ]; then netns_host "$PFX" "$n"; else netns_host "$PFX" "$n" "$ip"; fi
	mounts=
	IFS=, read -ra vs <<<"$vols"
	for v in "${vs[@]}"; do
		src=${v%%:*} dst=${v#*:}
		dst=${dst%:ro}
		if [[ "$src" == /* ]]; then
			# A file of this machine (docker-compose.juicefs.yml's juicefs binary), read-only.
			mounts+="touch '$dst'; mount --bind '$src' '$dst'; mount -o remount,bind,ro '$dst'; "
			continue
		fi
		src=$DIR/vol/$src
		if [ ! -d "$src" ]; then
			# A new named volume takes the mode of the image's directory.
			mkdir -p "$src"
			if [ "$dst" = /accel/munge ]; then chmod 700 "$src"; else chmod 755 "$src"; fi
		fi
		mounts+="mount --bind '$src' '$dst'; "
	done
	rm -f "$DIR/svc/$n.pid"
	cp "$envfile" "$DIR/svc/$n.env"
	mapfile -t env <"$envfile"
	# The image's /accel (what the Dockerfile's last RUN makes) and /usr/local/bin (empty).
	setsid env -i HOSTNAME="$h" "${env[@]}" nsenter --net="/run/netns/$ns" unshare --mount --uts --propagation private -- bash -c "
		set -e
		hostname '$h'
		mount -t tmpfs image /accel
		mkdir -p /accel/etc /accel/run /accel/log /accel/munge /accel/jfs /accel/cache /accel/volume /accel/shared
		chmod 755 /accel /accel/etc /accel/run /accel/log /accel/jfs /accel/shared
		chmod 700 /accel/munge
		mount --bind '$DIR/image/opt/accel-data' /opt/accel-data
		mount -t tmpfs image /usr/local/bin # empty in the image
		$cgroup
		$mounts
		cd /accel
		echo \$\$ >'$DIR/svc/$n.pid'
		exec '$cmd'" </dev/null >"$DIR/svc/$n.log" 2>&1 &
	disown
	for _ in $(seq 1 100); do [ -s "$DIR/svc/$n.pid" ] && break; sleep 0.05; done
	[ -s "$DIR/svc/$n.pid" ] || { echo "rehearse.sh: $n did not start:" >&2; cat "$DIR/svc/$n.log" >&2; exit 1; }
	;;
running)
	[ -n "$(ip netns pids "$PFX-$1" 2>/dev/null)" ] ;;
on)
	n=$1
	shift
	p=$(holder "$n") || { echo "rehearse.sh: service $n is not running" >&2; exit 1; }
	# docker compose exec: the service's namespaces and the image's environment.
	mapfile -t env <"$DIR/svc/$n.env"
	nsenter --target "$p" --mount --uts --net -- env -i HOSTNAME="$n" "${env[@]}" "$@" ;;
down)
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX-" || true); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
	done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX-" || true); do
		for _ in $(seq 1 50); do [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break; sleep 0.1; done
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -f "$DIR"/svc/*.pid
	rmdir /accel /opt/accel-data 2>/dev/null || true ;;
*) echo "usage: $0 DIR start|running|on|down …" >&2; exit 2 ;;
esac
