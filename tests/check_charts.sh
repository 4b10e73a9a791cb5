#!/usr/bin/env bash
# tools/scripts/bench_chart.py and bench_compare.py --chart: the charts are drawn, say what they
# show, and are reproducible (the same results give the same bytes: no date, fixed hash salt).
# Usage: check_charts.sh RESULTS.json SLOWDOWN_A.json SLOWDOWN_B.json
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check_charts: $*" >&2; exit 1; }

chart=$root/tools/scripts/bench_chart.py
/usr/bin/python3 "$chart" results "$1" "$tmp/a.svg" >/dev/null
/usr/bin/python3 "$chart" results "$1" "$tmp/b.svg" >/dev/null
cmp -s "$tmp/a.svg" "$tmp/b.svg" || fail "two renderings of $1 differ"
grep -q '<svg' "$tmp/a.svg" || fail "not an SVG"
! grep -qi 'dc:date' "$tmp/a.svg" || fail "the SVG carries a date"
for text in 'Whole layer' 'S4' 'bert_base' 'OpenBLAS composition' '% of the'; do
  grep -q -- "$text" "$tmp/a.svg" || fail "the results chart lacks '$text'"
done

set +e
/usr/bin/python3 "$root/tools/scripts/bench_compare.py" --chart "$tmp/ab.svg" files "$2" "$3" \
  >"$tmp/ab.log" 2>&1
status=$?
set -e
[ "$status" -eq 1 ] || fail "bench_compare exited $status on a slowed build, expected 1"
for text in 'mha/edgeattn/S1_tiny_edge' 'p=0.0' '4 slower'; do
  grep -q -- "$text" "$tmp/ab.svg" || fail "the A/B chart lacks '$text'"
done
/usr/bin/python3 "$chart" results /dev/null "$tmp/x.svg" >/dev/null 2>&1 &&
  fail "an unreadable results file was accepted"
echo "check_charts: results and A/B charts drawn, reproducible"
