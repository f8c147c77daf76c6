#!/usr/bin/python3
"""make_interp_fixtures.py - the PyTorch oracle for stepformer's experiments: head ablation (zero and
mean) and the logit lens (docs/experiments.md), on the forward-pass fixtures' own models.

For each case below it takes a model of tests/make_fixtures.py (the same seed gives the same weights; the
committed NAME.sfm is read back and must hold exactly them), runs the fixture's input with some heads
knocked out, and writes tests/fixtures/interp_CASE.expect, which tests/test_interp.c compares with the C
trace of the same intervention (absolute tolerance 1e-5, as test_torch).

What is computed, in float64 on the float32 weights:
  * ablation replaces a head's output (the attention-weighted sum of its values, before the heads are
    concatenated and projected) at every position: by zeros, or by its mean over every position of the
    clean run (the same input without interventions: encoder heads over the source positions, decoder
    self- and cross-attention heads over the decoder positions);
  * the logit lens reads each decoder layer's output stream: pre-LN through the final LayerNorm, post-LN
    directly; then the output head and a softmax.
The attention is written out by hand here (so a head's output can be replaced); without ablation it must
equal torch's F.multi_head_attention_forward (the forward oracle's) to 1e-12, and the last lens layer
must equal the model's output to 1e-12.

Written: dec.logits, dec.probs, every head's probs and out, and dec.L{l}.lens.probs.
Regenerate with:  /usr/bin/python3 tests/make_interp_fixtures.py
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_fixtures import (BOS, CASES as FORWARD_CASES, OUT_DIR, Reference, ids_of, random_weights,  # noqa: E402
                           read_checkpoint)


class Intervened(Reference):
    """The forward oracle with hand-written attention: heads in `ablate` output `values[head]`."""

    def __init__(self, cfg, weights, ablate=(), values=None):
        super().__init__(cfg, weights)
        self.ablate = set(ablate)   # {(stack, layer, kind, head)}
        self.values = values or {}  # (stack, layer, kind, head) -> (HS,) replacement
        self.head_out = {}          # (stack, layer, kind) -> (NH, T, HS) the outputs used downstream
        self.layer_out = {}         # (stack, layer) -> (T, C) the stream leaving the layer

    def attention(self, xq, xkv, w_in, b_in, wo, bo, mask, site=None):
        C, NH = self.C, self.NH
        HS = C // NH
        T, S = xq.shape[0], xkv.shape[0]
        q = F.linear(xq, w_in[:C], b_in[:C]).view(T, NH, HS).transpose(0, 1)
        k = F.linear(xkv, w_in[C:2 * C], b_in[C:2 * C]).view(S, NH, HS).transpose(0, 1)
        v = F.linear(xkv, w_in[2 * C:], b_in[2 * C:]).view(S, NH, HS).transpose(0, 1)
        scores = q @ k.transpose(1, 2) / math.sqrt(HS)
        if mask is not None:
            scores = scores + mask
        probs = torch.softmax(scores, dim=-1)
        out = probs @ v  # (NH, T, HS)
        knocked = [h for h in range(NH) if site + (h,) in self.ablate]
        if not knocked:  # untouched: must be torch's own multi-head attention
            y_ref, p_ref = super().attention(xq, xkv, w_in, b_in, wo, bo, mask, site)
            y = F.linear(out.transpose(0, 1).reshape(T, C), wo, bo)
            assert (y - y_ref).abs().max().item() < 1e-12 and (probs - p_ref).abs().max().item() < 1e-12, site
        out = out.clone()
        for h in knocked:
            out[h] = self.values[site + (h,)].expand(T, HS)
        self.head_out[site] = out
        return F.linear(out.transpose(0, 1).reshape(T, C), wo, bo), probs

    def on_layer(self, stack, layer, x):
        self.layer_out[(stack, layer)] = x
        return x

    def lens(self):
        """{dec.L{l}.lens.probs: (T, V)} from the decoder layers' output streams."""
        head = self.w["tok_emb"] if self.cfg["tied"] else self.w["lm_head"]
        out = {}
        for l in range(self.cfg["n_dec"]):
            x = self.layer_out[("dec", l)]
            if self.pre:
                x = self.ln(x, "dec.ln_f")
            out["dec.L%d.lens.probs" % l] = torch.softmax(F.linear(x, head), dim=-1)
        return out


def run_case(cfg, weights, src, tgt, mode, heads):
    """Returns the record {name: tensor} of the ablated run (lens included)."""
    HS = cfg["C"] // cfg["NH"]
    clean = Intervened(cfg, weights)
    clean.run(src, tgt)
    values = {}
    for hd in heads:
        if mode == "zero":
            values[hd] = torch.zeros(HS, dtype=torch.float64)
        else:  # the head's mean output over every position of the clean run
            values[hd] = clean.head_out[hd[:3]][hd[3]].mean(dim=0)
    ref = Intervened(cfg, weights, heads, values)
    rec = ref.run(src, tgt)
    for site, out in ref.head_out.items():
        for h in range(cfg["NH"]):
            rec["%s.L%d.%s.H%d.out" % (site[0], site[1], site[2], h)] = out[h]
    lens = ref.lens()
    last = lens["dec.L%d.lens.probs" % (cfg["n_dec"] - 1)]
    assert (last - rec["dec.probs"]).abs().max().item() < 1e-12, "the last lens layer must be the output"
    rec.update(lens)
    # the ablation must matter, and a mean ablation must differ from a zero one
    assert (rec["dec.probs"] - clean_probs(clean)).abs().max().item() > 1e-4, "ablation changed nothing"
    return rec


def clean_probs(clean):
    head = clean.w["tok_emb"] if clean.cfg["tied"] else clean.w["lm_head"]
    x = clean.layer_out[("dec", clean.cfg["n_dec"] - 1)]
    if clean.pre:
        x = clean.ln(x, "dec.ln_f")
    return torch.softmax(F.linear(x, head), dim=-1)


def head(name):
    """'dec.L1.self.H2' -> ('dec', 1, 'self', 2)."""
    stack, layer, kind, h = name.split(".")
    return (stack, int(layer[1:]), kind, int(h[1:]))


# (case, forward fixture, mode, heads) - the same table is in tests/test_interp.c
CASES = [
    ("interp_encdec_post_zero", "encdec_post", "zero", ["enc.L1.self.H2", "dec.L0.self.H1", "dec.L1.cross.H3"]),
    ("interp_encdec_pre_mean", "encdec_pre", "mean", ["enc.L0.self.H0", "dec.L1.self.H3", "dec.L0.cross.H1"]),
    ("interp_gpt_zero", "gpt", "zero", ["dec.L1.self.H0"]),
    ("interp_gpt_mean", "gpt", "mean", ["dec.L0.self.H1", "dec.L2.self.H0"]),
    ("interp_gpt_post_sin_mean", "gpt_post_sin", "mean", ["dec.L0.self.H2"]),
    ("interp_gpt_attn_only_zero", "gpt_attn_only", "zero", ["dec.L0.self.H1", "dec.L1.self.H3"]),
    ("interp_encdec_attn_only_mean", "encdec_attn_only", "mean", ["dec.L1.cross.H0"]),
]


def fmt_values(t):
    vals = ["%.9g" % v for v in t.flatten().tolist()]
    cols = t.shape[-1] if t.dim() == 2 else 8
    return "\n".join(" ".join(vals[i:i + cols]) for i in range(0, len(vals), cols))


def main():
    forward = {name: (seed, cfg, s, t) for name, seed, cfg, s, t in FORWARD_CASES}
    for case, fixture, mode, names in CASES:
        seed, cfg, src_text, tgt_text = forward[fixture]
        weights = random_weights(cfg, torch.Generator().manual_seed(seed))
        with open(os.path.join(OUT_DIR, fixture + ".sfm"), "rb") as f:
            _ints, _eps, _alpha, back = read_checkpoint(f.read())
        assert all(torch.equal(back[k], weights[k]) for k in weights), fixture + ".sfm is not the seed's model"
        src = ids_of(src_text, cfg["alphabet"]) if src_text is not None else None
        tgt = [BOS] + ids_of(tgt_text, cfg["alphabet"])
        with torch.no_grad():
            rec = run_case(cfg, back, src, tgt, mode, [head(n) for n in names])
        lines = ["# stepformer PyTorch experiments oracle: %s (generated by tests/make_interp_fixtures.py; do not edit)"
                 % case,
                 "# torch %s, float64 on the float32 weights of %s.sfm" % (torch.__version__, fixture),
                 "# ablate %s: %s; logit lens of every decoder layer" % (mode, " ".join(names))]
        if src is not None:
            lines.append("src %d %s" % (len(src), " ".join(map(str, src))))
        lines.append("tgt %d %s" % (len(tgt), " ".join(map(str, tgt))))
        for n in sorted(rec):
            t = rec[n]
            lines.append("tensor %s %d %s" % (n, t.dim(), " ".join(map(str, t.shape))))
            lines.append(fmt_values(t))
        with open(os.path.join(OUT_DIR, case + ".expect"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print("%-30s %-16s %s %-44s %3d tensors" % (case, fixture, mode, ",".join(names), len(rec)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
