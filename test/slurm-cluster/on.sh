#!/usr/bin/env bash
# on.sh DIR HOST CMD…: run CMD on one host of the multi-host cluster under DIR
# (hosts-up.sh), in that host's network, mount and UTS namespaces, with
# SLURM_CONF set. Hosts: ctl, svc, login, c1..cN. Example:
#   test/slurm-cluster/on.sh /tmp/hc login sbatch --accel-data=/tmp/hc/jfs/ds --wrap true
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 DIR HOST CMD..." >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
me=on.sh
. "$here/lib.sh"
DIR=$(cd "$1" && pwd)
h=$2
shift 2
export SLURM_CONF=$DIR/etc/slurm.conf
on "$DIR" "$h" "$@"
