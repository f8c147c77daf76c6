#!/bin/sh
# ocr-lessons.sh - can the narration be read from the back of the room? Renders every step of lessons 1, 6 and
# 7 (or the lessons given) at 1024x768 in projector mode, shrinks each PNG to half size (a stand-in for
# distance), reads it with tesseract and prints, per lesson and in all, the share of the narration's words
# (each frame's title and text, as `stepformer lesson --text` prints them) found in what tesseract read, and the
# share of the numbers the narration quotes (0.21, -1.87, .964) that tesseract read on a panel other than the
# narration ("0.21" and ".21" count alike): each panel cut out of the half-size frame (`render --panels` gives
# their rectangles) and read on its own, since tesseract reading the whole frame runs a panel's short lines into
# the narration column's beside them and drops their numbers; the cut is enlarged 2x first (no detail the
# half-size frame lacks: tesseract wants letters some 20 px high, and the panels' smallest text is 8-9 px there).
# --list names each frame's numbers not read back.
#
#   tools/ocr-lessons.sh [--build DIR] [--size WxH] [--lang en|zh] [--normal] [--keep DIR] [--list] [LESSON.md...]
#
# Needs tesseract-ocr (eng; chi_sim for --lang zh), imagemagick and python3. Exit status 0 unless a tool fails.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build="$here/build" size=1024x768 lang=en mode=--projector keep="" list=0
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --lang) lang=$2; shift 2 ;;
    --normal) mode=""; shift ;;
    --keep) keep=$2; shift 2 ;;
    --list) list=1; shift ;;
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
    "$build/stepformer" render --lesson "$lesson" --all --panels $mode --lang "$lang" --size "$size" --out "$dir" >/dev/null
    "$build/stepformer" lesson --text --lang "$lang" "$lesson" >"$dir/narration.txt"
    for png in "$dir"/[0-9]*.png; do
        convert "$png" -resize 50% "$png.half.png"
        tesseract "$png.half.png" "${png%.png}" -l $tess_lang >/dev/null 2>&1
    done
done
python3 - "$work" "$lang" "$list" "$tess_lang" "$@" <<'EOF'
import collections, glob, os, re, subprocess, sys
work, lang, listing, tess_lang, lessons = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4], sys.argv[5:]

def words(text):
    """The words of a text: lowercase runs of letters and digits; in Chinese, every character."""
    text = text.lower()
    if lang == "zh":
        return re.findall(r"[\u4e00-\u9fff]|[a-z0-9]+", text)
    return re.findall(r"[a-z0-9]+", text)

def numbers(text):
    """The decimal numbers of a text, each without its leading zero ("0.21" and ".21" alike, "-.34")."""
    text = text.replace("\u2212", "-").replace("\u2013", "-").replace("\u2014", "-")
    return [re.sub(r"^(-?)0+\.", r"\1.", n) for n in re.findall(r"-?\d*\.\d+", text)]

def panels_read(png):
    """What tesseract reads in each panel of frame png but the narration, each cut out of the half-size frame."""
    out = []
    for line in open(png + ".panels", encoding="utf-8"):
        name, x, y, w, h = line.split()
        if name == "narration":
            continue
        x, y, w, h = (int(v) // 2 for v in (x, y, w, h))
        crop = png + "." + name + ".png"
        subprocess.run(["convert", png + ".half.png", "-crop", f"{w}x{h}+{x}+{y}", "+repage", "-resize", "200%", crop], check=True)
        out.append(subprocess.run(["tesseract", crop, "-", "-l", tess_lang], capture_output=True, text=True).stdout)
    return "\n".join(out)

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

total_want = total_got = num_want = num_got = 0
for lesson in lessons:
    name = os.path.basename(lesson)[:-3]
    d = os.path.join(work, name)
    texts = frames(open(os.path.join(d, "narration.txt"), encoding="utf-8").read())
    ocr = sorted(glob.glob(os.path.join(d, "[0-9]*.txt")))
    want = got = nwant = ngot = 0
    for k, text in enumerate(texts):
        read = open(ocr[k], encoding="utf-8").read() if k < len(ocr) else ""
        need = collections.Counter(words(text))
        seen = collections.Counter(words(read))
        want += sum(need.values())
        got += sum(min(n, seen[w]) for w, n in need.items())
        quoted = collections.Counter(numbers(text))
        shown = collections.Counter(numbers(panels_read(ocr[k][:-4] + ".png"))) if quoted and k < len(ocr) else {}
        missing = [q for q in quoted if not shown.get(q)]
        nwant += len(quoted)
        ngot += len(quoted) - len(missing)
        if listing and missing:
            frame = os.path.basename(ocr[k])[:-4] if k < len(ocr) else str(k + 1)
            print(f"  {name}/{frame}: not read on a panel: {' '.join(missing)}")
    total_want += want
    total_got += got
    num_want += nwant
    num_got += ngot
    print(f"{name}: {got}/{want} narration words recovered ({100.0 * got / max(want, 1):.1f}%) over {len(texts)} frames;"
          f" {ngot}/{nwant} quoted numbers read on a panel")
print(f"all: {total_got}/{total_want} ({100.0 * total_got / max(total_want, 1):.1f}%); quoted numbers {num_got}/{num_want}"
      f" ({100.0 * num_got / max(num_want, 1):.1f}%)")
EOF
[ -n "$keep" ] || rm -rf "$work"
