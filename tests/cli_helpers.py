"""Helpers the command-line tests share: running ``python -m nncells`` in a subprocess, and a
network saved as an ``.npz`` model file."""
import subprocess
import sys

from nncells import random_network


def run_nncells(*args, timeout=300):
    """``python -m nncells ARGS`` in a fresh process (the arguments as strings), its output
    captured: the `subprocess.CompletedProcess`."""
    return subprocess.run([sys.executable, "-m", "nncells", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def save_network(tmp_path, dims, seed, name="m.npz"):
    """``(network, path)``: ``random_network(dims, seed=seed)`` saved as ``tmp_path / name``."""
    net = random_network(dims, seed=seed)
    path = tmp_path / name
    net.to_npz(path)
    return net, path
