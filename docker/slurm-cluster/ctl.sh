#!/usr/bin/env bash
# ctl.sh: the controller host: its munged, then slurmctld in the foreground.
set -euo pipefail
me=ctl.sh
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
write_config
start_munged
mkdir -p "$DIR/spool/ctld"
follow "$DIR/log/slurmctld.log"
say "slurmctld at $(host_addr ctl):6817, compute hosts ${COMPUTE[*]}"
exec slurmctld -D -f "$SLURM_CONF"
