#!/usr/bin/env bash
# Benchmark jfs-dedup against rmlint, jdupes, rdfind and fdupes on one tree
# with known duplicates, cold and warm page cache. Prints a markdown table:
# wall time and peak RSS (from /usr/bin/time -v), ratios to the fastest other
# tool, and whether each tool reports exactly jfs-dedup's duplicate groups.
#
#   bench/dedup/run.sh            # full: 100 000 files, sizes 0..64 MiB (~17 GB)
#   bench/dedup/run.sh --quick    # 20 000 files, sizes 0..16 MiB (~3 GB)
#   bench/dedup/run.sh --files N --max-size BYTES --dir DIR [--keep] [--repeat N]
#
# Cold: each tool runs once right after the page cache is dropped. Warm:
# --repeat rounds (default 3) over all tools, the fastest run of each kept,
# so that a busy moment of a shared machine does not fall on one tool only.
#
# Cold runs need root (echo 3 > /proc/sys/vm/drop_caches); without it the
# script says so and measures warm runs only.
set -euo pipefail
cd "$(dirname "$0")/../.."

files=100000
maxsize=$((64 << 20))
dir=""
keep=0
repeat=3
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) files=20000; maxsize=$((16 << 20)) ;;
	--files) files="$2"; shift ;;
	--max-size) maxsize="$2"; shift ;;
	--dir) dir="$2"; shift ;;
	--keep) keep=1 ;;
	--repeat) repeat="$2"; shift ;;
	-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$dir" ] || dir="${TMPDIR:-/tmp}/dedupbench-tree-$files-$maxsize"

need=()
for t in rmlint jdupes rdfind fdupes; do command -v "$t" >/dev/null || need+=("$t"); done
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]} from Debian's packages" >&2
	if [ "$(id -u)" = 0 ]; then apt-get install -y "${need[@]}" >&2 || { apt-get update >&2 && apt-get install -y "${need[@]}" >&2; }
	else sudo apt-get install -y "${need[@]}" >&2; fi
fi

bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/jfs-dedup" ./cmd/jfs-dedup
go build -o "$bin/dedupbench" ./bench/dedup

if [ ! -d "$dir" ]; then
	"$bin/dedupbench" gen --dir "$dir" --files "$files" --max-size "$maxsize"
else
	echo "reusing the tree in $dir (remove it to regenerate)" >&2
fi
echo "tree: $dir, $files files, sizes 0..$maxsize bytes, $(du -sh "$dir" | cut -f1); $(nproc) CPUs; kernel $(uname -r); load before:$(uptime | sed "s/.*load average://")"
work="$(mktemp -d)"
"$bin/dedupbench" run --dir "$dir" --jfs-dedup "$bin/jfs-dedup" --work "$work" --repeat "$repeat"
if [ "$keep" = 0 ]; then rm -rf "$dir"; fi
