"""Results as objects (issue 24): an `EnumerationResult` is a sequence of `Region`s with a repr,
`locate` finds the region of points, and `read_result` reads a stored run back as a result."""
import shutil
import warnings

import numpy as np
import pyarrow.parquet as pq
import pytest

import nncells
from nncells import Box, Network, NNCellsError, Region, Space, enumerate_regions, random_network
from nncells.results.result import EnumerationResult

NET2 = random_network([2, 5, 4, 1], seed=3)
NET6 = random_network([6, 9, 7, 1], seed=5)


@pytest.fixture(scope="module")
def res2():
    return enumerate_regions(NET2, Box(-1, 1), workers=1)


@pytest.fixture(scope="module")
def res6():
    return enumerate_regions(NET6, Box(-1, 1), workers=1)


def linear_net(seed=0):
    """A residual block: 3 ReLU units and 2 linear units carrying the input, then 4 ReLU units."""
    rng = np.random.default_rng(seed)
    W1, b1, V = rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=(2, 3))
    W2, b2 = rng.normal(size=(4, 2)), rng.normal(size=4)
    return Network([np.vstack([W1, np.eye(2)]), np.hstack([W2 @ V, W2]), rng.normal(size=(1, 4))],
                   [np.r_[b1, 0.0, 0.0], b2, [0.0]], linear=[np.r_[np.zeros(3, bool), True, True], np.zeros(4, bool)])


# ------------------------------------------------------------------ repr, len, indexing, iteration
def test_repr_names_network_domain_and_count(res2):
    assert repr(res2) == f"EnumerationResult(Network(2-5-4-1), Box(-1, 1, dim=2), {res2.count} regions)"
    one = enumerate_regions(Network([[[1.0, 0.0]], [[1.0]]], [[5.0], [0.0]]), Box(-1, 1), workers=1)
    assert repr(one) == "EnumerationResult(Network(2-1-1), Box(-1, 1, dim=2), 1 region)"
    assert repr(enumerate_regions(NET2, Space(), workers=1)).startswith("EnumerationResult(Network(2-5-4-1), Space(dim=2), ")
    assert "Box(lo=[-1, -2], hi=[1, 3])" in repr(enumerate_regions(NET2, Box([-1.0, -2.0], [1.0, 3.0]), workers=1))


def test_len_and_indexing_like_a_sequence(res2):
    n = len(res2)
    assert n == res2.count == len(res2.patterns) > 5
    for i in (0, 3, n - 1, -1, -n):
        r = res2[i]
        assert isinstance(r, Region) and r.index == i % n
        assert np.array_equal(r.pattern, res2.patterns[i]) and np.array_equal(r.point, res2.points[i])
    assert res2[np.int64(2)].index == 2
    for bad in (n, -n - 1, 10 ** 9):
        with pytest.raises(IndexError, match="out of range"):
            res2[bad]
    for bad in (1.5, "0", slice(0, 2)):
        with pytest.raises(TypeError, match="integers"):
            res2[bad]


def test_iteration_yields_every_region_with_its_fields(res2):
    regions = list(res2)
    assert len(regions) == res2.count
    parents = res2.parents()[res2.layer_ids(1)]
    for i, r in enumerate(regions):
        assert r.index == i
        assert np.array_equal(r.pattern, res2.patterns[i]) and np.array_equal(r.point, res2.points[i])
        assert r.radius == res2.radii[i] and np.array_equal(r.ranks, res2.ranks[i])
        assert r.parent == parents[i]
        assert r == res2[i] and r != res2[i - 1]
    assert sum(1 for _ in res2) == res2.count   # iterating twice gives the same count


def test_empty_result_is_an_empty_sequence(res2):
    empty = EnumerationResult.from_regions(NET2, Box(-1, 1), {
        "patterns": res2.patterns[:0], "points": res2.points[:0], "radii": res2.radii[:0], "ranks": res2.ranks[:0]})
    assert len(empty) == 0 and list(empty) == []
    with pytest.raises(IndexError):
        empty[0]
    assert empty.locate(np.zeros((3, 2))).tolist() == [-1, -1, -1]


# ------------------------------------------------------------------ locate
def _check_locate(res, net, n=4000, seed=0):
    rng = np.random.default_rng(seed)
    d = net.input_dim
    X = rng.uniform(-1.5, 1.5, size=(n, d))
    inside = np.all(np.abs(X) <= 1, axis=1)
    assert inside.any() and (~inside).any()
    idx = res.locate(X)
    assert idx.shape == (n,) and idx.dtype == np.int64
    assert (idx[~inside] == -1).all()
    assert (idx[inside] >= 0).all()
    assert np.array_equal(res.patterns[idx[inside]], net.pattern(X[inside]))
    assert np.array_equal(res.locate(res.points), np.arange(res.count))
    assert res.locate(X[np.flatnonzero(inside)[0]]) == idx[np.flatnonzero(inside)[0]]
    assert res.locate(X[np.flatnonzero(~inside)[0]]) == -1


def test_locate_in_two_dimensions(res2):
    _check_locate(res2, NET2)


def test_locate_in_six_dimensions(res6):
    assert res6.count > 50
    _check_locate(res6, NET6, seed=1)


def test_locate_with_linear_units():
    net = linear_net()
    assert net.has_linear
    res = enumerate_regions(net, Box(-1, 1), workers=1)
    assert res.patterns[:, net.linear_mask].all()
    _check_locate(res, net, seed=2)


def test_locate_with_more_than_64_hidden_units():
    net = random_network([2, 40, 30, 1], seed=0)   # 70 bits: the hash keys are confirmed byte by byte
    res = enumerate_regions(net, Box(-0.2, 0.2), workers=1)
    rng = np.random.default_rng(3)
    X = rng.uniform(-0.2, 0.2, size=(2000, 2))
    idx = res.locate(X)
    assert (idx >= 0).all() and np.array_equal(res.patterns[idx], net.pattern(X))


def test_locate_on_a_boundary_takes_the_region_of_the_pattern():
    """Pre-activation 0 counts as inactive: (0, 0.5) lies on x = 0, in the region where unit 0 is off."""
    net = Network([np.eye(2), [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
    res = enumerate_regions(net, Box(-1, 1), workers=1)
    assert res.count == 4
    i = res.locate([0.0, 0.5])
    assert res.patterns[i].tolist() == [False, True]
    assert res.patterns[res.locate([0.0, 0.0])].tolist() == [False, False]
    assert res.locate([1.0, 1.0]) >= 0 and res.locate([1.0 + 1e-12, 1.0]) == -1   # the domain is closed


def test_locate_gives_minus_one_for_a_pattern_not_among_the_regions(res2):
    keep = np.arange(res2.count) != 2
    cut = EnumerationResult.from_regions(NET2, Box(-1, 1), {k: getattr(res2, k)[keep]
                                                           for k in ("patterns", "points", "radii", "ranks")})
    assert cut.locate(res2.points[2]) == -1
    assert cut.locate(res2.points[3]) == 2


def test_locate_in_space_and_refuses_a_wrong_dimension():
    res = enumerate_regions(NET2, Space(), workers=1)
    X = np.random.default_rng(4).normal(scale=100.0, size=(500, 2))
    idx = res.locate(X)
    assert (idx >= 0).all() and np.array_equal(res.patterns[idx], NET2.pattern(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no RuntimeWarning from the forward pass of NaN or inf
        assert res.locate([np.nan, 0.0]) == -1 and res.locate([np.inf, 0.0]) == -1
    with pytest.raises(NNCellsError, match="dimension"):
        res.locate(np.zeros((2, 3)))


# ------------------------------------------------------------------ reading back
def _assert_same_result(back, res):
    assert isinstance(back, EnumerationResult)
    assert back.network == res.network and back.domain.to_dict() == res.domain.to_dict()
    assert back.count == res.count and repr(back) == repr(res)
    assert np.array_equal(back.patterns, res.patterns) and np.array_equal(back.ranks, res.ranks)
    assert np.allclose(back.points, res.points, rtol=0, atol=1e-9)
    for i in (0, res.count // 2, -1):
        for a, b in zip(back.affine_map(i % res.count), res.affine_map(i % res.count)):
            assert np.array_equal(a, b)
    assert back.adjacency_graph().number_of_nodes() == res.adjacency_graph().number_of_nodes() == res.count
    assert back.per_layer == res.per_layer


def test_read_result_of_a_parquet_file(tmp_path, res2):
    path = tmp_path / "r.parquet"
    res2.to_parquet(path)
    back = nncells.read_result(path, NET2)
    _assert_same_result(back, res2)
    assert np.array_equal(back.points, res2.points) and np.array_equal(back.locate(res2.points), np.arange(res2.count))


def test_read_result_of_a_file_with_linear_units(tmp_path):
    net = linear_net(1)
    res = enumerate_regions(net, Box(-2, 2), workers=1)
    res.to_parquet(tmp_path / "r.parquet")
    _assert_same_result(nncells.read_result(tmp_path / "r.parquet", net), res)


def test_read_result_of_a_sharded_directory(tmp_path, res6, small_shards):
    out = tmp_path / "run"
    s = nncells.enumerate_to_dir(NET6, Box(-1, 1), out, workers=1)
    assert s["shards"] > 1
    back = nncells.read_result(out, NET6)
    _assert_same_result(back, res6)
    assert np.array_equal(nncells.read_arrays(out)["patterns"][back.source_rows], back.patterns)


def test_read_result_refuses_another_network(tmp_path, res2):
    res2.to_parquet(tmp_path / "r.parquet")
    with pytest.raises(NNCellsError, match="another network"):
        nncells.read_result(tmp_path / "r.parquet", random_network([2, 5, 4, 1], seed=4))
    with pytest.raises(NNCellsError, match="expected a Network"):
        nncells.read_result(tmp_path / "r.parquet", "net.npz")


def test_read_result_of_one_shard_needs_partial(tmp_path, small_shards):
    out = tmp_path / "run"
    nncells.enumerate_to_dir(NET6, Box(-1, 1), out, workers=1)
    shard = out / "shard-000000.parquet"
    with pytest.raises(NNCellsError, match="partial=True"):
        nncells.read_result(shard, NET6)
    part = nncells.read_result(shard, NET6, partial=True)
    assert part.count == pq.read_metadata(shard).num_rows and part.patterns.shape[1] == NET6.n_hidden
    alone = tmp_path / "alone.parquet"
    shutil.copy(shard, alone)
    with pytest.raises(NNCellsError, match="no nncells metadata"):
        nncells.read_result(alone, NET6, partial=True)


def test_read_result_of_a_single_shard_run(tmp_path, res2):
    out = tmp_path / "run"
    nncells.enumerate_to_dir(NET2, Box(-1, 1), out, workers=1)
    assert sorted(p.name for p in out.glob("*.parquet")) == ["shard-000000.parquet"]
    _assert_same_result(nncells.read_result(out / "shard-000000.parquet", NET2), res2)


# ------------------------------------------------------------------ the width of a single shard
def test_a_single_shard_reads_its_width_from_the_manifest(tmp_path, small_shards):
    out = tmp_path / "run"
    nncells.enumerate_to_dir(NET6, Box(-1, 1), out, workers=1)
    shard = out / "shard-000001.parquet"
    t = nncells.read_arrays(shard)
    assert t["patterns"].shape == (pq.read_metadata(shard).num_rows, NET6.n_hidden)
    assert t["meta"] == {}
    assert set(map(bytes, np.packbits(t["patterns"], axis=1))) <= set(
        map(bytes, np.packbits(nncells.read_arrays(out)["patterns"], axis=1)))


def test_a_shard_away_from_its_manifest_needs_n_hidden(tmp_path, small_shards):
    out = tmp_path / "run"
    nncells.enumerate_to_dir(NET6, Box(-1, 1), out, workers=1)
    alone = tmp_path / "alone.parquet"
    shutil.copy(out / "shard-000000.parquet", alone)
    with pytest.raises(NNCellsError, match="n_hidden"):
        nncells.read_arrays(alone)
    t = nncells.read_arrays(alone, n_hidden=NET6.n_hidden)
    assert t["patterns"].shape[1] == NET6.n_hidden == 16
    with pytest.raises(NNCellsError, match="bytes"):
        nncells.read_arrays(alone, n_hidden=40)
    with pytest.raises(NNCellsError, match="not n_hidden"):
        nncells.read_arrays(out / "shard-000000.parquet", n_hidden=15)
