#!/usr/bin/env bash
# install.sh DESTDIR PREFIX: install accel-data in FHS places (`make install` calls it).
#   $PREFIX/bin         swarmup, jfs-dedup (user commands)
#   $PREFIX/sbin        warmupd, slurm-prolog (daemon, Prolog/Epilog), accel-agent (compute nodes, when built)
#   Slurm's plugin dir  accel_data.so: /usr/lib/x86_64-linux-gnu/slurm-wlm when PREFIX=/usr,
#                       else $PREFIX/lib/slurm (set SLURM_PLUGIN_DIR to override)
#   $PREFIX/share/accel-data/  plugstack.conf, slurm.conf, accel-data.conf, warmupd.service, slurm.md
#   $PREFIX/share/man/man1, man8  swarmup(1), jfs-dedup(1), warmupd(8), slurm-prolog(8) from man/
#   $PREFIX/share/accel-data/doc/  the docs/ pages
#   $PREFIX/lib/systemd/system/warmupd.service, accel-agent.service  (PREFIX=/usr only)
# Binaries come from $BIN (default: <repo>/bin, built by `make build`).
# Nothing under /etc is touched: copy the examples from share/accel-data.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 DESTDIR PREFIX   (DESTDIR may be empty: \"\")" >&2; exit 2; }
DESTDIR=$1
PREFIX=$2
case $PREFIX in /*) ;; *) echo "install.sh: PREFIX must be absolute, got '$PREFIX'" >&2; exit 2 ;; esac
repo=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$repo/bin}

plugin=$BIN/accel_data.so
[ -f "$plugin" ] || plugin=$repo/spank/accel_data.so
if [ -z "${SLURM_PLUGIN_DIR:-}" ]; then
	if [ "$PREFIX" = /usr ]; then
		SLURM_PLUGIN_DIR=/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)/slurm-wlm
	else
		SLURM_PLUGIN_DIR=$PREFIX/lib/slurm
	fi
fi

need() { [ -f "$1" ] || { echo "install.sh: $1 is missing: run 'make build' first" >&2; exit 1; }; }
need "$BIN/warmupd"
need "$BIN/slurm-prolog"
need "$plugin"

install -d -m 755 "$DESTDIR$PREFIX/bin" "$DESTDIR$PREFIX/sbin" "$DESTDIR$SLURM_PLUGIN_DIR" "$DESTDIR$PREFIX/share/accel-data"
install -m 755 "$BIN/warmupd" "$BIN/slurm-prolog" "$DESTDIR$PREFIX/sbin/"
for c in swarmup jfs-dedup; do
	if [ -f "$BIN/$c" ]; then
		install -m 755 "$BIN/$c" "$DESTDIR$PREFIX/bin/"
	else
		echo "install.sh: note: $BIN/$c not built, skipped"
	fi
done
install -m 644 "$plugin" "$DESTDIR$SLURM_PLUGIN_DIR/accel_data.so"

share=$DESTDIR$PREFIX/share/accel-data
for f in plugstack.conf slurm.conf accel-data.conf job_submit.lua burst_buffer.lua burst_buffer.conf; do
	sed -e "s|/usr/lib/x86_64-linux-gnu/slurm-wlm/accel_data.so|$SLURM_PLUGIN_DIR/accel_data.so|" \
		-e "s|/usr/sbin/slurm-prolog|$PREFIX/sbin/slurm-prolog|" \
		"$repo/contrib/slurm.conf.d/$f" >"$share/$f"
	chmod 644 "$share/$f"
done
sed "s|@PREFIX@|$PREFIX|g" "$repo/contrib/slurm.conf.d/warmupd.service" >"$share/warmupd.service"
chmod 644 "$share/warmupd.service"
install -m 644 "$repo/README.md" "$share/README.md"
(cd "$repo/docs" && find . -name '*.md' -print0) | while IFS= read -r -d '' f; do
	install -D -m 644 "$repo/docs/$f" "$share/doc/$f"
done
for sec in 1 8; do
	install -d -m 755 "$DESTDIR$PREFIX/share/man/man$sec"
	for page in "$repo"/man/*.$sec; do
		[ -f "$page" ] && install -m 644 "$page" "$DESTDIR$PREFIX/share/man/man$sec/"
	done
done
# accel-agent (every compute node), when built, with its unit
if [ -f "$BIN/accel-agent" ]; then
	install -m 755 "$BIN/accel-agent" "$DESTDIR$PREFIX/sbin/"
	sed "s|@PREFIX@|$PREFIX|g" "$repo/contrib/systemd/accel-agent.service" >"$share/accel-agent.service"
	chmod 644 "$share/accel-agent.service"
fi
if [ "$PREFIX" = /usr ]; then
	install -d -m 755 "$DESTDIR/usr/lib/systemd/system"
	install -m 644 "$share/warmupd.service" "$DESTDIR/usr/lib/systemd/system/warmupd.service"
	if [ -f "$share/accel-agent.service" ]; then
		install -m 644 "$share/accel-agent.service" "$DESTDIR/usr/lib/systemd/system/accel-agent.service"
	fi
fi
echo "install.sh: installed under ${DESTDIR:-/}$PREFIX (plugin in $DESTDIR$SLURM_PLUGIN_DIR)"
echo "install.sh: next: see $PREFIX/share/accel-data/doc/admin/install.md (plugstack.conf line, slurm.conf lines, job_submit.lua, accel-data.conf); man warmupd, man slurm-prolog"
