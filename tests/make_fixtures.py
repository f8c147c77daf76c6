#!/usr/bin/python3
"""make_fixtures.py - the PyTorch oracle for stepformer's C forward pass.

Builds small random models in PyTorch, writes each as an `.sfm` checkpoint (docs/checkpoint-format.md)
and writes the reference values of a fixed input into a matching `.expect` file that tests/test_torch.c
compares against the C trace (absolute tolerance 1e-5).

Written from the format document, not from the C code: the network is assembled from torch ops
(F.embedding, F.multi_head_attention_forward, F.layer_norm, F.linear, F.gelu(approximate='tanh')).

Precision: weights are drawn in float32 (what the file stores); the reference forward pass runs in
float64 on exactly those float32 values, so the expectations carry no float32 rounding of their own.

The script proves its own fixtures before writing them:
  * the decoder is run again one prefix at a time (prefix t+1 only, no access to later tokens) and
    every row of logits, probabilities and attention must equal the full causal pass to 1e-6;
  * the logits are recomputed a second way with torch's stock nn.TransformerEncoderLayer /
    nn.TransformerDecoderLayer modules loaded with the same weights, and must agree to 1e-9;
  * the written checkpoint is parsed back and compared with the weights.

Regenerate with:  /usr/bin/python3 tests/make_fixtures.py      (from the repository root or anywhere)
"""
import math
import os
import struct
import sys
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "fixtures")

FAMILY = {"encdec": 1, "gpt": 2}
POS = {"sinusoidal": 1, "learned": 2, "none": 3}
NORM = {"post": 1, "pre": 2}
ACT = {"relu": 1, "gelu": 2}
BOS = 1
FIRST_CHAR = 4


# ---- configuration and weights ------------------------------------------------------------------

def tensor_specs(cfg):
    """(name, shape) of every tensor, in the canonical order of the format document."""
    V, C, F_, L = cfg["V"], cfg["C"], cfg["F"], cfg["L"]
    encdec = cfg["family"] == "encdec"
    pre = cfg["norm"] == "pre"
    specs = [("tok_emb", (V, C))]
    if cfg["pos"] == "learned":
        specs.append(("pos_emb", (L, C)))

    def layer(stack, l, cross):
        p = "%s.%d" % (stack, l)
        s = [(p + ".self.wqkv", (3 * C, C)), (p + ".self.bqkv", (3 * C,)),
             (p + ".self.wo", (C, C)), (p + ".self.bo", (C,)),
             (p + ".ln_self.w", (C,)), (p + ".ln_self.b", (C,))]
        if cross:
            s += [(p + ".cross.wq", (C, C)), (p + ".cross.bq", (C,)),
                  (p + ".cross.wkv", (2 * C, C)), (p + ".cross.bkv", (2 * C,)),
                  (p + ".cross.wo", (C, C)), (p + ".cross.bo", (C,)),
                  (p + ".ln_cross.w", (C,)), (p + ".ln_cross.b", (C,))]
        if F_ == 0:  # attention-only: no feed-forward sub-layer, and no LayerNorm of its own
            return s
        s += [(p + ".ffn.w1", (F_, C)), (p + ".ffn.b1", (F_,)),
              (p + ".ffn.w2", (C, F_)), (p + ".ffn.b2", (C,)),
              (p + ".ln_ffn.w", (C,)), (p + ".ln_ffn.b", (C,))]
        return s

    for l in range(cfg["n_enc"]):
        specs += layer("enc", l, False)
    if pre and cfg["n_enc"]:
        specs += [("enc.ln_f.w", (C,)), ("enc.ln_f.b", (C,))]
    for l in range(cfg["n_dec"]):
        specs += layer("dec", l, encdec)
    if pre:
        specs += [("dec.ln_f.w", (C,)), ("dec.ln_f.b", (C,))]
    if not cfg["tied"]:
        specs.append(("lm_head", (cfg["V"], C)))
    return specs


def random_weights(cfg, gen):
    """Non-trivial random float32 weights: no gain is 1, no bias is 0, attention is far from uniform."""
    C = cfg["C"]
    w = {}
    for name, shape in tensor_specs(cfg):
        def randn(*s):
            return torch.randn(*s, generator=gen, dtype=torch.float32)
        if name == "tok_emb":
            t = randn(*shape) * (1.0 / math.sqrt(C) if cfg["scale_emb"] else 0.7)
        elif name == "pos_emb":
            t = randn(*shape) * 0.5
        elif name == "lm_head":
            t = randn(*shape) * 0.7
        elif ".ln_" in name or name.startswith(("enc.ln_f", "dec.ln_f")):
            t = (1.0 + 0.1 * randn(*shape)) if name.endswith(".w") else 0.1 * randn(*shape)
        elif len(shape) == 2:  # a linear weight (out, in)
            gain = 1.4 if (".wqkv" in name or ".wq" in name or ".wkv" in name) else 1.0
            t = randn(*shape) * (gain / math.sqrt(shape[1]))
        else:  # a bias
            t = 0.1 * randn(*shape)
        w[name] = t.contiguous()
    return w


# ---- the checkpoint writer ----------------------------------------------------------------------

def write_checkpoint(path, cfg, weights):
    alphabet = cfg["alphabet"].encode("utf-8")
    assert cfg["V"] == FIRST_CHAR + len(cfg["alphabet"])
    config = struct.pack("<13if2i",
                         FAMILY[cfg["family"]], cfg["V"], cfg["C"], cfg["NH"], cfg["F"],
                         cfg["n_enc"], cfg["n_dec"], cfg["L"], POS[cfg["pos"]], NORM[cfg["norm"]],
                         ACT[cfg["act"]], int(cfg["tied"]), int(cfg["scale_emb"]), cfg["eps"], 0, 0)
    assert len(config) == 64
    head = b"SFMODEL\0" + struct.pack("<II", 1, 64) + config
    head += struct.pack("<I", len(alphabet)) + alphabet
    specs = tensor_specs(cfg)
    head += struct.pack("<I", len(specs))
    rec_sizes = [2 + len(n) + 2 + 4 * len(s) + 8 for n, s in specs]
    data_start = len(head) + sum(rec_sizes)
    data_start += (-data_start) % 4
    records, data, off = b"", b"", data_start
    for name, shape in specs:
        t = weights[name]
        assert tuple(t.shape) == shape, name
        nb = name.encode("ascii")
        assert 1 <= len(nb) <= 47
        records += struct.pack("<H", len(nb)) + nb + struct.pack("<BB", len(shape), 0)
        records += struct.pack("<%di" % len(shape), *shape) + struct.pack("<Q", off)
        blob = struct.pack("<%df" % t.numel(), *t.flatten().tolist())
        data += blob
        off += len(blob)
    body = head + records
    body += b"\0" * (data_start - len(body))
    assert len(body) == data_start
    body += data
    body += struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(body)
    return body


def read_checkpoint(blob):
    """An independent reader used only to prove the writer: returns (config ints, eps, alphabet, tensors)."""
    assert blob[:8] == b"SFMODEL\0"
    assert zlib.crc32(blob[:-4]) & 0xFFFFFFFF == struct.unpack_from("<I", blob, len(blob) - 4)[0]
    version, cbytes = struct.unpack_from("<II", blob, 8)
    assert version == 1 and cbytes == 64
    ints = struct.unpack_from("<13i", blob, 16)
    eps = struct.unpack_from("<f", blob, 16 + 52)[0]
    (alen,) = struct.unpack_from("<I", blob, 80)
    alphabet = blob[84:84 + alen].decode("utf-8")
    pos = 84 + alen
    (n,) = struct.unpack_from("<I", blob, pos)
    pos += 4
    tensors = {}
    for _ in range(n):
        (nl,) = struct.unpack_from("<H", blob, pos)
        name = blob[pos + 2:pos + 2 + nl].decode("ascii")
        pos += 2 + nl
        rank, _res = struct.unpack_from("<BB", blob, pos)
        pos += 2
        dims = struct.unpack_from("<%di" % rank, blob, pos)
        pos += 4 * rank
        (off,) = struct.unpack_from("<Q", blob, pos)
        pos += 8
        assert off % 4 == 0
        cnt = 1
        for d in dims:
            cnt *= d
        vals = struct.unpack_from("<%df" % cnt, blob, off)
        assert off + 4 * cnt <= len(blob) - 4
        tensors[name] = torch.tensor(vals, dtype=torch.float32).reshape(dims)
    return ints, eps, alphabet, tensors


# ---- the reference network (float64) ------------------------------------------------------------

def sinusoid(n, C):
    """PE(t,2i) = sin(t / 10000^(2i/C)), PE(t,2i+1) = cos(t / 10000^(2i/C))."""
    t = torch.arange(n, dtype=torch.float64).unsqueeze(1)
    two_i = torch.arange(0, C, 2, dtype=torch.float64)
    angle = t / torch.pow(torch.tensor(10000.0, dtype=torch.float64), two_i / C)
    pe = torch.zeros(n, C, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)[:, :C // 2]
    return pe


class Reference:
    """The computation of docs/checkpoint-format.md, in float64, recording what the C trace names.

    Two hooks let tests/make_interp_fixtures.py intervene without copying the network: every attention
    call names its site (stack, layer, "self" or "cross"), and on_layer(stack, layer, x) sees (and may
    replace) the residual stream leaving each layer."""

    def __init__(self, cfg, weights):
        self.cfg = cfg
        self.w = {k: v.to(torch.float64) for k, v in weights.items()}
        self.C, self.NH = cfg["C"], cfg["NH"]
        self.pre = cfg["norm"] == "pre"

    def on_layer(self, stack, layer, x):
        """The residual stream leaving a layer; returns what the next layer reads (here: x itself)."""
        return x

    def ln(self, x, prefix):
        return F.layer_norm(x, (self.C,), self.w[prefix + ".w"], self.w[prefix + ".b"], self.cfg["eps"])

    def embed(self, ids):
        cfg, C = self.cfg, self.C
        x = F.embedding(torch.tensor(ids), self.w["tok_emb"])
        if cfg["scale_emb"]:
            x = x * math.sqrt(C)
        if cfg["pos"] == "sinusoidal":
            x = x + sinusoid(len(ids), C)
        elif cfg["pos"] == "learned":
            x = x + self.w["pos_emb"][:len(ids)]
        return x

    def attention(self, xq, xkv, w_in, b_in, wo, bo, mask, site=None):
        """torch's multi-head attention; returns (output (T,C), per-head probabilities (NH,T,S))."""
        out, probs = F.multi_head_attention_forward(
            xq.unsqueeze(1), xkv.unsqueeze(1), xkv.unsqueeze(1), self.C, self.NH,
            w_in, b_in, None, None, False, 0.0, wo, bo,
            training=False, need_weights=True, attn_mask=mask, average_attn_weights=False)
        return out.squeeze(1), probs.squeeze(0)

    def sublayer(self, x, prefix_ln, fn):
        if self.pre:
            return x + fn(self.ln(x, prefix_ln))
        return self.ln(x + fn(x), prefix_ln)

    def ffn(self, x, p):
        w = self.w
        h = F.linear(x, w[p + ".ffn.w1"], w[p + ".ffn.b1"])
        h = F.gelu(h, approximate="tanh") if self.cfg["act"] == "gelu" else F.relu(h)
        return F.linear(h, w[p + ".ffn.w2"], w[p + ".ffn.b2"])

    def encode(self, src, rec):
        w = self.w
        x = self.embed(src)
        for l in range(self.cfg["n_enc"]):
            p = "enc.%d" % l

            def self_attn(h, p=p, l=l):
                out, probs = self.attention(h, h, w[p + ".self.wqkv"], w[p + ".self.bqkv"],
                                            w[p + ".self.wo"], w[p + ".self.bo"], None, site=("enc", l, "self"))
                for hd in range(self.NH):
                    rec["enc.L%d.self.H%d.probs" % (l, hd)] = probs[hd]
                return out
            x = self.sublayer(x, p + ".ln_self", self_attn)
            if self.cfg["F"]:
                x = self.sublayer(x, p + ".ln_ffn", lambda h, p=p: self.ffn(h, p))
            x = self.on_layer("enc", l, x)
        if self.pre:
            x = self.ln(x, "enc.ln_f")
        return x

    def decode(self, tgt, mem, rec):
        w, C, NH = self.w, self.C, self.NH
        HS = C // NH
        T = len(tgt)
        causal = torch.triu(torch.full((T, T), float("-inf"), dtype=torch.float64), diagonal=1)
        x = self.embed(tgt)
        for l in range(self.cfg["n_dec"]):
            p = "dec.%d" % l

            def self_attn(h, p=p, l=l):
                if l == 0:  # queries of head 0, as the attention sees them (before the 1/sqrt(HS) scale)
                    q = F.linear(h, w[p + ".self.wqkv"][:C], w[p + ".self.bqkv"][:C])
                    rec["dec.L0.self.H0.q"] = q[:, :HS]
                out, probs = self.attention(h, h, w[p + ".self.wqkv"], w[p + ".self.bqkv"],
                                            w[p + ".self.wo"], w[p + ".self.bo"], causal, site=("dec", l, "self"))
                for hd in range(NH):
                    rec["dec.L%d.self.H%d.probs" % (l, hd)] = probs[hd]
                return out
            x = self.sublayer(x, p + ".ln_self", self_attn)
            if mem is not None:
                def cross_attn(h, p=p, l=l):
                    w_in = torch.cat([w[p + ".cross.wq"], w[p + ".cross.wkv"]], 0)
                    b_in = torch.cat([w[p + ".cross.bq"], w[p + ".cross.bkv"]], 0)
                    out, probs = self.attention(h, mem, w_in, b_in, w[p + ".cross.wo"], w[p + ".cross.bo"], None,
                                                site=("dec", l, "cross"))
                    for hd in range(NH):
                        rec["dec.L%d.cross.H%d.probs" % (l, hd)] = probs[hd]
                    return out
                x = self.sublayer(x, p + ".ln_cross", cross_attn)
            if self.cfg["F"]:
                x = self.sublayer(x, p + ".ln_ffn", lambda h, p=p: self.ffn(h, p))
            x = self.on_layer("dec", l, x)
        if self.pre:
            x = self.ln(x, "dec.ln_f")
        head = w["tok_emb"] if self.cfg["tied"] else w["lm_head"]
        logits = F.linear(x, head)
        rec["dec.logits"] = logits
        rec["dec.probs"] = torch.softmax(logits, dim=-1)
        return logits

    def run(self, src, tgt):
        rec = {}
        mem = self.encode(src, rec) if self.cfg["family"] == "encdec" else None
        self.decode(tgt, mem, rec)
        return rec


# ---- second opinion: torch's stock transformer layers -------------------------------------------

def stock_embed(cfg, w, ids):
    """The embedding sum of ids for the stock-module second opinions, as a batch of one (1, T, C)."""
    C = cfg["C"]
    x = w["tok_emb"][torch.tensor(ids)] * (math.sqrt(C) if cfg["scale_emb"] else 1.0)
    if cfg["pos"] == "sinusoidal":
        x = x + sinusoid(len(ids), C)
    elif cfg["pos"] == "learned":
        x = x + w["pos_emb"][:len(ids)]
    return x.unsqueeze(0)  # batch_first


def stock_attn_only_logits(cfg, weights, src, tgt):
    """Logits of an attention-only model (d_ff 0, which torch's Transformer layers cannot express) from
    stock nn.MultiheadAttention and nn.LayerNorm modules loaded with the same weights."""
    w = {k: v.to(torch.float64) for k, v in weights.items()}
    C, NH, pre = cfg["C"], cfg["NH"], cfg["norm"] == "pre"

    def ln(p):
        m = nn.LayerNorm(C, eps=cfg["eps"], dtype=torch.float64)
        m.weight.copy_(w[p + ".w"])
        m.bias.copy_(w[p + ".b"])
        return m

    def mha(w_in, b_in, p):
        m = nn.MultiheadAttention(C, NH, dropout=0.0, batch_first=True, dtype=torch.float64)
        m.in_proj_weight.copy_(w_in)
        m.in_proj_bias.copy_(b_in)
        m.out_proj.weight.copy_(w[p + ".wo"])
        m.out_proj.bias.copy_(w[p + ".bo"])
        return m

    def block(x, norm, attend):
        return x + attend(norm(x)) if pre else norm(x + attend(x))

    def embed(ids):
        return stock_embed(cfg, w, ids)

    T = len(tgt)
    causal = torch.triu(torch.full((T, T), float("-inf"), dtype=torch.float64), diagonal=1)
    with torch.no_grad():
        mem = None
        if cfg["family"] == "encdec":
            mem = embed(src)
            for l in range(cfg["n_enc"]):
                p = "enc.%d" % l
                a = mha(w[p + ".self.wqkv"], w[p + ".self.bqkv"], p + ".self")
                mem = block(mem, ln(p + ".ln_self"), lambda h: a(h, h, h, need_weights=False)[0])
            if pre:
                mem = ln("enc.ln_f")(mem)
        x = embed(tgt)
        for l in range(cfg["n_dec"]):
            p = "dec.%d" % l
            a = mha(w[p + ".self.wqkv"], w[p + ".self.bqkv"], p + ".self")
            x = block(x, ln(p + ".ln_self"), lambda h: a(h, h, h, attn_mask=causal, need_weights=False)[0])
            if mem is not None:
                ca = mha(torch.cat([w[p + ".cross.wq"], w[p + ".cross.wkv"]], 0),
                         torch.cat([w[p + ".cross.bq"], w[p + ".cross.bkv"]], 0), p + ".cross")
                x = block(x, ln(p + ".ln_cross"), lambda h: ca(h, mem, mem, need_weights=False)[0])
        if pre:
            x = ln("dec.ln_f")(x)
        head = w["tok_emb"] if cfg["tied"] else w["lm_head"]
        return F.linear(x[0], head)


def stock_logits(cfg, weights, src, tgt):
    """Logits from nn.TransformerEncoderLayer / nn.TransformerDecoderLayer loaded with the same weights."""
    if cfg["F"] == 0:
        return stock_attn_only_logits(cfg, weights, src, tgt)
    w = {k: v.to(torch.float64) for k, v in weights.items()}
    C, NH, Fd = cfg["C"], cfg["NH"], cfg["F"]
    act = (lambda t: F.gelu(t, approximate="tanh")) if cfg["act"] == "gelu" else F.relu
    kw = dict(d_model=C, nhead=NH, dim_feedforward=Fd, dropout=0.0, activation=act,
              layer_norm_eps=cfg["eps"], norm_first=cfg["norm"] == "pre", dtype=torch.float64)

    def load_ln(mod, p):
        mod.weight.copy_(w[p + ".w"])
        mod.bias.copy_(w[p + ".b"])

    def load_common(layer, p, norm_ffn):
        layer.self_attn.in_proj_weight.copy_(w[p + ".self.wqkv"])
        layer.self_attn.in_proj_bias.copy_(w[p + ".self.bqkv"])
        layer.self_attn.out_proj.weight.copy_(w[p + ".self.wo"])
        layer.self_attn.out_proj.bias.copy_(w[p + ".self.bo"])
        load_ln(layer.norm1, p + ".ln_self")
        layer.linear1.weight.copy_(w[p + ".ffn.w1"])
        layer.linear1.bias.copy_(w[p + ".ffn.b1"])
        layer.linear2.weight.copy_(w[p + ".ffn.w2"])
        layer.linear2.bias.copy_(w[p + ".ffn.b2"])
        load_ln(norm_ffn(layer), p + ".ln_ffn")

    def embed(ids):
        return stock_embed(cfg, w, ids)

    def final_ln(x, p):
        return F.layer_norm(x, (C,), w[p + ".w"], w[p + ".b"], cfg["eps"]) if cfg["norm"] == "pre" else x

    T = len(tgt)
    causal = torch.triu(torch.full((T, T), float("-inf"), dtype=torch.float64), diagonal=1)
    with torch.no_grad():
        if cfg["family"] == "encdec":
            m = embed(src)
            for l in range(cfg["n_enc"]):
                layer = nn.TransformerEncoderLayer(batch_first=True, **kw)
                load_common(layer, "enc.%d" % l, lambda L_: L_.norm2)
                layer.train()  # dropout is 0; training mode keeps torch off its fused fast path
                m = layer(m)
            m = final_ln(m, "enc.ln_f")
            x = embed(tgt)
            for l in range(cfg["n_dec"]):
                p = "dec.%d" % l
                layer = nn.TransformerDecoderLayer(batch_first=True, **kw)
                load_common(layer, p, lambda L_: L_.norm3)
                layer.multihead_attn.in_proj_weight.copy_(torch.cat([w[p + ".cross.wq"], w[p + ".cross.wkv"]], 0))
                layer.multihead_attn.in_proj_bias.copy_(torch.cat([w[p + ".cross.bq"], w[p + ".cross.bkv"]], 0))
                layer.multihead_attn.out_proj.weight.copy_(w[p + ".cross.wo"])
                layer.multihead_attn.out_proj.bias.copy_(w[p + ".cross.bo"])
                load_ln(layer.norm2, p + ".ln_cross")
                layer.train()
                x = layer(x, m, tgt_mask=causal)
        else:  # decoder-only: an encoder layer under a causal mask
            x = embed(tgt)
            for l in range(cfg["n_dec"]):
                layer = nn.TransformerEncoderLayer(batch_first=True, **kw)
                load_common(layer, "dec.%d" % l, lambda L_: L_.norm2)
                layer.train()
                x = layer(x, src_mask=causal)
        x = final_ln(x, "dec.ln_f")
        head = w["tok_emb"] if cfg["tied"] else w["lm_head"]
        return F.linear(x[0], head)


# ---- self-checks --------------------------------------------------------------------------------

def check_incremental(ref, src, tgt, full):
    """Runs the decoder on each prefix alone; row t of every decoder tensor must match the full pass."""
    worst = 0.0
    for t in range(len(tgt)):
        rec = ref.run(src, tgt[:t + 1])
        for name, val in full.items():
            if name.startswith("enc."):
                d = (rec[name] - val).abs().max().item()
            elif ".self." in name and name.endswith(".probs"):
                # the prefix's row t covers keys 0..t; the full pass must have exact zeros after t
                d = (rec[name][t] - val[t, :t + 1]).abs().max().item()
                assert torch.all(val[t, t + 1:] == 0.0), name
            else:
                d = (rec[name][t] - val[t]).abs().max().item()
            worst = max(worst, d)
    assert worst < 1e-6, "incremental decoder disagrees with the full pass: %g" % worst
    return worst


# ---- the cases ----------------------------------------------------------------------------------

def ids_of(text, alphabet):
    return [FIRST_CHAR + alphabet.index(ch) for ch in text]


def base(**kw):
    cfg = dict(V=12, alphabet="abcdefgh", C=16, L=16, eps=1e-5)
    cfg.update(kw)
    return cfg


CASES = [
    ("encdec_post", 101, base(family="encdec", NH=4, F=32, n_enc=2, n_dec=2, pos="sinusoidal", norm="post",
                              act="relu", tied=1, scale_emb=1), "abcdeh", "hedcb"),
    ("encdec_pre", 102, base(family="encdec", NH=4, F=32, n_enc=2, n_dec=2, pos="learned", norm="pre",
                             act="gelu", tied=0, scale_emb=0), "abcdeh", "hedcb"),
    ("gpt", 103, base(family="gpt", NH=2, F=64, n_enc=0, n_dec=3, pos="learned", norm="pre",
                      act="gelu", tied=1, scale_emb=0), None, "abcabcah"),
    ("gpt_post_sin", 104, base(family="gpt", NH=4, F=64, n_enc=0, n_dec=2, pos="sinusoidal", norm="post",
                               act="relu", tied=0, scale_emb=1), None, "abcabcah"),
    # attention-only (d_ff 0): the induction model's family, and a post-LN encoder-decoder
    ("gpt_attn_only", 105, base(family="gpt", NH=4, F=0, n_enc=0, n_dec=2, pos="learned", norm="pre",
                                act="gelu", tied=1, scale_emb=0), None, "abcabcah"),
    ("encdec_attn_only", 106, base(family="encdec", NH=2, F=0, n_enc=2, n_dec=2, pos="sinusoidal", norm="post",
                                   act="relu", tied=1, scale_emb=1), "abcdeh", "hedcb"),
]


def fmt_values(t):
    vals = ["%.9g" % v for v in t.flatten().tolist()]
    cols = t.shape[-1] if t.dim() == 2 else 8
    return "\n".join(" ".join(vals[i:i + cols]) for i in range(0, len(vals), cols))


def write_expect(path, name, cfg, src, tgt, rec):
    lines = ["# stepformer PyTorch oracle: %s (generated by tests/make_fixtures.py; do not edit)" % name,
             "# torch %s, reference computed in float64 from the float32 weights of %s.sfm" % (torch.__version__, name),
             "# family=%s V=%d C=%d NH=%d F=%d enc=%d dec=%d L=%d pos=%s norm=%s act=%s tied=%d scale_emb=%d eps=%g"
             % (cfg["family"], cfg["V"], cfg["C"], cfg["NH"], cfg["F"], cfg["n_enc"], cfg["n_dec"], cfg["L"],
                cfg["pos"], cfg["norm"], cfg["act"], cfg["tied"], cfg["scale_emb"], cfg["eps"])]
    if src is not None:
        lines.append("src %d %s" % (len(src), " ".join(map(str, src))))
    lines.append("tgt %d %s" % (len(tgt), " ".join(map(str, tgt))))

    def order(n):  # logits and probs first, then attention by stack, layer, kind, head
        return (0 if n.startswith("dec.logits") else 1 if n == "dec.probs" else 2, n)
    for n in sorted(rec, key=order):
        t = rec[n]
        lines.append("tensor %s %d %s" % (n, t.dim(), " ".join(map(str, t.shape))))
        lines.append(fmt_values(t))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    torch.set_printoptions(precision=10)
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, seed, cfg, src_text, tgt_text in CASES:
        gen = torch.Generator().manual_seed(seed)
        weights = random_weights(cfg, gen)
        blob = write_checkpoint(os.path.join(OUT_DIR, name + ".sfm"), cfg, weights)
        ints, eps, alphabet, back = read_checkpoint(blob)
        assert alphabet == cfg["alphabet"] and abs(eps - cfg["eps"]) < 1e-12
        assert list(back) == [n for n, _ in tensor_specs(cfg)]
        assert all(torch.equal(back[k], weights[k]) for k in weights)

        src = ids_of(src_text, cfg["alphabet"]) if src_text is not None else None
        tgt = [BOS] + ids_of(tgt_text, cfg["alphabet"])
        assert len(tgt) <= cfg["L"] and (src is None or len(src) <= cfg["L"])
        with torch.no_grad():
            ref = Reference(cfg, back)  # the weights exactly as read back from the file
            rec = ref.run(src, tgt)
            inc = check_incremental(ref, src, tgt, rec)
            stock = stock_logits(cfg, back, src, tgt)
        d_stock = (stock - rec["dec.logits"]).abs().max().item()
        assert d_stock < 1e-9, "%s: stock nn.Transformer layers disagree: %g" % (name, d_stock)
        write_expect(os.path.join(OUT_DIR, name + ".expect"), name, cfg, src, tgt, rec)
        print("%-13s %6d bytes, %2d tensors expected; incremental vs full %.2g, stock layers vs ours %.2g, "
              "|logits| max %.2f, attention max prob %.3f"
              % (name, len(blob), len(rec), inc, d_stock, rec["dec.logits"].abs().max().item(),
                 max(v.max().item() for k, v in rec.items() if k.endswith(".probs") and ".H" in k)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
