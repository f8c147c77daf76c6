#!/bin/sh
# ocr-lessons.sh - can the narration be read from the back of the room? Renders every step of lessons 1, 6 and
# 7 (or the lessons given) at 1024x768 in projector mode, shrinks each PNG to half size (a stand-in for
# distance), reads it with tesseract and prints, per lesson and in all, the share of the narration's words
# (each frame's title and text, as `stepformer lesson --text` prints them) found in what tesseract read.
#
#   tools/ocr-lessons.sh [--build DIR] [--size WxH] [--lang en|zh] [--normal] [--keep DIR] [LESSON.md...]
#
# Needs tesseract-ocr (eng; chi_sim for --lang zh), imagemagick and python3. Exit status 0 unless a tool fails.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build="$here/build" size=1024x768 lang=en mode=--projector keep=""
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --lang) lang=$2; shift 2 ;;
    --normal) mode=""; shift ;;
    --keep) keep=$2; shift 2 ;;
    -*) echo "ocr-lessons.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
[ $# -gt 0 ] || set -- "$here/lessons/01-what-is-a-transformer.md" "$here/lessons/06-encoder-vs-decoder.md" \
                       "$here/lessons/07-cross-attention.md"
for tool in tesseract convert python3; do
    command -v $tool >/dev/null || { echo "ocr-lessons.sh: $tool is not installed (tools/setup.sh)" >&2; exit 1; }
done
[ -x "$build/stepformer" ] || { echo "ocr-lessons.sh: no $build/stepformer; build first or pass --build DIR" >&2; exit 1; }
tess_lang=eng
[ "$lang" = zh ] && tess_lang=chi_sim+eng
work=${keep:-$(mktemp -d)}
mkdir -p "$work"
export SDL_VIDEODRIVER=dummy
for lesson in "$@"; do
    name=$(basename "$lesson" .md)
    dir="$work/$name"
    rm -rf "$dir"
    mkdir -p "$dir"
    "$build/stepformer" render --lesson "$lesson" --all $mode --lang "$lang" --size "$size" --out "$dir" >/dev/null
    "$build/stepformer" lesson --text --lang "$lang" "$lesson" >"$dir/narration.txt"
    for png in "$dir"/[0-9]*.png; do
        convert "$png" -resize 50% "$png.half.png"
        tesseract "$png.half.png" "${png%.png}" -l $tess_lang >/dev/null 2>&1
    done
done
python3 - "$work" "$lang" "$@" <<'EOF'
import collections, glob, os, re, sys
work, lang, lessons = sys.argv[1], sys.argv[2], sys.argv[3:]

def words(text):
    """The words of a text: lowercase runs of letters and digits; in Chinese, every character."""
    text = text.lower()
    if lang == "zh":
        return re.findall(r"[\u4e00-\u9fff]|[a-z0-9]+", text)
    return re.findall(r"[a-z0-9]+", text)

def frames(narration):
    """Each frame's narration (its title and text) from `lesson --text`, in order."""
    out, cur = [], None
    for line in narration.splitlines():
        m = re.match(r"## \[(\d+)/\d+\] step \d+[^:]*: (.*)", line)
        if m:
            cur = [m.group(2)]
            out.append(cur)
        elif cur is not None and line.startswith("  ") and not line.startswith("  >") and not line.startswith("  [answer"):
            cur.append(line.strip())
    return [" ".join(f) for f in out]

total_want = total_got = 0
for lesson in lessons:
    name = os.path.basename(lesson)[:-3]
    d = os.path.join(work, name)
    texts = frames(open(os.path.join(d, "narration.txt"), encoding="utf-8").read())
    ocr = sorted(glob.glob(os.path.join(d, "[0-9]*.txt")))
    want = got = 0
    for k, text in enumerate(texts):
        need = collections.Counter(words(text))
        seen = collections.Counter(words(open(ocr[k], encoding="utf-8").read())) if k < len(ocr) else collections.Counter()
        want += sum(need.values())
        got += sum(min(n, seen[w]) for w, n in need.items())
    total_want += want
    total_got += got
    print(f"{name}: {got}/{want} narration words recovered ({100.0 * got / max(want, 1):.1f}%) over {len(texts)} frames")
print(f"all: {total_got}/{total_want} ({100.0 * total_got / max(total_want, 1):.1f}%)")
EOF
[ -n "$keep" ] || rm -rf "$work"
