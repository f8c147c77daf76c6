#!/usr/bin/python3
"""gpt2_torch.py - the PyTorch baseline for bench/bench_gpt2.c: one GPT-2 decoder step per token with a
KV cache, on the very weights bench_gpt2 wrote (an llm.c gpt2_124M.bin-shaped file), timed the same way
(positions 1..64, median per round, best of the rounds).

The step is the usual cached one (as Hugging Face's past_key_values): embed the new token, and per layer
LayerNorm, the fused q|k|v projection of that one row, append k and v to the cache, attend over the
cache, project, residual, LayerNorm, the MLP (GELU tanh), residual; then the final LayerNorm and the
logits against the tied embedding. torch.no_grad, float32, THREADS intra-op threads (and as many for
OpenBLAS). Prints which BLAS library torch actually loaded.

usage: /usr/bin/python3 bench/gpt2_torch.py FILE [THREADS (2)] [ROUNDS (3)]
The last line is `step_ms: X` for bench/gpt2 to read.
"""
import os
import sys

THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 2
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
os.environ["OPENBLAS_NUM_THREADS"] = str(THREADS)
os.environ["OMP_NUM_THREADS"] = str(THREADS)

import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

POS = 64


def blas_in_use():
    """Returns the BLAS shared libraries this process has loaded, resolved through their symlinks."""
    found = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if "blas" in os.path.basename(p).lower() or "mkl" in os.path.basename(p).lower():
                found.add(os.path.realpath(p))
    return sorted(found) or ["none found in /proc/self/maps"]


def load(path):
    """Returns the config and the 16 llm.c tensors of FILE as torch tensors."""
    hdr = np.fromfile(path, dtype="<i4", count=256)
    assert hdr[0] == 20240326 and hdr[1] == 3, "not an llm.c fp32 checkpoint"
    T, V, L, NH, C, Vp = (int(v) for v in hdr[2:8])
    shapes = [(Vp, C), (T, C), (L, C), (L, C), (L, 3 * C, C), (L, 3 * C), (L, C, C), (L, C), (L, C), (L, C),
              (L, 4 * C, C), (L, 4 * C), (L, C, 4 * C), (L, C), (C,), (C,)]
    flat = np.fromfile(path, dtype="<f4", offset=1024)
    out, o = [], 0
    for shp in shapes:
        n = int(np.prod(shp))
        out.append(torch.from_numpy(flat[o:o + n].reshape(shp).copy()))
        o += n
    assert o == flat.size
    return dict(T=T, V=V, L=L, NH=NH, C=C), out


def main():
    torch.set_num_threads(THREADS)
    cfg, (wte, wpe, ln1w, ln1b, qkvw, qkvb, apw, apb, ln2w, ln2b, fcw, fcb, fpw, fpb, lnfw, lnfb) = load(sys.argv[1])
    V, L, NH, C = cfg["V"], cfg["L"], cfg["NH"], cfg["C"]
    hs = C // NH
    wte_v = wte[:V].contiguous()
    scale = 1.0 / math.sqrt(hs)
    K = torch.zeros(L, NH, POS + 1, hs)
    Vc = torch.zeros(L, NH, POS + 1, hs)

    def step(tok, t):
        x = wte[tok] + wpe[t]
        for l in range(L):
            h = F.layer_norm(x, (C,), ln1w[l], ln1b[l], 1e-5)
            q, k, v = F.linear(h, qkvw[l], qkvb[l]).split(C)
            K[l, :, t] = k.view(NH, hs)
            Vc[l, :, t] = v.view(NH, hs)
            att = torch.softmax((K[l, :, :t + 1] @ q.view(NH, hs, 1)).squeeze(2) * scale, dim=-1)  # (NH, t+1)
            y = (att.unsqueeze(1) @ Vc[l, :, :t + 1]).reshape(C)
            x = x + F.linear(y, apw[l], apb[l])
            h = F.layer_norm(x, (C,), ln2w[l], ln2b[l], 1e-5)
            x = x + F.linear(F.gelu(F.linear(h, fcw[l], fcb[l]), approximate="tanh"), fpw[l], fpb[l])
        x = F.layer_norm(x, (C,), lnfw, lnfb, 1e-5)
        return torch.softmax(F.linear(x, wte_v), dim=-1)

    print("torch %s, %d threads; BLAS loaded: %s" % (torch.__version__, torch.get_num_threads(), ", ".join(blas_in_use())))
    best = 1e30
    with torch.no_grad():
        for r in range(ROUNDS):
            step(50256, 0)
            times = []
            for p in range(POS):
                a = time.perf_counter()
                step((p * 7919 + 13) % V, p + 1)
                times.append((time.perf_counter() - a) * 1e3)
            times.sort()
            med = (times[POS // 2 - 1] + times[POS // 2]) / 2
            print("round %d: median %.2f ms per token (positions 1-%d), p90 %.2f ms" % (r + 1, med, POS, times[POS * 9 // 10]))
            best = min(best, med)
    print("pytorch: %.2f ms per token (best of %d rounds' medians)" % (best, ROUNDS))
    print("step_ms: %.3f" % best)


if __name__ == "__main__":
    main()
