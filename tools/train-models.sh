#!/bin/sh
# tools/train-models.sh - retrains the shipped models in assets/models/ with their fixed seeds, evaluates
# each on held-out examples and prints the figures assets/models/README.md records.
#
# usage: tools/train-models.sh [BUILD_DIR (default: build)] [TASK...]
# Needs Debian's word list (package wamerican) for `words`. Training times depend on what else the
# machine is doing; the figures in the README were taken on the 2-core development machine.
# The reverse model is trained with --snapshots, which also writes its snapshot series reverse.snap
# (float16 weights at steps 0, 50, 75, 100, 125, 150, 200, 300, 1000 and 2500; about 4.7 MB). The
# snapshots do not change the training: the same command without them gives the same reverse.sfm.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
[ $# -gt 0 ] && shift
tasks=${*:-reverse copy sort words dates induction}
bin=$build/stepformer
out=$root/assets/models
[ -x "$bin" ] || { echo "tools/train-models.sh: $bin not found; build first" >&2; exit 1; }
mkdir -p "$out"
snap_steps=50,75,100,125,150,200,300,1000
for t in $tasks; do
    start=$(date +%s.%N)
    extra=""
    if [ "$t" = reverse ]; then
        rm -f "$out/reverse.snap"   # a series is never overwritten
        extra="--snapshots $snap_steps --snapshot-bits 16"
    fi
    # shellcheck disable=SC2086
    # --force: the shipped file is replaced on purpose (train refuses to replace a model otherwise)
    "$bin" train --task "$t" --seed 1 --out "$out/$t.sfm" --force $extra > "$out/.$t.log" 2>&1 || { cat "$out/.$t.log"; exit 1; }
    end=$(date +%s.%N)
    rm -f "$out/$t.sfm.opt" "$out/.$t.log"   # the optimizer state is not shipped
    echo "== $t: trained in $(echo "$end - $start" | bc) s (stepformer train --task $t --seed 1 --out assets/models/$t.sfm $extra)"
    "$bin" eval --model "$out/$t.sfm" --task "$t" --n 1000 | grep -E "loss|baseline|per-token|^accuracy"
    if [ "$t" = reverse ]; then "$bin" snapshots "$out/reverse.snap"; fi
done
