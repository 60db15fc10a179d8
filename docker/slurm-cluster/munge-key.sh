#!/usr/bin/env bash
# munge-key.sh: the munge-key service: make the cluster's MUNGE key once in
# the shared volume /accel/munge (every host's munged uses it), then exit.
set -euo pipefail
me=munge-key.sh
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
key=$DIR/munge/munge.key
if [ -f "$key" ]; then
	say "the cluster's MUNGE key $key exists"
else
	mungekey -c -k "$key" >/dev/null
	say "made the cluster's MUNGE key $key"
fi
chmod 600 "$key"
