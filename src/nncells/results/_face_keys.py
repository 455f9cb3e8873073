"""Faces' sign vectors packed into bytes (`nncells.results.faces.FacePoset.keys`): each face's
units +, units - and the domain's rows it lies on, as three bit sets one after the other
(`pack_keys`), and their unpacking (`key_signs`, `key_domain`).

Examples
--------
Two units and one domain row: a face with unit 0 positive, unit 1 zero, on the row.

>>> packed = pack_keys([(0b01, 0b00, 0b1)], nu=2, nd=1)
>>> key_signs(packed, 2, np.array([0, 1]), 2).tolist(), key_domain(packed, 2, 1).tolist()
([[1, 0]], [[True]])
"""
from __future__ import annotations

import numpy as np

def pack_keys(keys, nu: int, nd: int) -> np.ndarray:
    """Faces' keys (units +, units -, on the domain's rows: `bits` of ``nu``, ``nu`` and ``nd``
    bits) as rows of bytes, ``(n, ceil((2 nu + nd) / 8))`` uint8: the three bit sets one after
    the other, little-endian (`key_signs`, `key_domain` read them)."""
    nb = (2 * nu + nd + 7) // 8
    buf = b"".join((p | (q << nu) | (o << (2 * nu))).to_bytes(nb, "little") for p, q, o in keys)
    return np.frombuffer(buf, dtype=np.uint8).reshape(len(keys), nb).copy()


def _key_bits(packed: np.ndarray, first: int, count: int) -> np.ndarray:
    """Bits ``first .. first + count - 1`` of packed keys, as uint8 0/1 ``(n, count)``."""
    b0, b1 = first // 8, (first + count + 7) // 8
    raw = np.unpackbits(packed[:, b0:b1], axis=1, bitorder="little")
    return raw[:, first - 8 * b0:first - 8 * b0 + count]


def key_signs(packed: np.ndarray, nu: int, cols: np.ndarray, n_hidden: int, units=None,
              block: int = 1 << 16) -> np.ndarray:
    """Signs int8 from packed keys (`pack_keys`), a block of faces at a time: ``(n, n_hidden)``,
    the ReLU units at ``cols`` (linear units 0); or only the hidden units ``units`` (positions
    among all), ``(n, len(units))``."""
    want = np.arange(n_hidden) if units is None else np.asarray(units, dtype=np.int64)
    where = np.full(n_hidden, -1, dtype=np.int64)
    where[cols] = np.arange(len(cols))
    k = where[want]
    relu = np.flatnonzero(k >= 0)
    out = np.zeros((len(packed), len(want)), dtype=np.int8)
    for s0 in range(0, len(packed), block):
        pb = packed[s0:s0 + block]
        pos, neg = _key_bits(pb, 0, nu), _key_bits(pb, nu, nu)
        out[s0:s0 + len(pb), relu] = pos[:, k[relu]].view(np.int8) - neg[:, k[relu]].view(np.int8)
    return out


def key_domain(packed: np.ndarray, nu: int, nd: int) -> np.ndarray:
    """On which of the domain's ``nd`` rows each face lies, from packed keys (`pack_keys`)."""
    return _key_bits(packed, 2 * nu, nd).astype(bool)
