"""The bundled example network (see scripts/train_demo.py)."""
from __future__ import annotations

import json
from importlib import resources

from nncells.domains import Box
from nncells.network import Network


def demo_network() -> tuple[Network, Box, dict]:
    """The example MLP on digits (3 PCA inputs), its data box, and its description.

    Returns
    -------
    network : Network
        3 inputs (PCA coordinates of the digits), two hidden layers of 16, 10 outputs.
    box : Box
        The box of the training data in PCA coordinates.
    info : dict
        ``description``, ``train_accuracy``, ``box_lo`` and ``box_hi`` (from ``digits_mlp.json``).

    Examples
    --------
    >>> net, box, info = demo_network()
    >>> net, net.widths
    (Network(3-16-16-10), [16, 16])
    >>> box.lo.size == net.input_dim, sorted(info)
    (True, ['box_hi', 'box_lo', 'description', 'train_accuracy'])
    >>> net.forward(box.sample(5, rng=0)).shape
    (5, 10)
    """
    data = resources.files("nncells") / "data"
    info = json.loads((data / "digits_mlp.json").read_text())
    with resources.as_file(data / "digits_mlp.npz") as path:
        net = Network.from_npz(path)
    return net, Box(info["box_lo"], info["box_hi"]), info
