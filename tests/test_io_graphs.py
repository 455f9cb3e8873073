"""Model graphs -> Network: residual blocks, concatenations, max pooling, clamps, abs, PReLU, read
from every export (fx, TorchScript scripted and traced, ONNX) and checked against an independent
oracle (tests/graph_oracle.py); dropped final ops, refusals that name the layer, the state-dict
warning, and chains that keep their fingerprints."""
import io
import json
import subprocess
import sys
import warnings
from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from nncells import Box, NNCellsError, enumerate_regions  # noqa: E402
from nncells.models import ModelWarning, load_model  # noqa: E402
from nncells.models.graph import GraphBuilder  # noqa: E402
from nncells.models.expr import gather  # noqa: E402
from nncells.models.torch import from_torch, torch_forward  # noqa: E402
from graph_oracle import pattern_at, regions  # noqa: E402


def _init(model, seed, scale=1.0):
    """Weights from numpy (the same on every platform and torch version), then eval mode."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("prelu.weight"):
                p.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, size=tuple(p.shape))))
            else:
                p.copy_(torch.from_numpy(scale * rng.normal(size=tuple(p.shape))))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.from_numpy(rng.normal(size=m.num_features)))
                m.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 2.0, size=m.num_features)))
    return model.eval()


def _w(layer):
    return layer.weight.detach().double().numpy(), layer.bias.detach().double().numpy()


# ------------------------------------------------------------------ models
class ResMLP(nn.Module):
    def __init__(self, d, h=3, blocks=2):
        super().__init__()
        self.inp = nn.Linear(d, h)
        self.blocks = nn.ModuleList([nn.Linear(h, h) for _ in range(blocks)])
        self.out = nn.Linear(h, 2)

    def forward(self, x):
        h = self.inp(x)
        for block in self.blocks:
            h = h + torch.relu(block(h))
        return self.out(h)

    def oracle(self, o, x):
        h = x.linear(*_w(self.inp))
        for block in self.blocks:
            h = h + o.relu(h.linear(*_w(block)))
        return h.linear(*_w(self.out))


class Skip(nn.Module):
    """A skip connection adding ReLU outputs of two depths."""

    def __init__(self, d):
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(d, 3), nn.Linear(3, 3), nn.Linear(3, 2)

    def forward(self, x):
        h1 = torch.relu(self.fc1(x))
        return self.out(h1 + torch.relu(self.fc2(h1)))

    def oracle(self, o, x):
        h1 = o.relu(x.linear(*_w(self.fc1)))
        return (h1 + o.relu(h1.linear(*_w(self.fc2)))).linear(*_w(self.out))


class Concat(nn.Module):
    """Two branches of different depths, concatenated."""

    def __init__(self, d):
        super().__init__()
        self.a, self.b1, self.b2, self.out = nn.Linear(d, 2), nn.Linear(d, 2), nn.Linear(2, 2), nn.Linear(4, 2)

    def forward(self, x):
        ya = torch.relu(self.a(x))
        yb = torch.relu(self.b2(torch.relu(self.b1(x))))
        return self.out(torch.cat([ya, yb], 1))

    def oracle(self, o, x):
        ya = o.relu(x.linear(*_w(self.a)))
        yb = o.relu(o.relu(x.linear(*_w(self.b1))).linear(*_w(self.b2)))
        return type(x).cat([ya, yb]).linear(*_w(self.out))


_POOLS = {  # kind: (width of the linear layer, pooling layer, per-sample shape before it, windows)
    "1d_k2": (6, lambda: nn.MaxPool1d(2), (1, 6), [[0, 1], [2, 3], [4, 5]]),
    "1d_k3": (6, lambda: nn.MaxPool1d(3), (1, 6), [[0, 1, 2], [3, 4, 5]]),
    "2d_k2": (8, lambda: nn.MaxPool2d(2), (1, 2, 4), [[0, 1, 4, 5], [2, 3, 6, 7]]),
}


class Pool(nn.Module):
    """Linear -> MaxPool -> ReLU -> Linear."""

    def __init__(self, d, kind):
        super().__init__()
        width, pool, self.shape, self.windows = _POOLS[kind]
        self.fc, self.pool, self.out = nn.Linear(d, width), pool(), nn.Linear(len(self.windows), 1)

    def forward(self, x):
        h = self.fc(x).view((x.size(0),) + self.shape)
        return self.out(torch.relu(torch.flatten(self.pool(h), 1)))

    def oracle(self, o, x, argmax=False):
        h = x.linear(*_w(self.fc))
        best = o.max_argmax if argmax else o.max_tournament
        m = type(x).cat([best([h[i] for i in w]) for w in self.windows])
        return o.relu(m).linear(*_w(self.out))


class Clamps(nn.Module):
    """ReLU6, then Hardtanh, then torch.clamp with one bound."""

    def __init__(self, d):
        super().__init__()
        self.fc1, self.act1 = nn.Linear(d, 3), nn.ReLU6()
        self.fc2, self.act2 = nn.Linear(3, 3), nn.Hardtanh(-0.5, 1.0)
        self.out = nn.Linear(3, 1)

    def forward(self, x):
        h = self.act2(self.fc2(self.act1(4.0 * self.fc1(x))))
        return self.out(torch.clamp(h, max=0.5))

    def oracle(self, o, x):
        h = o.clamp(o.clamp(4.0 * x.linear(*_w(self.fc1)), 0.0, 6.0).linear(*_w(self.fc2)), -0.5, 1.0)
        return o.clamp(h, hi=0.5).linear(*_w(self.out))


class AbsMax(nn.Module):
    """abs, and the maximum of two tensors."""

    def __init__(self, d):
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(d, 3), nn.Linear(d, 3), nn.Linear(3, 1)

    def forward(self, x):
        return self.out(torch.maximum(torch.abs(self.fc1(x)), self.fc2(x)))

    def oracle(self, o, x):
        return o.max2(o.abs(x.linear(*_w(self.fc1))), x.linear(*_w(self.fc2))).linear(*_w(self.out))


class PReLUNet(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc1, self.prelu, self.out = nn.Linear(d, 4), nn.PReLU(4), nn.Linear(4, 2)

    def forward(self, x):
        return self.out(self.prelu(self.fc1(x)))

    def oracle(self, o, x):
        return o.leaky(x.linear(*_w(self.fc1)), self.prelu.weight.detach().double().numpy()).linear(*_w(self.out))


MODELS = {
    "resmlp": lambda d: ResMLP(d), "skip": Skip, "concat": Concat, "clamps": Clamps, "absmax": AbsMax,
    "prelu": PReLUNet, "pool_1d_k2": lambda d: Pool(d, "1d_k2"), "pool_1d_k3": lambda d: Pool(d, "1d_k3"),
    "pool_2d_k2": lambda d: Pool(d, "2d_k2"),
}
RELU_ONLY = ("resmlp", "skip", "concat")   # their ReLU bits come in the order the oracle decides them


def _enumerate_and_compare(net, oracle, d, seed=0):
    lo, hi = -np.ones(d), np.ones(d)
    res = enumerate_regions(net, Box(lo, hi), workers=1)
    cells = regions(oracle, lo, hi)
    P = np.asarray(res.patterns, dtype=bool)
    assert np.array_equal(net.pattern(res.points), P)     # every region's point has its pattern
    assert np.all(P[:, net.linear_mask])                   # linear units are always True
    found = [pattern_at(oracle, p)[0] for p in res.points]
    assert len(set(found)) == res.count                    # one oracle cell per region ...
    assert set(found) == cells                             # ... and every cell is found
    X = np.random.default_rng(seed).uniform(lo, hi, size=(200, d))
    assert np.allclose(net.forward(X), [pattern_at(oracle, x)[1] for x in X], atol=1e-9)
    return res, cells


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_graph_regions_match_the_oracle(name, d):
    model = _init(MODELS[name](d), seed=d)
    net = from_torch(model)   # verified against the module's forward pass
    res, cells = _enumerate_and_compare(net, model.oracle, d)
    if name in RELU_ONLY:
        relu_bits = {tuple(p) for p in np.asarray(res.patterns, bool)[:, ~net.linear_mask]}
        assert relu_bits == {tuple(bool(c) for c in cell) for cell in cells}


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("kind", sorted(_POOLS))
def test_max_pooling_counts_tournament_cells(kind, d):
    """The regions of max pooling are the cells of its tournament's pairwise comparisons: as many
    as the true argmax cells for windows of 2, at least as many for larger windows."""
    model = _init(Pool(d, kind), seed=10 + d)
    net = from_torch(model)
    res = enumerate_regions(net, Box(-1, 1), workers=1)
    tournament = regions(model.oracle, -np.ones(d), np.ones(d))
    argmax = regions(lambda o, x: model.oracle(o, x, argmax=True), -np.ones(d), np.ones(d))
    assert res.count == len(tournament)
    assert res.count >= len(argmax)
    if kind.endswith("k2") and kind.startswith("1d"):
        assert res.count == len(argmax)
    # the pieces of one argmax region agree off the losing comparisons: as many as the oracle's
    assert res.argmax_regions() == len(argmax)
    assert res.summary().get("argmax_regions", res.count) == len(argmax)


def test_argmax_regions_survive_the_npz_format(tmp_path):
    """A window of 4 on a 2-D input, strictly finer as a tournament: the trees go through
    `Network.to_npz`, and the regions read back merge into the oracle's argmax regions."""
    for seed in range(6):
        model = _init(Pool(2, "2d_k2"), seed=seed)
        lo, hi = -np.ones(2), np.ones(2)
        argmax = regions(lambda o, x, m=model: m.oracle(o, x, argmax=True), lo, hi)
        net = from_torch(model)
        res = enumerate_regions(net, Box(-1, 1), workers=1)
        if res.count > len(argmax):
            break
    assert res.count > len(argmax) and net.tournaments
    net.to_npz(tmp_path / "pool.npz")
    back = load_model(tmp_path / "pool.npz")
    assert back.tournaments == net.tournaments and back.fingerprint == net.fingerprint
    again = enumerate_regions(back, Box(-1, 1), workers=1)
    assert again.argmax_regions() == len(argmax) < again.count
    merged = back.argmax_patterns(again.patterns)
    # each merged pattern's pieces: one oracle argmax cell each, and distinct patterns: distinct cells
    cells = {}
    for p, x in zip(map(bytes, merged), again.points):
        cells.setdefault(p, set()).add(pattern_at(lambda o, y: model.oracle(o, y, argmax=True), x)[0])
    assert all(len(c) == 1 for c in cells.values())
    assert len({next(iter(c)) for c in cells.values()}) == len(cells)


def test_max_pooling_tournament_is_finer_than_argmax_somewhere():
    """A window of 4 on a 2-D input: its tournament cuts more cells than the argmax has."""
    counts = []
    for seed in range(6):
        model = _init(Pool(2, "2d_k2"), seed=seed)
        lo, hi = -np.ones(2), np.ones(2)
        counts.append((len(regions(model.oracle, lo, hi)),
                       len(regions(lambda o, x, m=model: m.oracle(o, x, argmax=True), lo, hi))))
    assert all(t >= a for t, a in counts) and any(t > a for t, a in counts)


def test_max_tie_picks_the_first():
    g = GraphBuilder((2,))
    net = g.finish(g.maximum(gather(g.input, [0]), gather(g.input, [1])))
    assert net.forward([1.0, 1.0]).tolist() == [1.0]
    assert not net.pattern([1.0, 1.0])[~net.linear_mask].any()   # b - a = 0: inactive, a wins
    assert net.pattern([1.0, 1.5])[~net.linear_mask].all()


class ResBlocks(nn.Module):
    """``x <- x + out_k(relu(fc_k(x)))`` on R^d for each block (``width`` ReLUs), then a linear head."""

    def __init__(self, d, blocks, width=8, head=3):
        super().__init__()
        self.fcs = nn.ModuleList([nn.Linear(d, width) for _ in range(blocks)])
        self.outs = nn.ModuleList([nn.Linear(width, d) for _ in range(blocks)])
        self.head = nn.Linear(d, head)

    def forward(self, x):
        for fc, out in zip(self.fcs, self.outs):
            x = x + out(torch.relu(fc(x)))
        return self.head(x)

    def oracle(self, o, x):
        for fc, out in zip(self.fcs, self.outs):
            x = x + o.relu(x.linear(*_w(fc))).linear(*_w(out))
        return x.linear(*_w(self.head))


def _regions_match(model, d):
    net = from_torch(model)   # verified against the module's forward pass
    res, cells = _enumerate_and_compare(net, model.oracle, d)
    relu_bits = {tuple(p) for p in np.asarray(res.patterns, bool)[:, ~net.linear_mask]}
    assert relu_bits == {tuple(bool(c) for c in cell) for cell in cells}
    return net


def test_residual_carries_are_rows_where_they_are_fewer():
    """Layer 2 of two blocks carries the head's 3 rows on ``x`` and block 1, not those 10
    variables (2-10-18-3 when every variable was carried); the last hidden layer does not widen
    with more blocks (only the head's rows are left to carry)."""
    net = _regions_match(_init(ResBlocks(2, 2), seed=3), 2)
    assert net.relu_widths == [8, 8] and net.widths == [10, 8 + 3]
    assert [from_torch(_init(ResBlocks(2, b), seed=b)).widths[-1] for b in (1, 3, 4, 6)] == [8 + 2, 11, 11, 11]


def test_residual_mlp_carries_shrink_toward_the_output():
    """Four blocks of 3 ReLUs on a 3-d stream: 5-8-11-14 when every variable was carried; now
    layer 2 carries ``x`` and block 1 (shared by three consumers), layer 3 the 3 + 2 rows of
    block 4 and the head, layer 4 the head's 2 rows. Every export gives the same network."""
    net = _regions_match(_init(ResMLP(2, blocks=4), seed=4), 2)
    assert net.relu_widths == [3] * 4 and net.widths == [5, 8, 8, 5]
    nets = _all_exports(_init(ResBlocks(3, 3, width=4), seed=0), 3)
    assert len({n.fingerprint for n in nets.values()}) == 1 and nets["onnx"].widths == [7, 11, 7]


# ------------------------------------------------------------- every export
def _export_onnx(model, shape):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(1, *shape), f, dynamo=False, input_names=["x"],
                          dynamic_axes={"x": {0: "batch"}})
    return onnx.load_from_string(f.getvalue())


def _all_exports(model, d):
    from nncells.models.onnx import from_onnx
    shape = (d,) if isinstance(d, int) else tuple(d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(model)
        traced = torch.jit.trace(model, torch.randn(2, *shape))
    return {name: convert(m, input_shape=shape) for name, convert, m in (
        ("fx", from_torch, model), ("scripted", from_torch, scripted), ("traced", from_torch, traced),
        ("onnx", from_onnx, _export_onnx(model, shape)))}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_export_gives_the_same_network(name):
    """fx, TorchScript scripted and traced, and ONNX: the same weights, the same fingerprint."""
    model = _init(MODELS[name](3), seed=5)
    nets = _all_exports(model, 3)
    assert len({n.fingerprint for n in nets.values()}) == 1, {k: n for k, n in nets.items()}


class Everything(nn.Module):
    """Most supported functions at once, ending with a Softmax."""

    def __init__(self):
        super().__init__()
        self.fc, self.fc2 = nn.Linear(4, 4), nn.Linear(4, 4)
        self.pool, self.act, self.prelu, self.ht = nn.MaxPool1d(2), nn.ReLU6(), nn.PReLU(4), nn.Hardtanh(-1.0, 2.0)
        self.head = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))

    def forward(self, x):
        h = x + torch.relu(self.fc(x))
        h = torch.cat([h[:, :2], torch.maximum(h[:, 2:], x[:, 1:3])], 1)
        h = nn.functional.relu6(h) + torch.clamp(x, -1, 1) + torch.clamp(x, min=0.5) + abs(x) + h.clamp(max=2)
        h = self.act(self.prelu(self.ht(h))) - x * 2
        h = self.pool(h.unsqueeze(1)).flatten(1)
        return self.head(torch.cat([h, h], 1))


def test_many_functions_through_every_export():
    model = _init(Everything(), seed=1)
    nets = _all_exports(model, 4)
    assert len({n.fingerprint for n in nets.values()}) == 1
    assert nets["fx"].ignored_output_ops == ("Softmax at 'head.1'",)
    assert nets["scripted"].ignored_output_ops == nets["traced"].ignored_output_ops == ("Softmax at 'head.1'",)
    assert nets["onnx"].ignored_output_ops[0].startswith("Softmax at ")
    X = np.random.default_rng(0).normal(size=(50, 4))
    with torch.no_grad():
        probs = model.double()(torch.from_numpy(X)).numpy()
    z = nets["fx"].forward(X)
    assert np.allclose(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), probs, atol=1e-12)


def test_cnn_with_max_pooling_through_every_export():
    """Windows of 3x3 with padding and ceil_mode (border windows of 4 and 6), a final LogSoftmax."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
                          nn.Flatten(), nn.Linear(18, 3), nn.LogSoftmax(dim=1)).eval()
    nets = _all_exports(model, (1, 5, 5))
    assert len({n.fingerprint for n in nets.values()}) == 1
    assert nets["traced"].ignored_output_ops == ("LogSoftmax at '5'",)


# ---------------------------------------------------------- final and refused ops
@pytest.mark.parametrize("final,name", [(nn.Softmax(dim=1), "Softmax"), (nn.Sigmoid(), "Sigmoid"),
                                        (nn.LogSoftmax(dim=1), "LogSoftmax")])
def test_final_op_is_dropped_and_named(final, name):
    model = _init(nn.Sequential(OrderedDict(body=nn.Sequential(nn.Linear(3, 4), nn.ReLU()),
                                            head=nn.Sequential(nn.Linear(4, 2), final, nn.Dropout()))), seed=0)
    net = from_torch(model)
    assert net.ignored_output_ops == (f"{name} at 'head.1'",)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert from_torch(torch.jit.script(model)).ignored_output_ops == net.ignored_output_ops
    X = np.random.default_rng(0).normal(size=(20, 3))
    logits = torch_forward(model, logits=True)(X)
    with torch.no_grad():
        expected = model.double().head[0](model.body(torch.from_numpy(X))).numpy()
    assert np.array_equal(logits, expected)
    assert np.allclose(net.forward(X), expected, rtol=1e-12, atol=1e-12)


def test_final_function_is_dropped_in_fx_and_torchscript():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            return torch.sigmoid(self.fc(torch.relu(x)))

    model = _init(Net(), seed=0)
    assert from_torch(model).ignored_output_ops == ("Sigmoid at 'sigmoid'",)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert from_torch(torch.jit.script(model)).ignored_output_ops == ("Sigmoid at 'sigmoid'",)


@pytest.mark.parametrize("script", [False, True])
def test_refusals_name_the_layer(script):
    def convert(m):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return from_torch(torch.jit.script(m) if script else m)

    tanh = nn.Sequential(OrderedDict(body=nn.Sequential(nn.Linear(3, 4), nn.Tanh()), head=nn.Linear(4, 2)))
    with pytest.raises(NNCellsError, match=r"layer 1 \(Tanh at 'body\.1'\) is not supported: Tanh is not piecewise"):
        convert(tanh)
    softmax = nn.Sequential(nn.Linear(3, 4), nn.Softmax(dim=1), nn.Linear(4, 2))
    with pytest.raises(NNCellsError, match=r"layer 1 \(Softmax at '1'\) is not supported: it is not piecewise "
                                           r"linear.*layer 2 \(Linear at '2'\) uses its output"):
        convert(softmax)


def test_refused_function_names_its_place():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.fc2 = nn.Linear(3, 3), nn.Linear(3, 1)

        def forward(self, x):
            return self.fc2(torch.tanh(self.fc(x)))

    with pytest.raises(NNCellsError, match=r"layer 1 \(tanh at 'tanh'\) is not supported: tanh is not piecewise"):
        from_torch(Net())
    with pytest.raises(NNCellsError, match="product or quotient of two tensors"):
        from_torch(nn.Sequential(Squared()))


class Squared(nn.Module):
    def forward(self, x):
        return self.fc(x) * x

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)


def test_onnx_refusals_and_dropped_softmax():
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    from nncells.models.onnx import from_onnx
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(size=(3, 3)).astype(np.float32), "W")]

    def graph(mid, last="Softmax"):
        nodes = [helper.make_node("MatMul", ["x", "W"], ["a"], name="fc1"),
                 helper.make_node(mid, ["a"], ["b"], name="mid"),
                 helper.make_node("MatMul", ["b", "W"], ["c"], name="fc2"),
                 helper.make_node(last, ["c"], ["y"], name="last")]
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
        return helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits),
                                 opset_imports=[helper.make_opsetid("", 17)])

    net = from_onnx(graph("Relu"))
    assert net.ignored_output_ops == ("Softmax at 'last'",)
    with pytest.raises(NNCellsError, match=r"node 1 \(Tanh 'mid'\) is not supported: Tanh is not piecewise"):
        from_onnx(graph("Tanh"))
    with pytest.raises(NNCellsError, match=r"node 1 \(Softmax 'mid'\) is not supported.*node 2 \(MatMul 'fc2'\)"):
        from_onnx(graph("Softmax"))
    with pytest.raises(NNCellsError, match=r"node 3 \(Tanh 'last'\) is not supported"):
        from_onnx(graph("Relu", last="Tanh"))


def test_dead_branch_makes_no_units():
    class Dead(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.unused = nn.Linear(2, 2), nn.Linear(2, 5)

        def forward(self, x):
            torch.relu(self.unused(x))
            return self.fc(x)

    assert from_torch(Dead()).widths == []


# ----------------------------------------------------------------- chains
CHAIN_FINGERPRINTS = {   # computed with the chain reader of nncells before graphs were read
    "mlp": "4877a1edd685bdac32e4365a48b5672896f9486fa70dd68df1d6a6095e50f2fc",
    "leaky": "bac0d4ae465d3450016fd05953a0061b66985a2fbac0acd8a0e97ff01d741553",
    "cnn": "3c53e1298117f03a734accd89a374ae8b7a7dcbff19afee5d319b7dd5d6e4f2b",
}
CHAINS = {
    "mlp": (lambda: nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2)), None),
    "leaky": (lambda: nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 2)), None),
    "cnn": (lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.AvgPool2d(2), nn.ReLU(),
                                  nn.Flatten(), nn.Linear(8, 3), nn.ReLU(), nn.Linear(3, 2)), (1, 4, 4)),
}


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_chains_keep_their_fingerprints(name):
    """Old manifests stay valid: a chain compiles to exactly the network it always did."""
    make, shape = CHAINS[name]
    net = from_torch(_init(make(), 0), input_shape=shape)
    assert not net.has_linear
    assert net.fingerprint == CHAIN_FINGERPRINTS[name]


# ------------------------------------------------------------ state dicts
def _state_dict_file(tmp_path):
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    torch.save(model.state_dict(), tmp_path / "sd.pt")
    return tmp_path / "sd.pt"


def test_state_dict_warns_that_it_is_read_as_a_chain(tmp_path):
    path = _state_dict_file(tmp_path)
    with pytest.warns(ModelWarning, match="no architecture.*Linear layers.*TorchScript.*ONNX"):
        net = load_model(path)
    assert net.widths == [4]


def test_state_dict_warning_is_one_line_on_stderr(tmp_path):
    path = _state_dict_file(tmp_path)
    r = subprocess.run([sys.executable, "-m", "nncells", "enumerate", str(path), "--box", "-1", "1", "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("nncells: warning: a state dict holds weights but no")
    assert len(r.stdout.strip().splitlines()) == 1 and json.loads(r.stdout)["regions"] >= 1


# ------------------------------------------------------------------- a CNN
def test_small_cnn_on_a_digit_enumerates_around_it():
    datasets = pytest.importorskip("sklearn.datasets")
    images = datasets.load_digits().images / 16.0
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(64, 10)).eval()
    net = from_torch(model, input_shape=(1, 8, 8))
    assert net.input_dim == 64 and net.has_linear
    x = images[-1].reshape(-1)
    eps = 0.002   # many ties at x (blank pixels): larger boxes hold many more regions
    res = enumerate_regions(net, Box(x - eps, x + eps), workers=1)
    assert res.count >= 2
    P = np.asarray(res.patterns, dtype=bool)
    assert np.array_equal(net.pattern(res.points), P)
    assert np.all(np.abs(res.points - x) <= eps)
    with torch.no_grad():
        y = model.double()(torch.from_numpy(res.points.reshape(-1, 1, 8, 8))).numpy()
    assert np.allclose(net.forward(res.points), y, atol=1e-10)


def test_cli_reports_argmax_regions_in_memory_and_written(tmp_path):
    model = _init(Pool(2, "2d_k2"), seed=1)
    net = from_torch(model)
    net.to_npz(tmp_path / "pool.npz")
    want = enumerate_regions(net, Box(-1, 1), workers=1).argmax_regions()
    for extra in ([], ["--out", str(tmp_path / "run")]):
        r = subprocess.run([sys.executable, "-m", "nncells", "enumerate", str(tmp_path / "pool.npz"), "--box", "-1",
                            "1", "--workers", "1", "--json", "--quiet"] + extra, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        s = json.loads(r.stdout)
        assert s["argmax_regions"] == want <= s["regions"]
