#!/usr/bin/env bash
# tests/valgrind.sh - valgrind memcheck over the headless paths: a render of each model family, every
# lesson checked (and one on the screen), a lesson played through headlessly (when `render --lesson` exists), and the error paths
# of a bad model and a bad lesson. Fails on any memcheck error or a definite/possible leak; "still
# reachable" blocks of library initialisers (glib, libgomp, fontconfig, SDL) are allowed. Suppressions, if
# a platform ever needs them, go in tests/valgrind.supp.
# Usage: tests/valgrind.sh path/to/stepformer      (ctest runs it as valgrind_memcheck, label valgrind)
set -uo pipefail
BIN="$1"
cd "$(dirname "$0")/.."
export SDL_VIDEODRIVER=dummy
tmp="$(mktemp -d /tmp/sf_valgrind.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,possible
    --suppressions=tests/valgrind.supp)
fail=0
# run EXPECT-STATUS ARGS...: runs stepformer under memcheck; memcheck errors give status 99
run() {
  local want="$1"; shift
  "${VG[@]}" "$BIN" "$@" >"$tmp/out" 2>&1
  local got=$?
  if [ "$got" = 99 ] || { [ "$want" = 0 ] && [ "$got" != 0 ]; } || { [ "$want" = fail ] && [ "$got" = 0 ]; }; then
    echo "valgrind: FAILED (status $got): stepformer $*" >&2
    cat "$tmp/out" >&2
    fail=1
  else
    echo "valgrind: clean: stepformer $*"
  fi
}
run 0 render --model assets/models/reverse.sfm --input abcdefgh --out "$tmp/enc.png"
run 0 render --model assets/models/words.sfm --input the --out "$tmp/gpt.png"
# a GPT-2-format model (llm.c layout) with a byte-level BPE tokenizer, and one whose vocabulary is not GPT-2's
run 0 trace --model tests/fuzz/corpus/llmc/bpe260_v3 --tokenizer tests/fuzz/corpus/bpe/tiny.sftok --input "hi hi! 你" --max-new 3 --json
run 0 render --model tests/fuzz/corpus/llmc/bpe260_v3 --tokenizer tests/fuzz/corpus/bpe/tiny.sftok --input "hi" --out "$tmp/bpe.png"
run fail trace --model tests/fuzz/corpus/llmc/tiny0_v3 --input x
run 0 lesson --check --no-screen lessons/[0-9]*.md
run 0 lesson --check --screen 800x450 lessons/07-cross-attention.md   # the screen check (slow under memcheck: small, but
                                                                      # not below the smallest size whose narration pane
                                                                      # holds the lesson's text, which --check checks)
run 0 train --task sort --steps 3 --threads 1 --out "$tmp/t.sfm"
if "$BIN" --help 2>&1 | grep -q -- 'render --lesson'; then
  mkdir -p "$tmp/slides"
  run 0 render --lesson lessons/07-cross-attention.md --all --size 800x450 --out "$tmp/slides"
fi
head -c 3000 assets/models/reverse.sfm >"$tmp/cut.sfm"
run fail render --model "$tmp/cut.sfm" --input abc --out "$tmp/bad.png"
printf '# broken\n\n## step\n@model nowhere.sfm\n@cursor dec 99\n' >"$tmp/bad.md"
run fail lesson --check "$tmp/bad.md"
exit $fail
