#!/usr/bin/env bash
# Runs every Go benchmark and prints its figures (medians, percentiles and
# ratios are reported by the benchmarks themselves via b.ReportMetric).
#   - fixed-workload benchmarks (each runs its own median-of-N): -benchtime 1x
#   - per-operation benchmarks of the store, the planner, MUNGE and the path
#     check: -benchtime 2s
# test/e2e includes the multi-host figures (BenchmarkHosts*: sbatch on a login
# host reaching warmupd on a service host over TCP + MUNGE, submits/s from
# the login host (BenchmarkHostsSubmitRate), the prolog on a
# compute host; test/slurm-cluster/hosts-up.sh, network namespaces, as root).
# The duplicate-finder comparison with rmlint/jdupes/rdfind/fdupes is
# separate: `make bench-dedup` (bench/dedup/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
filter() { grep -Ev '^(goos|goarch|pkg|cpu):|^PASS$|testutil: using the JuiceFS stand-in|^--- BENCH|^ +writer.go:' || true; }
echo "== per-operation benchmarks (pkg/queue, pkg/planner, internal/munge, internal/server, internal/accesslog and internal/agent: lines/s), -benchtime 2s"
go test -run '^$' -bench . -benchtime 2s ./pkg/queue ./pkg/planner ./internal/munge ./internal/server ./internal/accesslog ./internal/agent 2>&1 | filter
echo "== fixed-workload benchmarks, -benchtime 1x"
# BenchmarkRefresh1M writes and warms ACCEL_BENCH_FILES small files through the
# mount: 1 000 000 by default, the size issue 11's target is set at (about 25
# minutes: writing the files through the stand-in's FUSE mount takes 11, warming
# them 5); ACCEL_BENCH_FILES=100000 gives a quick run. BenchmarkSampledCheck1M
# measures warmupd's own share at 1 000 000.
export ACCEL_BENCH_FILES="${ACCEL_BENCH_FILES:-1000000}"
go test -run '^$' -bench . -benchtime 1x -timeout 120m ./pkg/jfs ./pkg/sim ./cmd/swarmup ./internal/cachemgr ./test/integration ./test/e2e 2>&1 | filter
echo "== submit throughput with 32 concurrent clients (a burst of sbatch from many users; the runs above use 4), -benchtime 1x"
ACCEL_BENCH_WORKERS=32 go test -run '^$' -bench 'BenchmarkSubmitTCP$|BenchmarkHostsSubmitRate$' -benchtime 1x -timeout 60m ./test/integration ./test/e2e 2>&1 | filter
echo "== submit throughput at saturation: 256 concurrent clients (the SQLite writer busy most of the time; docs/performance-submit.md), -benchtime 1x"
ACCEL_BENCH_WORKERS=256 go test -run '^$' -bench 'BenchmarkSubmitTCP$' -benchtime 1x -timeout 60m ./test/integration 2>&1 | filter
