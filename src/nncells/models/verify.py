"""Checking a converted `Network` against the model it came from."""
from __future__ import annotations

from math import prod

import numpy as np

from nncells.errors import ModelError


def verify_conversion(original_forward, network, input_shape, n=256, data=None, rtol=1e-9, seed=0) -> float:
    """Compare ``network`` with the original model's forward pass; raise if they differ.

    Parameters
    ----------
    original_forward : callable
        Maps a float64 array shaped ``(m, *input_shape)`` to the original outputs (any shape
        with ``m`` rows once flattened).
    network : Network
        The converted network; its input is a flattened (C order) sample.
    input_shape : tuple of int
        Shape of one sample for the original model.
    n : int
        Number of random inputs (standard normal, and uniform on [-1, 1] for half of them).
    data : array_like, optional
        Extra inputs to check, shaped ``(m, *input_shape)`` or ``(m, prod(input_shape))``.
    rtol : float
        Largest accepted ``max |f_net - f_orig|`` relative to ``max |f_orig|``.

    Returns
    -------
    float
        The relative error found.

    Raises
    ------
    NNCellsError
        If the outputs differ by more than ``rtol`` (the message says by how much).

    Examples
    --------
    A network checked against its own forward pass, with samples shaped (1, 2, 2):

    >>> from nncells.network import random_network
    >>> net = random_network([4, 5, 2], seed=0)
    >>> original = lambda X: net.forward(X.reshape(len(X), -1))
    >>> verify_conversion(original, net, (1, 2, 2))
    0.0

    An original model that differs is refused:

    >>> from nncells.errors import ModelError
    >>> try:
    ...     verify_conversion(lambda X: net.forward(X) + 1e-3, net, (4,))
    ... except ModelError as e:
    ...     print(str(e).split(":")[0])
    conversion check failed
    """
    shape = tuple(int(s) for s in input_shape)
    d = prod(shape)
    if d != network.input_dim:
        raise ModelError(f"input shape {shape} has {d} entries but the network expects {network.input_dim}")
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(size=(n - n // 2, d)), rng.uniform(-1, 1, size=(n // 2, d))])
    if data is not None:
        X = np.concatenate([X, np.asarray(data, dtype=np.float64).reshape(-1, d)])
    y_orig = np.asarray(original_forward(X.reshape((len(X),) + shape)), dtype=np.float64).reshape(len(X), -1)
    y_net = network.forward(X)
    if y_orig.shape != y_net.shape:
        raise ModelError(f"conversion check failed: the original model gives {y_orig.shape[1]} outputs "
                           f"per input, the converted network {y_net.shape[1]}")
    scale = float(np.max(np.abs(y_orig))) if y_orig.size else 0.0
    scale = scale if scale > 0 else 1.0
    err = float(np.max(np.abs(y_net - y_orig))) / scale if y_orig.size else 0.0
    if not np.isfinite(err) or err > rtol:
        raise ModelError(
            f"conversion check failed: the converted network differs from the original model by "
            f"{err:.3g} relative to the output scale {scale:.3g} (tolerance {rtol:g}) on {len(X)} inputs")
    return err
