#!/usr/bin/env bash
# compute.sh: a compute host (c1..cN, its hostname): its munged and JuiceFS
# mount, then slurmd in the foreground; slurm-prolog is its Prolog/Epilog.
set -euo pipefail
me=compute.sh
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
[[ " ${COMPUTE[*]} " == *" $H "* ]] || { echo "$me: hostname '$H' is not a compute host of slurm.conf (${COMPUTE[*]}): set hostname: in docker-compose.yml" >&2; exit 2; }
write_config
start_munged
mount_volume
mkdir -p "$DIR/spool" # SlurmdSpoolDir=/accel/spool/%n
follow "$DIR/log/slurmd-$H.log"
say "slurmd $H at $(host_addr "$H"), prolog $PROLOG"
exec slurmd -D -f "$SLURM_CONF" -N "$H"
