"""The bundled example network (see scripts/train_demo.py)."""
from __future__ import annotations

import json
from importlib import resources

from .domain import Box
from .io.npz import load_npz
from .network import Network


def demo_network() -> tuple[Network, Box, dict]:
    """The example MLP on digits (3 PCA inputs), its data box, and its description."""
    data = resources.files("nncells") / "data"
    info = json.loads((data / "digits_mlp.json").read_text())
    with resources.as_file(data / "digits_mlp.npz") as path:
        net = load_npz(path)
    return net, Box(info["box_lo"], info["box_hi"]), info
