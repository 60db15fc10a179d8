#!/usr/bin/env bash
# Runs every benchmark and prints its figures (medians and ratios).
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench . -benchtime 1x ./... 2>&1 | grep -Ev '^(goos|goarch|pkg|cpu):'
