#!/bin/sh
# tools/train-models.sh - retrains the shipped models in assets/models/ with their fixed seeds, evaluates
# each on held-out examples and prints the figures assets/models/README.md records.
#
# usage: tools/train-models.sh [BUILD_DIR (default: build)] [TASK...]
# Needs Debian's word list (package wamerican) for `words`. Training times depend on what else the
# machine is doing; the figures in the README were taken on the 2-core development machine.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
[ $# -gt 0 ] && shift
tasks=${*:-reverse copy sort words induction}
bin=$build/stepformer
out=$root/assets/models
[ -x "$bin" ] || { echo "tools/train-models.sh: $bin not found; build first" >&2; exit 1; }
mkdir -p "$out"
for t in $tasks; do
    start=$(date +%s.%N)
    "$bin" train --task "$t" --seed 1 --out "$out/$t.sfm" > "$out/.$t.log" 2>&1 || { cat "$out/.$t.log"; exit 1; }
    end=$(date +%s.%N)
    rm -f "$out/$t.sfm.opt" "$out/.$t.log"   # the optimizer state is not shipped
    echo "== $t: trained in $(echo "$end - $start" | bc) s (stepformer train --task $t --seed 1 --out assets/models/$t.sfm)"
    "$bin" eval --model "$out/$t.sfm" --task "$t" --n 1000 | grep -E "loss|baseline|per-token|^accuracy"
done
