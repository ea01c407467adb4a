#!/usr/bin/env bash
# Every benchmark of issue #8, one after the other; figures go to stdout and bench/results/.
# Usage: bench/run_all.sh [--quick]   (--quick: small sizes, a few minutes)
# Compare figures only within one run: the ratios are what carries across machines.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-venv/bin/python}
quick=()
[[ "${1:-}" == "--quick" ]] && quick=(--quick)
mkdir -p bench/results
machine() {
  echo "nproc: $(nproc)"
  echo "python: $("$python" --version 2>&1)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "ram: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "openssl: $(openssl version)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)"
}
{
  echo "== machine"; machine
  echo "== 1. graph build";   "$python" -m bench.graph_build "${quick[@]}" --json bench/results/graph.json
  echo "== 1. the gap by delivery"; "$python" -m bench.gap "${quick[@]}"
  echo "== 2. policy pack";   "$python" -m bench.policy "${quick[@]}"
  echo "== 3+4. preflight";   "$python" -m bench.preflight_path "${quick[@]}"
  echo "== 5. key algorithms"; "$python" -m bench.keys "${quick[@]}"
  echo "== 6. no-op";         "$python" -m bench.noop "${quick[@]}"
} 2>&1 | tee bench/results/run_all.txt
