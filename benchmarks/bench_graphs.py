"""Networks as graphs (issue 23): what a chain, a residual block and max-pooling cost, one worker.

    python benchmarks/bench_graphs.py [--runs 5]

Each row times two count-only runs (`count_regions`, one worker, method ``cells`` unless named), alternating
A and B in this one process, and prints the medians, their ratio B / A and the regions of both:

- ``chain``: a `Network` 4-32-32-1 (A) against the same network read from a `torch.nn.Sequential`
  by `from_torch` through the graph compiler (B): the same fingerprint is checked, so the same
  arrays reach the core;
- ``relu skip``: a network whose skip carries the first layer's ReLU outputs across the second
  layer to the output, by ReLU copies (A: ``relu(h) = h`` for ``h >= 0``, a plain chain) or by
  linear units (B): the same regions are checked; the ratio is the cost of linear units (in 4-D
  the compiled core; in 2-D the planar mesh, compiled for A, its numpy twin for B: the compiled
  mesh has no linear units);
- ``residual MLP``, ``CNN + max-pool``: torch models through `from_torch` (A only): a two-block
  residual MLP on 4 inputs in [-1, 1]^4, and Conv(1, 4, 3) -> ReLU -> MaxPool(2) -> Linear(36, 10)
  on an 8x8 digit (scikit-learn's bundled digits) in a box of half-width 0.02 around it (LP mode).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from nncells import Box, Network, random_network
from nncells.api import count_regions


def _time(net, dom, method):
    t0 = time.perf_counter()
    s = count_regions(net, dom, workers=1, method=method)
    return time.perf_counter() - t0, s


def _pair(runs, a, b, dom, method):
    ta, tb, sa, sb = [], [], None, None
    for _ in range(runs):
        t, sa = _time(a, dom, method)
        ta.append(t)
        if b is not None:
            t, sb = _time(b, dom, method)
            tb.append(t)
    return statistics.median(ta), (statistics.median(tb) if tb else None), sa, sb


def _relu_skip(d, w, k, seed=0):
    """``(copies, carried)``: ``out = U relu(W2 h + b2) + C h[:d]`` with ``h = relu(W1 x + b1)``, the
    skip ``h[:d]`` carried across layer 2 by ReLU copies (``relu(h) = h``) or by linear units."""
    rng = np.random.default_rng(seed)
    W1, b1 = rng.normal(size=(w, d)), rng.normal(size=w)
    W2, b2 = rng.normal(size=(k, w)) / np.sqrt(w), rng.normal(size=k)
    out = np.hstack([rng.normal(size=(1, k)), rng.normal(size=(1, d))])
    W2s = np.vstack([W2, np.eye(w)[:d]])
    layers = ([W1, W2s, out], [b1, np.r_[b2, np.zeros(d)], [0.0]])
    return Network(*layers), Network(*layers, linear=[np.zeros(w, bool), np.r_[np.zeros(k, bool), np.ones(d, bool)]])


def _torch_models():
    import torch
    from torch import nn

    torch.manual_seed(0)

    class Residual(nn.Module):
        def __init__(self, d, w):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(d, w), nn.ReLU(), nn.Linear(w, d)) for _ in range(2)])
            self.head = nn.Linear(d, 1)

        def forward(self, x):
            for b in self.blocks:
                x = x + b(x)
            return self.head(torch.relu(x))

    cnn = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 10))
    return Residual(4, 12).double().eval(), cnn.double().eval()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    from sklearn.datasets import load_digits
    import torch
    from nncells.models.torch import from_torch

    print("| case | regions A | regions B | A s | B s | B / A | A regions/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")

    def row(name, a, b, dom, method="cells"):
        ta, tb, sa, sb = _pair(args.runs, a, b, dom, method)
        if sb is not None:
            assert sa["regions"] == sb["regions"], f"{name}: {sa['regions']} != {sb['regions']}"
        print(f"| {name} | {sa['regions']:,} | {'' if sb is None else format(sb['regions'], ',')} | {ta:.3f} | "
              f"{'' if tb is None else format(tb, '.3f')} | {'' if tb is None else format(tb / ta, '.2f')} | "
              f"{sa['regions'] / ta:,.0f} |", flush=True)

    net = random_network([4, 32, 32, 1], seed=0)
    seq = torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32), torch.nn.ReLU(),
                              torch.nn.Linear(32, 1)).double()
    with torch.no_grad():
        for layer, W, b in zip([seq[0], seq[2], seq[4]], net.weights, net.biases):
            layer.weight.copy_(torch.from_numpy(np.array(W)))
            layer.bias.copy_(torch.from_numpy(np.array(b)))
    imported = from_torch(seq, input_shape=(4,))
    assert imported.fingerprint == net.fingerprint, "the graph compiler changed a chain"
    row("chain 4-32-32-1 (A: Network, B: from_torch)", net, imported, Box(-1, 1))
    for d, w, k, method in ((4, 48, 48, "cells"), (2, 96, 96, "planar")):
        copies, carried = _relu_skip(d, w, k)
        row(f"relu skip {d}-{w}-{k}-1 ({method}; A: ReLU copies, B: linear units)", copies, carried, Box(-1, 1),
            method)
    res, cnn = _torch_models()
    row("residual MLP 4 inputs, 2 blocks of 12", from_torch(res, input_shape=(4,)), None, Box(-1, 1))
    x = load_digits().images[0].reshape(-1) / 16.0
    cnn_net = from_torch(cnn, input_shape=(1, 8, 8))
    row("CNN + max-pool, 64 inputs, box of half-width 0.02", cnn_net, None, Box(x - 0.02, x + 0.02))


if __name__ == "__main__":
    main()
