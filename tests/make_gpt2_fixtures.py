#!/usr/bin/python3
"""make_gpt2_fixtures.py - the PyTorch oracle for stepformer's GPT-2 readers (llm.c and Hugging Face).

A GPT-2-shaped model with GPT-2's real vocabulary (50257 tokens, 2 layers, 64 wide, 4 heads, 128
positions) whose weights come from a deterministic formula rather than a file, so nothing of 13 MB is
committed: tests/gpt2_weights.c computes the same formula in C, writes the same llm.c file, the same
model.safetensors and the same config.json, checks their CRC-32 against the ones recorded here, and then
loads them (tests/test_gpt2.c).

The formula (both sides): weight i of llm.c tensor t (0..15, llm.c's order, layer-stacked, index in the
llm.c layout) is
    h = lowbias32(i * 0x9E3779B1 + (t + 1) * 0x85EBCA77 + seed * 0xC2B2AE3D)      (mod 2^32)
    w = ((h >> (32 - BITS[t])) - 2^(BITS[t] - 1)) * 2^-SHIFT[t] + OFFSET[t]
in float32, where every step is exact (integers below 2^24, powers of two, sums that fit 24 bits), so C
and numpy give the same bits. The padded vocabulary rows of wte (50257..50303) are zero, as llm.c's are.

The reference is an independent GPT-2 written here from torch ops with Hugging Face's semantics (Conv1D
weights (in, out) used as x @ W + b, fused c_attn split q|k|v, pre-LN, GELU tanh, tied head), run in
float64 on the float32 weights. It runs on the prompt's ids (from the reference JS encoder) and greedily
generates 3 more tokens. Written to tests/fixtures/gpt2_small.expect (format: tests/expect.h):
    tgt            the 16 ids (<|endoftext|>, the prompt's 12, the 3 generated)
    logit_ids      the vocabulary ids whose logits are kept (every 97th, and the last 8)
    dec.logits@ids logits at those ids, every position
    dec.lse        log-sum-exp of each position's full row of 50257 logits
    dec.L{l}.self.H{h}.probs   every head's attention, in full
    crc.*          CRC-32 and size of the three files, which tests/gpt2_weights.c must reproduce

Regenerate with:  /usr/bin/python3 tests/make_gpt2_fixtures.py [--check STEPFORMER]
With --check it also runs `STEPFORMER trace --json` on both files it writes (into a scratch folder) and
compares every logit of every position and every head's attention with the reference (the committed
fixture keeps a subset of the logits; this is the full comparison).
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPE = dict(V=50257, Vp=50304, C=64, NH=4, L=2, T=128)
SEED = 1
# the prompt "Hello, world! 你好. The cat" as the npm gpt-3-encoder encodes it
PROMPT = [15496, 11, 995, 0, 220, 19526, 254, 25001, 121, 13, 383, 3797]
EOT = 50256
GENERATE = 3
NAMES = ["wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
         "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"]
#          wte wpe ln1w ln1b qkvw qkvb apw apb ln2w ln2b fcw fcb fpw fpb lnfw lnfb
BITS   = [23, 23, 20, 23, 23, 23, 23, 23, 20, 23, 23, 23, 23, 23, 20, 23]
SHIFT  = [26, 27, 22, 26, 24, 26, 25, 26, 22, 26, 25, 26, 26, 26, 22, 26]
OFFSET = [0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0]
M32 = 0xFFFFFFFF


def shapes(s):
    """Returns the llm.c shape of each of the 16 tensors."""
    V, Vp, C, L, T = s["V"], s["Vp"], s["C"], s["L"], s["T"]
    return [(Vp, C), (T, C), (L, C), (L, C), (L, 3 * C, C), (L, 3 * C), (L, C, C), (L, C), (L, C), (L, C),
            (L, 4 * C, C), (L, 4 * C), (L, C, 4 * C), (L, C), (C,), (C,)]


def formula(t, n, seed):
    """Returns the n float32 weights of llm.c tensor t."""
    i = np.arange(n, dtype=np.uint64)
    x = (i * 0x9E3779B1 + (t + 1) * 0x85EBCA77 + seed * 0xC2B2AE3D) & M32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    x ^= x >> 16
    q = (x >> (32 - BITS[t])).astype(np.int64) - (1 << (BITS[t] - 1))
    return (q.astype(np.float32) * np.float32(2.0 ** -SHIFT[t]) + np.float32(OFFSET[t])).astype(np.float32)


def llmc_tensors(s, seed):
    """Returns the 16 llm.c tensors (float32 numpy arrays in llm.c's shapes)."""
    out = []
    for t, shp in enumerate(shapes(s)):
        a = formula(t, int(np.prod(shp)), seed).reshape(shp)
        if t == 0:
            a[s["V"]:] = 0.0  # llm.c pads the vocabulary with zero rows
        out.append(a)
    return out


def llmc_bytes(s, tensors):
    """Returns the llm.c file: 256 int32 header (magic 20240326, version 3), then the tensors."""
    hdr = np.zeros(256, dtype="<i4")
    hdr[:8] = [20240326, 3, s["T"], s["V"], s["L"], s["NH"], s["C"], s["Vp"]]
    return hdr.tobytes() + b"".join(a.astype("<f4").tobytes() for a in tensors)


def hf_tensors(s, tt):
    """Returns the Hugging Face GPT-2 tensors ((name, float32 array) in file order) for llm.c tensors tt."""
    V = s["V"]
    out = [("wte.weight", tt[0][:V]), ("wpe.weight", tt[1])]
    for l in range(s["L"]):
        p = "h.%d." % l
        out += [(p + "ln_1.weight", tt[2][l]), (p + "ln_1.bias", tt[3][l]),
                (p + "attn.bias", np.tril(np.ones((s["T"], s["T"]), np.float32)).reshape(1, 1, s["T"], s["T"])),
                (p + "attn.c_attn.weight", tt[4][l].T), (p + "attn.c_attn.bias", tt[5][l]),
                (p + "attn.c_proj.weight", tt[6][l].T), (p + "attn.c_proj.bias", tt[7][l]),
                (p + "ln_2.weight", tt[8][l]), (p + "ln_2.bias", tt[9][l]),
                (p + "mlp.c_fc.weight", tt[10][l].T), (p + "mlp.c_fc.bias", tt[11][l]),
                (p + "mlp.c_proj.weight", tt[12][l].T), (p + "mlp.c_proj.bias", tt[13][l])]
    out += [("ln_f.weight", tt[14]), ("ln_f.bias", tt[15])]
    return out


def safetensors_bytes(named):
    """Returns a model.safetensors file: the JSON header exactly as tests/gpt2_weights.c writes it (members
    in file order, no spaces, padded with spaces to a multiple of 8), then the data."""
    parts, off, data = ['{"__metadata__":{"format":"pt"}'], 0, []
    for name, a in named:
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        parts.append('"%s":{"dtype":"F32","shape":[%s],"data_offsets":[%d,%d]}' %
                     (name, ",".join(str(d) for d in a.shape), off, off + len(b)))
        off += len(b)
        data.append(b)
    head = ",".join(parts) + "}"
    head += " " * (-(8 + len(head)) % 8)
    return struct.pack("<Q", len(head)) + head.encode() + b"".join(data)


def config_json(s):
    """Returns config.json as tests/gpt2_weights.c writes it."""
    return ('{"activation_function":"gelu_new","architectures":["GPT2LMHeadModel"],"layer_norm_epsilon":1e-05,'
            '"model_type":"gpt2","n_ctx":%d,"n_embd":%d,"n_head":%d,"n_inner":null,"n_layer":%d,"n_positions":%d,'
            '"vocab_size":%d}\n' % (s["T"], s["C"], s["NH"], s["L"], s["T"], s["V"]))


def gpt2(ids, named, s):
    """Returns (logits (T, V), probs[l] (NH, T, T)): GPT-2 as Hugging Face computes it, in float64."""
    P = {k: torch.tensor(np.array(v), dtype=torch.float64) for k, v in named}
    C, NH = s["C"], s["NH"]
    hs = C // NH
    T = len(ids)
    idx = torch.tensor(ids)
    x = P["wte.weight"][idx] + P["wpe.weight"][:T]
    causal = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    probs = []
    for l in range(s["L"]):
        p = "h.%d." % l
        h = F.layer_norm(x, (C,), P[p + "ln_1.weight"], P[p + "ln_1.bias"], 1e-5)
        qkv = h @ P[p + "attn.c_attn.weight"] + P[p + "attn.c_attn.bias"]
        q, k, v = (z.reshape(T, NH, hs).transpose(0, 1) for z in qkv.split(C, dim=1))
        att = (q @ k.transpose(1, 2)) / math.sqrt(hs)
        att = att.masked_fill(causal, float("-inf")).softmax(dim=-1)
        probs.append(att)
        y = (att @ v).transpose(0, 1).reshape(T, C)
        x = x + y @ P[p + "attn.c_proj.weight"] + P[p + "attn.c_proj.bias"]
        h = F.layer_norm(x, (C,), P[p + "ln_2.weight"], P[p + "ln_2.bias"], 1e-5)
        h = F.gelu(h @ P[p + "mlp.c_fc.weight"] + P[p + "mlp.c_fc.bias"], approximate="tanh")
        x = x + h @ P[p + "mlp.c_proj.weight"] + P[p + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (C,), P["ln_f.weight"], P["ln_f.bias"], 1e-5)
    return x @ P["wte.weight"].T, probs


def fmt(v):
    return "%.9g" % v


def main():
    s = SHAPE
    tt = llmc_tensors(s, SEED)
    named = hf_tensors(s, tt)
    files = {"llmc": llmc_bytes(s, tt), "safetensors": safetensors_bytes(named), "config": config_json(s).encode()}
    ids = [EOT] + PROMPT
    for _ in range(GENERATE):
        logits, _ = gpt2(ids, named, s)
        ids.append(int(logits[-1].argmax()))
    logits, probs = gpt2(ids, named, s)
    # self-check: causality, every prefix gives the same rows as the full pass
    for t in range(1, len(ids) + 1):
        lt, pt = gpt2(ids[:t], named, s)
        assert torch.allclose(lt, logits[:t], atol=1e-9), t
        for l in range(s["L"]):
            assert torch.allclose(pt[l], probs[l][:, :t, :t], atol=1e-12), t
    keep = list(range(0, s["V"], 97)) + list(range(s["V"] - 8, s["V"]))
    T = len(ids)
    out = ["# stepformer PyTorch oracle: gpt2_small (generated by tests/make_gpt2_fixtures.py; do not edit)",
           "# torch %s, float64 reference of a GPT-2 from torch ops, weights from the formula (seed %d)" % (torch.__version__, SEED),
           "# V=%d Vp=%d C=%d NH=%d L=%d T=%d; ids: <|endoftext|>, the prompt's %d, %d generated greedily"
           % (s["V"], s["Vp"], s["C"], s["NH"], s["L"], s["T"], len(PROMPT), GENERATE),
           "tgt %d %s" % (T, " ".join(map(str, ids)))]
    for k, b in files.items():
        out.append("tensor crc.%s 1 2\n%d %d" % (k, zlib.crc32(b) & M32, len(b)))
    out.append("tensor logit_ids 1 %d\n%s" % (len(keep), " ".join(map(str, keep))))
    out.append("tensor dec.logits@ids 2 %d %d" % (T, len(keep)))
    out += [" ".join(fmt(logits[t, j].item()) for j in keep) for t in range(T)]
    out.append("tensor dec.lse 1 %d\n%s" % (T, " ".join(fmt(v) for v in torch.logsumexp(logits, dim=1).tolist())))
    for l in range(s["L"]):
        for h in range(s["NH"]):
            out.append("tensor dec.L%d.self.H%d.probs 2 %d %d" % (l, h, T, T))
            out += [" ".join(fmt(v) for v in probs[l][h, t].tolist()) for t in range(T)]
    path = os.path.join(HERE, "fixtures", "gpt2_small.expect")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print("wrote %s: %d positions, generated %s" % (path, T, ids[-GENERATE:]))
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2], files, ids, logits, probs, s)


def check(binary, files, ids, logits, probs, s):
    """Runs `trace --json` on both written files and compares every logit and attention weight."""
    with tempfile.TemporaryDirectory() as d:
        for k, name in (("llmc", "gpt2_small.bin"), ("safetensors", "model.safetensors"), ("config", "config.json")):
            with open(os.path.join(d, name), "wb") as f:
                f.write(files[k])
        for model in ("gpt2_small.bin", "model.safetensors"):
            r = subprocess.run([binary, "trace", "--json", "--max-new", str(GENERATE), "--model", os.path.join(d, model),
                                "--input", "Hello, world! 你好. The cat"], capture_output=True, check=True)
            j = json.loads(r.stdout)
            got_ids = [x["id"] for x in j["tgt"]]
            assert got_ids == ids, (model, got_ids, ids)
            tens = {t["name"]: t["values"] for t in j["tensors"]}
            worst = float(np.abs(np.array(tens["dec.logits"]) - logits.numpy()).max())
            for l in range(s["L"]):
                for h in range(s["NH"]):
                    got = np.array(tens["dec.L%d.self.H%d.probs" % (l, h)])[:, :len(ids)]
                    worst = max(worst, float(np.abs(got - probs[l][h].numpy()).max()))
            print("check %s: ids equal; max |stepformer - torch| over all %d x %d logits and every head's attention: %.3g"
                  % (model, len(ids), s["V"], worst))
            assert worst < 1e-4


if __name__ == "__main__":
    main()
