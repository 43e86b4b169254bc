#!/usr/bin/env bash
# Whole-ingest throughput of the release build on all newsdiffs-se versions: runs the
# ingest RUNS times into a fresh archive each time and prints each run and the median.
# Usage: scripts/bench-ingest.sh [RUNS]   (NEWSVAULT_CORPUS points at the corpus)
set -euo pipefail
runs=${1:-5}
cd "$(dirname "$0")/.."
corpus=${NEWSVAULT_CORPUS:-../shared/corpus}
cargo build --release -q
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
zcat "$corpus/newsdiffs-se/versions.jsonl.gz" > "$work/versions.jsonl"
docs=$(wc -l < "$work/versions.jsonl")
input=$(stat -c %s "$work/versions.jsonl")
for i in $(seq "$runs"); do
  rm -rf "$work/archive"
  start=$(date +%s.%N)
  ./target/release/newsvault --archive "$work/archive" ingest --json "$work/versions.jsonl" > "$work/summary.json"
  end=$(date +%s.%N)
  size=$(du -sb "$work/archive" | cut -f1)
  python3 -c "import sys; s=$end-$start; print(f'run $i: {s:.2f} s, {$docs/s:,.0f} docs/s, archive {$size/1e6:.1f} MB = {$size/$input:.2f}x input')"
  echo "$end - $start" | bc >> "$work/times"
done
cat "$work/summary.json"; echo
./target/release/newsvault --archive "$work/archive" stats
python3 - "$work/times" "$docs" <<'PY'
import statistics, sys
times = [float(l) for l in open(sys.argv[1])]
m = statistics.median(times)
print(f"median: {m:.2f} s, {int(sys.argv[2]) / m:,.0f} docs/s over {len(times)} runs")
PY
