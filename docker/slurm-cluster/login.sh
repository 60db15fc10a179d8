#!/usr/bin/env bash
# login.sh: the login host, where users run sbatch/salloc/srun (the SPANK
# plugin) and swarmup: its munged and JuiceFS mount; waits until every compute
# host is idle and warmupd answers, then marks itself ready (/accel/run/ready:
# the healthcheck) and stays up. Run the demo on it with:
#   docker compose exec login /opt/accel-data/docker/slurm-cluster/demo.sh
set -euo pipefail
me=login.sh
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
rm -f "$DIR/run/ready"
write_config
start_munged
mount_volume
mkdir -p "$DIR/shared/jobs" "$DIR/shared/out"
chmod 755 "$DIR/shared" "$DIR/shared/jobs" "$DIR/shared/out"
until wait_idle "$N" "$DIR/log"; do say "still waiting for ${COMPUTE[*]} to be idle"; done
until swarmup >/dev/null 2>&1; do
	say "waiting for warmupd at $SERVER"
	sleep 1
done
cat <<EOT
$me: the cluster is ready
  host    address       runs
  ctl     $(host_addr ctl)    slurmctld
  svc     $(host_addr svc)    warmupd --listen $SERVER (MUNGE), JuiceFS mount $DIR/jfs
  login   $(host_addr login)    sbatch/salloc/srun with the plugin, swarmup, JuiceFS mount
  c1..c$N  $(host_addr c1)…  slurmd, slurm-prolog (Prolog/Epilog), JuiceFS mount (cache $DIR/cache, shared)
  every host: its own munged, the one key in $DIR/munge
  plugstack.conf: $(cat "$DIR/etc/plugstack.conf")
Try: docker compose exec login /opt/accel-data/docker/slurm-cluster/demo.sh
EOT
touch "$DIR/run/ready"
exec sleep infinity
