"""PyTorch modules -> Network: every supported layer, region counts, clear refusals."""
import warnings

import numpy as np

from nncells import _config
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import nncells  # noqa: E402
from nncells import Box, NNCellsError, enumerate_regions  # noqa: E402
from nncells.models.torch import from_torch  # noqa: E402
from nncells.models.verify import verify_conversion  # noqa: E402
from oracles import brute_force_patterns, patterns_set  # noqa: E402


def _randomize(model, seed=0):
    """Random weights and non-trivial batch-norm statistics, then eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g))
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                if m.affine:
                    m.weight.copy_(torch.randn(m.num_features, generator=g))
                    m.bias.copy_(torch.randn(m.num_features, generator=g))
    return model.eval()


def _max_rel_error(model, net, shape, n=64, seed=1):
    X = np.random.default_rng(seed).normal(size=(n,) + tuple(shape))
    m = _randomize(model).double()
    with torch.no_grad():
        y = m(torch.from_numpy(X)).numpy().reshape(n, -1)
    return np.abs(net.forward(X.reshape(n, -1)) - y).max() / np.abs(y).max()


class Custom(nn.Module):
    """A non-Sequential module: traced with torch.fx."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 2)
        self.fc1 = nn.Linear(18, 5)
        self.fc2 = nn.Linear(5, 2)

    def forward(self, x):
        x = torch.relu(self.conv(x))
        x = x.view(x.size(0), -1)
        x = nn.functional.leaky_relu(self.fc1(x), negative_slope=0.3)
        return self.fc2(nn.functional.dropout(x, 0.5, self.training))


CASES = {
    "linear": (lambda: nn.Sequential(nn.Linear(3, 2)), (3,)),
    "relu": (lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)), (3,)),
    "relu_at_end": (lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU()), (3,)),
    "leaky": (lambda: nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 2)), (3,)),
    "leaky_negative_slope": (lambda: nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(-0.5), nn.Linear(4, 1)), (3,)),
    "flatten": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(6, 2)), (2, 3)),
    "unflatten": (lambda: nn.Sequential(nn.Linear(4, 8), nn.Unflatten(1, (2, 2, 2)), nn.Conv2d(2, 1, 2)), (4,)),
    "dropout_identity": (lambda: nn.Sequential(nn.Dropout(0.5), nn.Linear(3, 4), nn.Identity(), nn.ReLU(),
                                               nn.Dropout(0.2), nn.Linear(4, 2)), (3,)),
    "batchnorm1d": (lambda: nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)), (3,)),
    "batchnorm1d_first": (lambda: nn.Sequential(nn.BatchNorm1d(3, affine=False), nn.Linear(3, 2)), (3,)),
    "batchnorm2d": (lambda: nn.Sequential(nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(18, 2)), (2, 3, 3)),
    "conv2d": (lambda: nn.Sequential(nn.Conv2d(2, 3, 2), nn.ReLU(), nn.Flatten(), nn.Linear(12, 2)), (2, 3, 3)),
    "conv2d_options": (lambda: nn.Sequential(nn.Conv2d(2, 4, 3, stride=2, padding=2, dilation=2, groups=2),
                                             nn.ReLU(), nn.Conv2d(4, 2, 2, padding="same", bias=False)), (2, 6, 5)),
    "avgpool2d": (lambda: nn.Sequential(nn.AvgPool2d(2)), (2, 4, 4)),
    "avgpool2d_options": (lambda: nn.Sequential(nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True,
                                                             count_include_pad=False)), (1, 6, 5)),
    "avgpool2d_divisor": (lambda: nn.Sequential(nn.AvgPool2d(2, stride=1, padding=1, divisor_override=3)), (1, 3, 3)),
    "conv_bn_pool": (lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.AvgPool2d(2),
                                           nn.LeakyReLU(0.1), nn.Flatten(), nn.Linear(8, 3), nn.ReLU(),
                                           nn.Linear(3, 2)), (1, 4, 4)),
    "nested_sequential": (lambda: nn.Sequential(nn.Sequential(nn.Linear(3, 4), nn.ReLU()),
                                                nn.Sequential(nn.Linear(4, 2))), (3,)),
    "custom_fx": (lambda: Custom(), (1, 4, 4)),
    "conv1d_pools_1d": (lambda: nn.Sequential(nn.Conv1d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2),
                                              nn.AvgPool1d(2, ceil_mode=True), nn.Flatten(), nn.Linear(6, 2)), (2, 8)),
    "clamps_prelu_maxpool": (lambda: nn.Sequential(nn.Conv2d(1, 2, 2), nn.PReLU(2), nn.MaxPool2d(2, stride=1),
                                                   nn.ReLU6(), nn.Flatten(), nn.Linear(8, 3), nn.Hardtanh(-0.5, 0.5),
                                                   nn.Linear(3, 2)), (1, 4, 4)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_converts_and_matches(case):
    make, shape = CASES[case]
    torch.manual_seed(0)
    model = _randomize(make())
    net = from_torch(model, input_shape=shape)
    assert net.input_dim == int(np.prod(shape))
    assert _max_rel_error(model, net, shape) < 1e-9
    scripted = from_torch(torch.jit.script(model), input_shape=shape)
    assert scripted.fingerprint == net.fingerprint


def _trace(model, shape):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.trace(model, torch.randn((2,) + tuple(shape)))


@pytest.mark.parametrize("case", sorted(CASES))
def test_traced_model_converts_like_scripted(case, tmp_path):
    """torch.jit.trace keeps only parameters and buffers: options come from the traced graph."""
    make, shape = CASES[case]
    torch.manual_seed(0)
    model = _randomize(make())
    net = from_torch(model, input_shape=shape)
    traced = _trace(model, shape)
    assert from_torch(traced, input_shape=shape).fingerprint == net.fingerprint
    traced.save(str(tmp_path / "m.ts"))
    assert nncells.load_model(tmp_path / "m.ts", input_shape=shape).fingerprint == net.fingerprint


def test_traced_layers_that_cannot_be_read_are_refused():
    reflect = nn.Sequential(nn.Conv2d(1, 2, 2, padding=1, padding_mode="reflect"), nn.Flatten(), nn.Linear(32, 1))
    with pytest.raises(NNCellsError, match="Conv2d.*aten::pad"):
        from_torch(_trace(reflect.eval(), (1, 3, 3)), input_shape=(1, 3, 3))
    train_bn = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)).train()
    with pytest.raises(NNCellsError, match="BatchNorm1d"):   # traced in training mode: batch statistics
        from_torch(_trace(train_bn, (2,)))


def test_loading_torchscript_shows_no_torch_warnings(tmp_path):
    torch.manual_seed(0)
    model = _randomize(nn.Sequential(nn.Conv2d(1, 2, 2), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.script(model).save(str(tmp_path / "s.ts"))
    _trace(model, (1, 3, 3)).save(str(tmp_path / "t.ts"))
    for name in ("s.ts", "t.ts"):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            nncells.load_model(tmp_path / name, input_shape=(1, 3, 3))
        assert [str(w.message) for w in seen] == [], name


def test_consecutive_affine_layers_compose_into_one():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Linear(5, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Dropout(),
                          nn.Linear(4, 4), nn.Linear(4, 2))
    net = from_torch(_randomize(model))
    assert net.widths == [4]
    assert len(net.weights) == 2


def test_leaky_relu_doubles_width_and_keeps_regions():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(0.2), nn.Linear(3, 3), nn.LeakyReLU(0.1), nn.Linear(3, 1))
    net = from_torch(model.eval())
    assert net.widths == [6, 6]
    res = enumerate_regions(net, Box(-1, 1))
    A, b = Box(-1, 1).resolve(2).halfspaces()
    assert patterns_set(res) == brute_force_patterns(net, A, b, cap=2.0)
    P = np.asarray(res.patterns, dtype=bool)
    pos = np.concatenate([P[:, 0:3], P[:, 6:9]], axis=1)
    assert np.all(P[:, 0:3] != P[:, 3:6]) and np.all(P[:, 6:9] != P[:, 9:12])   # pairs are opposite
    leaky_patterns = {tuple(p) for p in pos}
    assert len(leaky_patterns) == res.count
    # the leaky model's own hidden signs, sampled: all among the enumerated regions
    X = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, size=(4000, 2))).float()
    with torch.no_grad():
        z1 = model[0](X)
        z2 = model[2](model[1](z1))
    sampled = {tuple(p) for p in torch.cat([z1 > 0, z2 > 0], 1).numpy()}
    assert sampled <= leaky_patterns


def test_conv_region_count_matches_dense_and_brute_force():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2)).eval()
    net = from_torch(model, input_shape=(1, 3, 3))
    assert net.widths == [8]
    res = enumerate_regions(net, Box(-1, 1))
    A, b = Box(-1, 1).resolve(9).halfspaces()
    assert patterns_set(res) == brute_force_patterns(net, A, b, cap=2.0)
    X = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, size=(20000, 1, 3, 3))).float()
    with torch.no_grad():
        sampled = {tuple(p) for p in (model[0](X) > 0).flatten(1).numpy()}
    assert sampled <= patterns_set(res)
    assert len(sampled) >= 0.8 * res.count   # sampling finds most regions of this tiny model


@pytest.mark.parametrize("layer,name", [(nn.ELU(), "ELU"), (nn.Sigmoid(), "Sigmoid"),
                                        (nn.GELU(), "GELU"), (nn.MultiheadAttention(4, 2), "MultiheadAttention"),
                                        (nn.Tanh(), "Tanh")])
def test_unsupported_layer_is_named_with_its_position(layer, name):
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), layer, nn.Linear(4, 2))
    with pytest.raises(NNCellsError, match=rf"layer 2 \({name}.*not supported"):
        from_torch(model, input_shape=(4,))


def test_residual_converts_and_smooth_functions_are_refused():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return x + torch.relu(self.fc(x))

    class Smooth(nn.Module):
        def __init__(self, last):
            super().__init__()
            self.fc, self.fc2, self.last = nn.Linear(3, 3), nn.Linear(3, 1), last

        def forward(self, x):
            h = torch.sigmoid(self.fc(x))
            return h if self.last else self.fc2(h)

    torch.manual_seed(0)
    model = Residual()
    net = from_torch(model)
    assert net.has_linear and _max_rel_error(model, net, (3,)) < 1e-9
    assert from_torch(torch.jit.script(model)).fingerprint == net.fingerprint
    assert from_torch(Smooth(last=True)).ignored_output_ops == ("Sigmoid at 'sigmoid'",)
    with pytest.raises(NNCellsError, match=r"layer 1 \(sigmoid at 'sigmoid'\) is not supported.*layer 2"):
        from_torch(Smooth(last=False))


def test_input_shape_needed_and_checked():
    model = nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 1))
    with pytest.raises(NNCellsError, match=r"layer 0 \(Conv2d\).*input.shape"):
        from_torch(model)
    with pytest.raises(NNCellsError, match="layer 3"):
        from_torch(model, input_shape=(1, 4, 4))   # Flatten gives 18 features, Linear wants 8


def test_batchnorm_without_running_stats_is_refused():
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3, track_running_stats=False))
    with pytest.raises(NNCellsError, match="batch statistics"):
        from_torch(model)


def test_dense_size_limit(monkeypatch):
    monkeypatch.setattr(_config, "MAX_DENSE_ENTRIES", 1000)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 64, 1))
    with pytest.raises(NNCellsError, match="dense 256 x 64 matrix"):
        from_torch(model, input_shape=(1, 8, 8))


@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_extreme_weight_scales(scale):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    net = from_torch(model)
    assert _max_rel_error(model, net, (3,)) < 1e-9


def test_verify_conversion_reports_the_mismatch():
    net = nncells.random_network([3, 4, 2], seed=0)
    assert verify_conversion(lambda X: net.forward(X), net, (3,)) == 0.0
    with pytest.raises(NNCellsError, match=r"differs from the original model by 0\.0[0-9]"):
        verify_conversion(lambda X: net.forward(X) * 1.05, net, (3,))
    with pytest.raises(NNCellsError, match="outputs"):
        verify_conversion(lambda X: net.forward(X)[:, :1], net, (3,))


def test_not_a_module():
    with pytest.raises(NNCellsError, match="torch.nn.Module"):
        from_torch([np.eye(2)])
