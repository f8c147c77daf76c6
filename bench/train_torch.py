#!/usr/bin/python3
"""train_torch.py - the PyTorch baseline for bench/bench_train.c: the same reverse configuration trained
with torch.nn.Transformer, reported in the same unit (decoder target tokens per second).

Model: nn.Transformer(d_model 64, 4 heads, 2 encoder + 2 decoder layers, d_ff 256, ReLU, post-LN,
dropout 0, batch_first), token embedding x sqrt(64) + sinusoidal positions, output head tied to the
embedding. (nn.Transformer also adds a final LayerNorm after each stack, which the paper's post-LN
model and ours do not have: a few thousand extra flops per token.) Batches of 64 reversals of
12-letter strings: 12 source tokens, 13 decoder positions (<bos> + reversed / reversed + <eos>).
One step: forward, mean cross-entropy, backward, clip_grad_norm_(1.0), AdamW (betas 0.9/0.98,
eps 1e-8, weight decay 0.01). Timed over STEPS steps after 3 warm-up steps.

usage: /usr/bin/python3 bench/train_torch.py [STEPS (default 30)] [THREADS (default 2)]
The last line is `tokens/s: N` for bench/train to read.
"""
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH, LEN, C, NH, FF, LAYERS, V = 64, 12, 64, 4, 256, 2, 30
BOS, EOS, FIRST = 1, 2, 4
WARMUP_STEPS = 3


def sinusoid(n, c):
    """The paper's positional encodings for n positions, as stepformer computes them."""
    t = torch.arange(n, dtype=torch.float32).unsqueeze(1)
    two_i = torch.arange(0, c, 2, dtype=torch.float32)
    angle = t / torch.pow(10000.0, two_i / c)
    pe = torch.zeros(n, c)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe


class Reverser(nn.Module):
    """nn.Transformer with stepformer's embedding (scaled, sinusoidal positions) and tied output head."""

    def __init__(self):
        """Builds the model; embeddings drawn at scale 1/sqrt(C) as stepformer does."""
        super().__init__()
        self.emb = nn.Embedding(V, C)
        nn.init.normal_(self.emb.weight, std=C ** -0.5)
        self.tf = nn.Transformer(d_model=C, nhead=NH, num_encoder_layers=LAYERS, num_decoder_layers=LAYERS,
                                 dim_feedforward=FF, dropout=0.0, activation="relu", batch_first=True)
        self.register_buffer("pe", sinusoid(LEN + 1, C))

    def embed(self, ids):
        """Token embeddings x sqrt(C) plus positions."""
        return self.emb(ids) * math.sqrt(C) + self.pe[:ids.shape[1]]

    def forward(self, src, dec_in, causal):
        """Logits for every decoder position."""
        x = self.tf(self.embed(src), self.embed(dec_in), tgt_mask=causal)
        return F.linear(x, self.emb.weight)  # tied output head


def blas_in_use():
    """Returns the BLAS libraries this process has mapped (after a matmul has run), resolved to real files:
    Debian's torch is built against the generic libblas.so.3 (BLAS_INFO=generic) and the library behind it
    is chosen at run time by the alternatives system (OpenBLAS when libopenblas0-pthread is installed)."""
    a = torch.randn(64, 64)
    (a @ a).sum().item()
    found = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            name = path.rsplit("/", 1)[-1].lower()
            if ("blas" in name or "mkl" in name or "lapack" in name) and path not in found:
                found.append(path)
    kinds = []
    for path in found:
        low = path.lower()
        kind = "OpenBLAS" if "openblas" in low else "MKL" if "mkl" in low else \
            "reference BLAS" if "/blas/" in low else "BLAS"
        if "lapack" in low.rsplit("/", 1)[-1]:
            continue
        kinds.append("%s (%s)" % (path, kind))
    return ", ".join(kinds) if kinds else "none mapped"


def main():
    """Trains for the requested steps and prints the rate."""
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = Reverser()
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01)
    causal = nn.Transformer.generate_square_subsequent_mask(LEN + 1)
    n_params = sum(p.numel() for p in model.parameters())
    tokens, t0, loss = 0, 0.0, None
    for s in range(WARMUP_STEPS + steps):
        if s == WARMUP_STEPS:
            t0 = time.perf_counter()
        src = torch.randint(FIRST, FIRST + 26, (BATCH, LEN))
        rev = src.flip(1)
        dec_in = torch.cat([torch.full((BATCH, 1), BOS), rev], 1)
        tgt = torch.cat([rev, torch.full((BATCH, 1), EOS)], 1)
        logits = model(src, dec_in, causal)
        loss = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if s >= WARMUP_STEPS:
            tokens += tgt.numel()
    dt = time.perf_counter() - t0
    print("pytorch %s (nn.Transformer): reverse config d_model 64, 4 heads, d_ff 256, 2+2 layers, %d parameters"
          % (torch.__version__, n_params))
    print("torch BLAS at run time: %s" % blas_in_use())
    print("batch %d x %d letters, %d timed steps after %d warm-up steps, %d threads: %.1f ms/step, final loss %.3f"
          % (BATCH, LEN, steps, WARMUP_STEPS, threads, 1e3 * dt / steps, loss.item()))
    print("tokens/s: %.0f" % (tokens / dt))


if __name__ == "__main__":
    main()
