#!/usr/bin/env bash
# svc.sh: the service host: its munged and JuiceFS mount, then warmupd in the
# foreground, listening on TCP with MUNGE (the plugin, slurm-prolog and swarmup
# of the other hosts reach it there); its unix socket is private to svc.
set -euo pipefail
me=svc.sh
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
write_config
start_munged
mount_volume
mkdir -p "$DIR/spool"
WSOCK=$DIR/run/private/warmupd.sock # private to svc (the healthcheck looks for it)
mkdir -p "$DIR/run/private"
chmod 700 "$DIR/run/private"
say "warmupd at $SERVER (MUNGE), juicefs $JUICEFS, mount $DIR/jfs"
# SLURM_CONF: warmupd's squeue poll reaches the controller. Flags only, as on
# the namespace cluster: accel-data.conf holds the clients' settings.
exec env SLURM_CONF="$SLURM_CONF" ACCEL_DATA_CONF=/dev/null FAKEJUICEFS_BANDWIDTH="$ACCEL_BANDWIDTH" \
	"$ACCEL_BIN/warmupd" --socket "$WSOCK" --database "$DIR/spool/warmupd.db" --juicefs "$JUICEFS" \
	--mounts "$DIR/jfs" --listen "$SERVER" --munge-socket "$MSOCK"
