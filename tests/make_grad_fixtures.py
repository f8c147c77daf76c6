#!/usr/bin/python3
"""make_grad_fixtures.py - the PyTorch oracle for stepformer's backward pass.

For each case below it builds a small random model, writes it as tests/fixtures/grad_NAME.sfm and
writes tests/fixtures/grad_NAME.expect with the summed cross-entropy of one fixed example and the
gradient of that loss with respect to every parameter, which tests/test_grad.c compares with
sf_forward_backward.

The loss is the one the C trainer uses: the sum over decoder positions t whose target is not <pad>
(id 0) of -log softmax(logits_t)[tgt_t]. Every example has one <pad> target, so the fixture also
proves that such positions are ignored.

The network, the random weights and the checkpoint writer come from tests/make_fixtures.py (the
forward-pass oracle, itself checked against torch's stock nn.Transformer layers). Gradients are
computed by autograd in float64 on exactly the float32 weights stored in the file.

The .expect format (text, '#' starts a comment line):
    loss V
    src N ids...            (encoder-decoder only)
    in N ids...             decoder input, starting with <bos>
    tgt N ids...            the token each decoder position should predict (0 = <pad>, ignored)
    tensor NAME RANK D0 [D1]
    values...               row-major, one tensor row per line

Regenerate with:  /usr/bin/python3 tests/make_grad_fixtures.py
"""
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_fixtures import (BOS, OUT_DIR, Reference, base, ids_of, random_weights, read_checkpoint,  # noqa: E402
                           tensor_specs, write_checkpoint)

PAD, EOS = 0, 2

# (name, seed, config, source text or None, target text, position whose target is replaced by <pad>)
CASES = [
    ("grad_encdec_post", 201, base(family="encdec", NH=4, F=32, n_enc=2, n_dec=2, pos="sinusoidal", norm="post",
                                   act="relu", tied=1, scale_emb=1), "abcdeh", "hedcb", 2),
    ("grad_encdec_pre", 202, base(family="encdec", NH=4, F=32, n_enc=2, n_dec=2, pos="learned", norm="pre",
                                  act="gelu", tied=0, scale_emb=0), "abcdeh", "hedcb", 3),
    ("grad_gpt_pre", 203, base(family="gpt", NH=2, F=64, n_enc=0, n_dec=3, pos="learned", norm="pre",
                               act="gelu", tied=1, scale_emb=0), None, "abcabcah", 4),
    ("grad_gpt_post", 204, base(family="gpt", NH=4, F=32, n_enc=0, n_dec=2, pos="none", norm="post",
                                act="relu", tied=0, scale_emb=1), None, "abcabcah", 1),
    # attention-only (d_ff 0): pre-LN GPT (the induction model's family) and a post-LN encoder-decoder
    ("grad_gpt_attn_only", 205, base(family="gpt", NH=4, F=0, n_enc=0, n_dec=2, pos="learned", norm="pre",
                                     act="gelu", tied=1, scale_emb=0), None, "abcabcah", 2),
    ("grad_encdec_attn_only", 206, base(family="encdec", NH=2, F=0, n_enc=2, n_dec=2, pos="sinusoidal",
                                        norm="post", act="relu", tied=0, scale_emb=1), "abcdeh", "hedcb", 1),
]


def loss_and_grads(cfg, weights, src, dec_in, dec_tgt):
    """Returns (summed CE loss, {name: gradient}) in float64 for the float32 weights given."""
    leaves = {k: v.to(torch.float64).clone().requires_grad_(True) for k, v in weights.items()}
    ref = Reference(cfg, leaves)
    assert all(ref.w[k] is leaves[k] for k in leaves), "Reference must use the leaves themselves"
    rec = ref.run(src, dec_in)
    logits = rec["dec.logits"]
    loss = F.cross_entropy(logits, torch.tensor(dec_tgt), ignore_index=PAD, reduction="sum")
    loss.backward()
    return loss.item(), {k: v.grad.detach().clone() for k, v in leaves.items()}


def finite_difference_spot_check(cfg, weights, src, dec_in, dec_tgt, grads, gen, n=20):
    """Autograd against float64 central differences on n random coordinates; returns the worst error."""
    w64 = {k: v.to(torch.float64).clone() for k, v in weights.items()}

    def loss_of(w):
        with torch.no_grad():
            logits = Reference(cfg, w).run(src, dec_in)["dec.logits"]
            return F.cross_entropy(logits, torch.tensor(dec_tgt), ignore_index=PAD, reduction="sum").item()

    names = list(w64)
    worst = 0.0
    for _ in range(n):
        name = names[int(torch.randint(len(names), (1,), generator=gen))]
        flat = w64[name].view(-1)
        i = int(torch.randint(flat.numel(), (1,), generator=gen))
        eps, x = 1e-6, flat[i].item()
        flat[i] = x + eps
        up = loss_of(w64)
        flat[i] = x - eps
        down = loss_of(w64)
        flat[i] = x
        num = (up - down) / (2 * eps)
        worst = max(worst, abs(num - grads[name].view(-1)[i].item()))
    assert worst < 1e-6, "autograd disagrees with finite differences: %g" % worst
    return worst


def fmt_values(t):
    vals = ["%.12g" % v for v in t.flatten().tolist()]
    cols = t.shape[-1] if t.dim() == 2 else 8
    return "\n".join(" ".join(vals[i:i + cols]) for i in range(0, len(vals), cols))


def write_expect(path, name, cfg, src, dec_in, dec_tgt, loss, grads):
    lines = ["# stepformer PyTorch gradient oracle: %s (generated by tests/make_grad_fixtures.py; do not edit)" % name,
             "# torch %s, float64 autograd on the float32 weights of %s.sfm; loss = summed cross-entropy, "
             "<pad> targets ignored" % (torch.__version__, name),
             "# family=%s V=%d C=%d NH=%d F=%d enc=%d dec=%d L=%d pos=%s norm=%s act=%s tied=%d scale_emb=%d eps=%g"
             % (cfg["family"], cfg["V"], cfg["C"], cfg["NH"], cfg["F"], cfg["n_enc"], cfg["n_dec"], cfg["L"],
                cfg["pos"], cfg["norm"], cfg["act"], cfg["tied"], cfg["scale_emb"], cfg["eps"]),
             "loss %.12g" % loss]
    if src is not None:
        lines.append("src %d %s" % (len(src), " ".join(map(str, src))))
    lines.append("in %d %s" % (len(dec_in), " ".join(map(str, dec_in))))
    lines.append("tgt %d %s" % (len(dec_tgt), " ".join(map(str, dec_tgt))))
    for n, _shape in tensor_specs(cfg):
        t = grads[n]
        lines.append("tensor %s %d %s" % (n, t.dim(), " ".join(map(str, t.shape))))
        lines.append(fmt_values(t))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, seed, cfg, src_text, tgt_text, pad_at in CASES:
        gen = torch.Generator().manual_seed(seed)
        weights = random_weights(cfg, gen)
        blob = write_checkpoint(os.path.join(OUT_DIR, name + ".sfm"), cfg, weights)
        _ints, _eps, _alphabet, back = read_checkpoint(blob)
        assert all(torch.equal(back[k], weights[k]) for k in weights)

        # the example: decoder input <bos> + text, targets text + <eos>, one target replaced by <pad>
        src = ids_of(src_text, cfg["alphabet"]) if src_text is not None else None
        text = ids_of(tgt_text, cfg["alphabet"])
        dec_in = [BOS] + text
        dec_tgt = text + [EOS]
        dec_tgt[pad_at] = PAD

        loss, grads = loss_and_grads(cfg, back, src, dec_in, dec_tgt)
        fd = finite_difference_spot_check(cfg, back, src, dec_in, dec_tgt, grads, gen)
        # the <pad> position must matter to the logits but not to the loss: with a real target it changes
        full_tgt = text + [EOS]
        loss_full, _ = loss_and_grads(cfg, back, src, dec_in, full_tgt)
        assert loss_full > loss + 1e-3, "the <pad> target should have removed a positive term"
        write_expect(os.path.join(OUT_DIR, name + ".expect"), name, cfg, src, dec_in, dec_tgt, loss, grads)
        print("%-17s loss %.6f (%.6f without <pad>), %2d tensors, max |grad| %.3f, autograd vs finite diff %.2g"
              % (name, loss, loss_full, len(grads), max(g.abs().max().item() for g in grads.values()), fd))
    return 0


if __name__ == "__main__":
    sys.exit(main())
