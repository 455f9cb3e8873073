"""Huge boxes in LP mode (issue 21): boxes of 7 and 8 inputs, not lifted, from ``1e3`` to ``1e300``.

Every box has the regions it contains: the pattern sets never shrink as the box grows, and from
a moderate size on they are the whole space's. The whole space is itself checked against a box of
``1e5``, where the LPs work in units close to the box's. Before the fix, boxes of ``1e6`` to
``1e15`` lost up to 55 regions of size about 1 near the origin, with nothing reported: the depth
LPs of a cell near the origin held the box's rows, ``1e9`` times the cell's units away, where
float64 resolves a row's slack only to ``eps * 1e9``, far coarser than HiGHS's tolerance.
"""
import warnings

import numpy as np
import pytest

from nncells import Box, Space, enumerate_regions, random_network
from nncells.geometry.contract import borderline_count

SIZES = (1e3, 1e5, 1e7, 1e9, 1e12, 1e15, 1e18, 1e50, 1e300)
FULL_FROM = 1e5  # every network below has all of its regions in boxes of this size and up
NETWORKS = [([7, 6, 5, 1], 0), ([8, 6, 6, 1], 0), ([8, 6, 6, 1], 1)]


def _packed(patterns):
    return {np.packbits(p).tobytes() for p in patterns}


@pytest.fixture(scope="module", params=NETWORKS, ids=lambda p: f"{'-'.join(map(str, p[0]))}-seed{p[1]}")
def runs(request):
    """The network, its whole-space result and its result in every box of `SIZES` (no
    RuntimeWarning allowed: norms of far witnesses must neither overflow nor divide 0 by 0)."""
    shape, seed = request.param
    net = random_network(shape, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        space = enumerate_regions(net, Space(), workers=1)
        boxes = {S: enumerate_regions(net, Box(-S, S), workers=1) for S in SIZES}
    return net, space, boxes


def test_boxes_never_lose_regions_as_they_grow(runs):
    _, _, boxes = runs
    seen = set()
    for S in SIZES:
        got = _packed(boxes[S].patterns)
        assert seen <= got, f"box {S:g} lost {len(seen - got)} regions of a smaller box"
        seen = got


def test_big_boxes_have_the_whole_space_regions(runs):
    _, space, boxes = runs
    whole = _packed(space.patterns)
    assert whole == _packed(boxes[FULL_FROM].patterns)  # the whole space against a moderate box
    for S in SIZES:
        got = _packed(boxes[S].patterns)
        assert got <= whole, S
        if S >= FULL_FROM:
            assert got == whole, f"box {S:g}: {len(whole - got)} of {len(whole)} regions missing"


def test_points_are_honest_and_in_the_box(runs):
    net, _, boxes = runs
    for S, res in boxes.items():
        assert res.summary()["method"] == "cells"  # LP mode: not lifted
        assert np.array_equal(net.pattern(res.points), res.patterns), S
        assert np.all(np.abs(res.points) <= S), S
        assert np.all(res.radii > 0), S


def test_borderline_regions_are_reported(runs):
    _, _, boxes = runs
    for S, res in boxes.items():
        assert res.borderline >= borderline_count(res.points, res.radii, 1e-9), S
