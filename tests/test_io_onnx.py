"""ONNX graphs -> Network: exported models, hand-built graphs for each op, clear refusals."""
import io
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from nncells import NNCellsError  # noqa: E402
from nncells.models import load_model  # noqa: E402
from nncells.models.onnx import from_onnx  # noqa: E402

RNG = np.random.default_rng(0)


def _const(name, shape):
    return numpy_helper.from_array(RNG.normal(size=shape).astype(np.float32), name)


def _model(nodes, inits, in_shape, out_name="y", in_dims=None):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, in_dims or [1, *in_shape])
    y = helper.make_tensor_value_info(out_name, TensorProto.FLOAT, None)
    return helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits),
                             opset_imports=[helper.make_opsetid("", 17)])


def _ort_check(model, net, in_shape, n=32):
    """Independent check with onnxruntime on the original float32 graph (float32 tolerance)."""
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    X = RNG.normal(size=(n, *in_shape)).astype(np.float32)
    y = np.concatenate([sess.run(None, {"x": X[i:i + 1]})[0].reshape(1, -1) for i in range(n)])
    got = net.forward(X.reshape(n, -1).astype(np.float64))
    assert np.abs(got - y).max() <= 1e-5 * max(1.0, np.abs(y).max())


GRAPHS = {
    "gemm_relu_gemm": (lambda: ([helper.make_node("Gemm", ["x", "W1", "b1"], ["h"], transB=1),
                                 helper.make_node("Relu", ["h"], ["r"]),
                                 helper.make_node("Gemm", ["r", "W2", "b2"], ["y"], alpha=0.5, beta=2.0)],
                                [_const("W1", (4, 3)), _const("b1", (4,)), _const("W2", (4, 2)),
                                 _const("b2", (1, 2))]), (3,)),
    "matmul_add_leaky": (lambda: ([helper.make_node("MatMul", ["x", "W"], ["h"]),
                                   helper.make_node("Add", ["c", "h"], ["a"]),
                                   helper.make_node("LeakyRelu", ["a"], ["l"], alpha=0.2),
                                   helper.make_node("MatMul", ["l", "W2"], ["y"])],
                                  [_const("W", (3, 4)), _const("c", (4,)), _const("W2", (4, 2))]), (3,)),
    "sub_mul_div_identity_dropout": (lambda: ([helper.make_node("Sub", ["x", "m"], ["a"]),
                                               helper.make_node("Mul", ["a", "s"], ["b"]),
                                               helper.make_node("Identity", ["b"], ["c"]),
                                               helper.make_node("Dropout", ["c"], ["d"]),
                                               helper.make_node("Div", ["d", "s"], ["e"]),
                                               helper.make_node("Relu", ["e"], ["y"])],
                                              [_const("m", (3,)), numpy_helper.from_array(
                                                  np.array([2.0, -1.0, 0.5], np.float32), "s")]), (3,)),
    "conv_bn_pool_flatten_reshape": (lambda: (
        [helper.make_node("Conv", ["x", "K", "kb"], ["c"], pads=[1, 0, 0, 1], strides=[1, 2]),
         helper.make_node("BatchNormalization", ["c", "g", "be", "mu", "var"], ["n"], epsilon=1e-3),
         helper.make_node("AveragePool", ["n"], ["p"], kernel_shape=[2, 2], strides=[1, 1], pads=[0, 1, 1, 0]),
         helper.make_node("Relu", ["p"], ["r"]),
         helper.make_node("Reshape", ["r", "shape"], ["f"]),
         helper.make_node("Flatten", ["f"], ["g2"], axis=1),
         helper.make_node("Gemm", ["g2", "W", "b"], ["y"], transB=1)],
        [_const("K", (2, 1, 2, 2)), _const("kb", (2,)), _const("g", (2,)), _const("be", (2,)), _const("mu", (2,)),
         numpy_helper.from_array(np.array([0.7, 1.3], np.float32), "var"),
         numpy_helper.from_array(np.array([0, 2, -1], np.int64), "shape"),
         _const("W", (2, 2 * 5 * 3)), _const("b", (2,))]), (1, 5, 5)),
    "conv_same_pool_ceil": (lambda: (
        [helper.make_node("Conv", ["x", "K"], ["c"], auto_pad="SAME_LOWER", group=2, strides=[2, 1]),
         helper.make_node("AveragePool", ["c"], ["y"], kernel_shape=[2, 3], strides=[2, 2], ceil_mode=1,
                          count_include_pad=1, pads=[1, 1, 1, 1])],
        [_const("K", (4, 1, 2, 3))]), (2, 5, 6)),
    "residual_slice_concat_max_min": (lambda: (
        [helper.make_node("Gemm", ["x", "W1", "b1"], ["h"], transB=1),
         helper.make_node("Relu", ["h"], ["r"]),
         helper.make_node("Add", ["x", "r"], ["s"]),
         helper.make_node("Slice", ["s", "st", "en", "ax"], ["s1"]),
         helper.make_node("Gather", ["x", "i0"], ["g"], axis=1),
         helper.make_node("Max", ["s1", "g"], ["m"]),
         helper.make_node("Min", ["m", "c"], ["n"]),
         helper.make_node("Concat", ["n", "s"], ["cat"], axis=1),
         helper.make_node("Sub", ["c5", "cat"], ["y"])],
        [_const("W1", (4, 4)), _const("b1", (4,)), _const("c", (2,)), _const("c5", (6,)),
         numpy_helper.from_array(np.array([1], np.int64), "st"), numpy_helper.from_array(np.array([3], np.int64), "en"),
         numpy_helper.from_array(np.array([1], np.int64), "ax"),
         numpy_helper.from_array(np.array([0, 3], np.int64), "i0")]), (4,)),
    "maxpool_clip_abs_prelu": (lambda: (
        [helper.make_node("Conv", ["x", "K"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("MaxPool", ["c"], ["p"], kernel_shape=[2, 3], strides=[2, 2], pads=[0, 1, 1, 1],
                          ceil_mode=1),
         helper.make_node("Clip", ["p", "lo", "hi"], ["q"]),
         helper.make_node("Abs", ["q"], ["a"]),
         helper.make_node("PRelu", ["a", "slope"], ["b"]),
         helper.make_node("Neg", ["b"], ["n"]),
         helper.make_node("Transpose", ["n"], ["t"], perm=[0, 1, 3, 2]),
         helper.make_node("Flatten", ["t"], ["f"]),
         helper.make_node("LeakyRelu", ["f"], ["y"], alpha=0.1)],
        [_const("K", (2, 1, 3, 3)), numpy_helper.from_array(np.array(-0.5, np.float32), "lo"),
         numpy_helper.from_array(np.array(1.0, np.float32), "hi"),
         numpy_helper.from_array(np.array([[[0.2]], [[-0.3]]], np.float32), "slope")]), (1, 5, 5)),
    "maxpool_1d_squeeze": (lambda: (
        [helper.make_node("Unsqueeze", ["x", "ax"], ["u"]),
         helper.make_node("MaxPool", ["u"], ["p"], kernel_shape=[3], strides=[2]),
         helper.make_node("Squeeze", ["p", "ax"], ["y"])],
        [numpy_helper.from_array(np.array([1], np.int64), "ax")]), (7,)),
}


@pytest.mark.parametrize("case", sorted(GRAPHS))
def test_graph_converts_and_matches(case):
    make, shape = GRAPHS[case]
    nodes, inits = make()
    model = _model(nodes, inits, shape)
    net = from_onnx(model)     # verified in float64 against the graph itself (1e-9)
    assert net.input_dim == int(np.prod(shape))
    _ort_check(model, net, shape)


def _export(module, shape, batch=1, **kw):
    torch = pytest.importorskip("torch")
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(module.eval(), torch.zeros(batch, *shape), f, dynamo=False, input_names=["x"], **kw)
        except Exception as e:  # noqa: BLE001 - exporter availability varies across torch versions
            pytest.skip(f"torch.onnx.export unavailable: {e}")
    return onnx.load_from_string(f.getvalue())


def test_exported_torch_models(tmp_path):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.AvgPool2d(2), nn.LeakyReLU(0.1),
                      nn.Flatten(), nn.Linear(8, 3), nn.ReLU(), nn.Dropout(), nn.Linear(3, 2))
    with torch.no_grad():
        m[1].running_var.uniform_(0.5, 2)
        m[1].running_mean.normal_()
    from nncells.models.torch import from_torch
    ref = from_torch(m.eval(), input_shape=(1, 4, 4))
    for kw in (dict(), dict(dynamic_axes={"x": {0: "batch"}}),
               dict(do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)):
        model = _export(m, (1, 4, 4), **kw)
        net = from_onnx(model)
        assert np.allclose(net.forward(np.eye(16)), ref.forward(np.eye(16)), rtol=1e-6, atol=1e-6)
        _ort_check(model, net, (1, 4, 4))
    onnx.save(model, tmp_path / "m.onnx")
    assert load_model(tmp_path / "m.onnx").widths == ref.widths


@pytest.mark.parametrize("batch", [1, 8])
def test_fixed_batch_exports_load(batch, tmp_path):
    """Exported without dynamic axes: the graph fixes its batch size (and writes it into Reshape
    targets for ``x.view(x.size(0), -1)``); verification feeds batches of exactly that size."""
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class View(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = nn.Conv2d(1, 2, 3, padding=1), nn.Linear(32, 2)

        def forward(self, x):
            return self.fc(torch.relu(self.conv(x)).view(x.size(0), -1))

    torch.manual_seed(0)
    seq = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.AvgPool2d(2), nn.ReLU(),
                        nn.Flatten(), nn.Linear(8, 2))
    X = np.eye(16)
    for m in (seq, View()):
        with torch.no_grad():
            ref = m.eval()(torch.from_numpy(X.reshape(16, 1, 4, 4)).float()).numpy()
        dynamic = [dict(dynamic_axes={"x": {0: "batch"}})] if m is seq else []   # View: Shape(x) is a branch
        for kw in [dict()] + dynamic:
            model = _export(m, (1, 4, 4), batch=batch, **kw)
            onnx.save(model, tmp_path / "m.onnx")
            net = load_model(tmp_path / "m.onnx")     # verified against the graph, batch by batch
            assert np.allclose(net.forward(X), ref, rtol=1e-5, atol=1e-5)


def test_view_with_shape_arithmetic_is_folded():
    torch = pytest.importorskip("torch")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 3)

        def forward(self, x):
            return torch.relu(self.fc(x.view(x.size(0), -1))) * 2.0 + 1.0

    model = _export(Net(), (2, 2), dynamic_axes={"x": {0: "batch"}})
    assert "Shape" in [n.op_type for n in model.graph.node]
    net = from_onnx(model)
    assert net.widths == [3]
    _ort_check(model, net, (2, 2))


@pytest.mark.parametrize("op,kw", [("Tanh", {}), ("Elu", {}), ("Exp", {}), ("Erf", {})])
def test_unsupported_op_is_named_with_its_position(op, kw):
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node(op, ["a"], ["y"], **kw)]
    with pytest.raises(NNCellsError, match=rf"node 1 \({op}\) is not supported"):
        from_onnx(_model(nodes, [], (1, 4, 4)), verify=False)


@pytest.mark.parametrize("op", ["Sigmoid", "Softmax", "LogSoftmax"])
def test_final_op_is_dropped(op):
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node(op, ["a"], ["y"])]
    net = from_onnx(_model(nodes, [], (3,)))   # verified against the graph without its last node
    assert net.ignored_output_ops == (f"{op} at 'node 1'",)
    assert net.forward([-1.0, 2.0, 3.0]).tolist() == [0.0, 2.0, 3.0]


def test_residual_add_converts():
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Add", ["a", "x"], ["y"])]
    model = _model(nodes, [], (3,))
    net = from_onnx(model)
    assert net.has_linear
    _ort_check(model, net, (3,))


def test_input_shape_inferred_or_asked_for():
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    model = _model(nodes, [], None, in_dims=["N", "C"])
    with pytest.raises(NNCellsError, match="input-shape"):
        from_onnx(model)
    assert from_onnx(model, input_shape=(3,)).input_dim == 3
    fixed = _model(nodes, [], (3,))
    with pytest.raises(NNCellsError, match="does not match"):
        from_onnx(fixed, input_shape=(4,))


def test_unreadable_file(tmp_path):
    p = tmp_path / "bad.onnx"
    p.write_bytes(b"not a protobuf at all \xff\xfe")
    with pytest.raises(NNCellsError, match="bad.onnx"):
        load_model(p)
