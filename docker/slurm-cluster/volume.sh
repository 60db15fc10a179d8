#!/usr/bin/env bash
# volume.sh: the volume service: format the cluster's JuiceFS volume once,
# then exit. Real client (docker-compose.juicefs.yml): a local volume, sqlite3
# metadata and file storage in /accel/volume, which every host mounts at
# /accel/jfs. Else the stand-in test/fakejuicefs: /accel/jfs itself, a shared
# volume, becomes the stand-in mount.
set -euo pipefail
me=volume.sh
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
juicefs_note
if [ -n "$REAL" ]; then
	jfs_format "$JUICEFS" "$DIR" accel-docker
	say "JuiceFS volume $(jfs_meta "$DIR") ready (file storage $DIR/volume/bucket)"
else
	[ -f "$DIR/jfs/.config" ] || "$JUICEFS" format "$DIR/jfs" --cache-dir "$DIR/cache" --bandwidth "$ACCEL_BANDWIDTH" >/dev/null
	say "stand-in volume $DIR/jfs ready (cache $DIR/cache, $ACCEL_BANDWIDTH MiB/s)"
fi
