"""A chain of layers to a `Network`: the one-tensor front of `nncells.models.graph.GraphBuilder`.

A `ChainBuilder` follows one tensor through a model. Affine layers (linear, convolution,
average pooling, batch normalisation, reshapes, elementwise scale and shift) are composed into
one affine expression; a ReLU makes one unit per entry, a new hidden layer. Matrices stay sparse
(``scipy.sparse``) while they are built and become dense only when the network is laid out, and
the builder refuses before a dense matrix would exceed ``_config.MAX_DENSE_ENTRIES``.

LeakyReLU with slope ``a`` is exact in a ReLU network by doubling its width:
``leaky(z) = relu(z) - a * relu(-z)``. The layer holds ``[z; -z]`` and the next map starts from
``[I, -a I]``. For every region of the leaky network, the pair ``(z > 0, -z > 0)`` is
``(True, False)`` or ``(False, True)``, so the regions (and their count) are those of the leaky
network; only the patterns are twice as long.

The model readers use `GraphBuilder` directly (branches, residual additions, max pooling); a
chain goes through the same code and gives the same `Network` as this builder always did.
"""
from __future__ import annotations

import importlib

from nncells.errors import ModelError
from nncells.models import expr as ex
from nncells.models import layers
from nncells.models.graph import GraphBuilder
from nncells.network import Network


def import_optional(name: str, extra: str):
    """Import the optional dependency ``name`` or fail with how to install it.

    Examples
    --------
    >>> import_optional("numpy", "core").__name__
    'numpy'
    """
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ModelError(
            f"reading this model needs the '{name}' package: install nncells[{extra}]") from None


class ChainBuilder:
    """Follow one tensor of per-sample shape ``input_shape`` through a chain of layers.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one input sample (no batch dimension), e.g. ``(784,)`` or ``(1, 28, 28)``.

    Examples
    --------
    >>> import numpy as np
    >>> b = ChainBuilder((2,))
    >>> b.linear(np.array([[1.0, 0.0], [0.0, 1.0]]), [0.0, -1.0])
    >>> b.relu()
    >>> b.linear(np.array([[1.0, 1.0]]), [0.5])
    >>> net = b.finish()
    >>> net, net.forward([1.0, 2.0]).tolist()
    (Network(2-2-1), [2.5])
    """

    def __init__(self, input_shape):
        self.graph = GraphBuilder(input_shape)
        self.x = self.graph.input

    @property
    def input_shape(self) -> tuple:
        """Shape of one input sample."""
        return self.graph.input_shape

    @property
    def shape(self) -> tuple:
        """Shape of the current tensor."""
        return self.x.shape

    @property
    def size(self) -> int:
        """Number of entries of the current tensor."""
        return self.x.size

    def affine(self, A, b, out_shape) -> None:
        """Apply ``x -> A x + b`` to the flattened current tensor; its new shape is ``out_shape``."""
        self.x = ex.affine(self.x, A, b, out_shape)

    def reshape(self, shape) -> None:
        """Give the current tensor a new shape with the same number of entries (C order)."""
        self.x = ex.reshape(self.x, shape)

    def linear(self, W, b=None) -> None:
        """``x @ W.T + b`` along the last axis (``W`` shaped (out, in), as torch's Linear)."""
        self.x = layers.linear(self.x, W, b)

    def elementwise(self, scale, shift) -> None:
        """``scale * x + shift`` with arrays broadcastable to the current shape."""
        self.x = layers.elementwise(self.x, scale, shift)

    def channel_affine(self, scale, shift) -> None:
        """Per-channel ``scale * x + shift`` along axis 0 of the sample (batch normalisation)."""
        self.x = layers.channel_affine(self.x, scale, shift)

    def conv2d(self, weight, bias=None, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1):
        """2-D convolution of a (C, H, W) tensor; ``pads`` is (top, left, bottom, right)."""
        self.x = layers.conv2d(self.x, weight, bias, stride, pads, dilation, groups)

    def avgpool2d(self, kernel, stride, pads=(0, 0, 0, 0), ceil_mode=False, count_include_pad=True,
                  divisor_override=None) -> None:
        """2-D average pooling of a (C, H, W) tensor (torch's conventions for the divisor)."""
        self.x = layers.avgpool2d(self.x, kernel, stride, pads, ceil_mode, count_include_pad, divisor_override)

    def relu(self) -> None:
        """A ReLU layer (a ReLU right after a ReLU changes nothing)."""
        self.x = self.graph.relu(self.x)

    def leaky_relu(self, slope: float) -> None:
        """LeakyReLU with negative slope ``slope``, as ``relu(z) - slope * relu(-z)`` (doubles the width)."""
        self.x = self.graph.leaky_relu(self.x, float(slope))

    def finish(self) -> Network:
        """The `Network`: the hidden layers plus the current affine map as the output layer."""
        return self.graph.finish(self.x)
