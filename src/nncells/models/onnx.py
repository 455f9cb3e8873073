"""ONNX models to `Network`: the graph is walked in numpy (onnxruntime is not needed to convert).

The graph must be a chain: one dynamic tensor flows from the single input to the single output
through Gemm, MatMul, Add/Sub/Mul/Div by constants, Relu, LeakyRelu, Flatten, Reshape, Conv
(2-D), AveragePool (2-D), BatchNormalization (inference), Identity and Dropout. Nodes whose
inputs are all constant (shape arithmetic, ``Constant``) are folded with ``onnx.reference``.
The batch dimension is taken to be 1 while the graph is read (a fixed batch size written into a
``Reshape`` target by an export without dynamic axes is read as that batch dimension).
"""
from __future__ import annotations

from math import prod

import numpy as np

from nncells.errors import ModelError, NNCellsError
from nncells.network import Network
from nncells.models.chain import ChainBuilder, import_optional
from nncells.models.verify import verify_conversion

SUPPORTED_OPS = ("Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "Flatten", "Reshape",
                 "Conv", "AveragePool", "BatchNormalization", "Identity", "Dropout")


def _onnx():
    return import_optional("onnx", "onnx")


def _attrs(node) -> dict:
    helper = _onnx().helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _input_shape(graph, consts, input_shape):
    """The dynamic input's name and the shape of one sample (without the batch dimension)."""
    inputs = [v for v in graph.input if v.name not in consts]
    if len(inputs) != 1:
        raise ModelError(f"the ONNX graph has {len(inputs)} inputs; exactly one is supported")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inputs[0].type.tensor_type.shape.dim]
    if input_shape is not None:
        shape = tuple(int(s) for s in input_shape)
        if dims and len(dims) == len(shape) + 1 and any(a is not None and a != b for a, b in zip(dims[1:], shape)):
            raise ModelError(f"input shape {shape} does not match the model's declared input {dims[1:]}")
        return inputs[0].name, shape
    if len(dims) < 2 or any(d is None or d <= 0 for d in dims[1:]):
        raise ModelError(f"cannot infer the input size of the ONNX model (declared input shape {dims}): "
                           f"give the shape of one sample (API: input_shape=(1, 28, 28); CLI: --input-shape 1,28,28)")
    return inputs[0].name, tuple(dims[1:])


def _fixed_batch(graph, name):
    """The batch size the input ``name`` declares, or None when it is symbolic (dynamic).

    Examples
    --------
    >>> from onnx import TensorProto, helper
    >>> g = helper.make_graph([], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 3])], [])
    >>> _fixed_batch(g, "x"), _fixed_batch(helper.make_graph([], "g", [helper.make_tensor_value_info(
    ...     "x", TensorProto.FLOAT, ["N", 3])], []), "x")
    (8, None)
    """
    dims = [v for v in graph.input if v.name == name][0].type.tensor_type.shape.dim
    if dims and dims[0].HasField("dim_value") and dims[0].dim_value > 0:
        return int(dims[0].dim_value)
    return None


def _fold(node, values, opset):
    """Evaluate a node whose inputs are all constants."""
    onnx = _onnx()
    if node.op_type == "Constant":
        return [onnx.numpy_helper.to_array(node.attribute[0].t)] if node.attribute[0].name == "value" \
            else [np.asarray(onnx.helper.get_attribute_value(node.attribute[0]))]
    from onnx.reference import ReferenceEvaluator
    feeds = {n: values[n] for n in node.input if n}
    model = onnx.helper.make_model(
        onnx.helper.make_graph([node], "fold", [onnx.helper.make_tensor_value_info(n, 0, None) for n in feeds],
                               [onnx.helper.make_tensor_value_info(n, 0, None) for n in node.output]),
        opset_imports=opset)
    return ReferenceEvaluator(model).run(None, feeds)


def _pads(a):
    p = list(a.get("pads", [0, 0, 0, 0]))
    return (p[0], p[1], p[2], p[3])


def _auto_pads(a, in_hw, kernel, stride, dilation):
    mode = a.get("auto_pad", b"NOTSET")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode in ("NOTSET", ""):
        return _pads(a)
    if mode == "VALID":
        return (0, 0, 0, 0)
    begin, end = [], []
    for n, k, s, d in zip(in_hw, kernel, stride, dilation):
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        lo = total // 2 if mode == "SAME_UPPER" else total - total // 2
        begin.append(lo)
        end.append(total - lo)
    return (begin[0], begin[1], end[0], end[1])


def _apply(b: ChainBuilder, node, a: dict, c: list, batch=1) -> None:
    """Apply ``node`` to the builder; ``c`` holds its inputs after the first (None if dynamic/absent),
    ``batch`` is the graph's fixed batch size (1 when dynamic)."""
    op = node.op_type
    if op in ("Identity", "Dropout"):
        return
    if op == "Relu":
        return b.relu()
    if op == "LeakyRelu":
        return b.leaky_relu(a.get("alpha", 0.01))
    if op == "Gemm":
        if a.get("transA", 0):
            raise ModelError("transA=1 is not supported")
        B = c[0].T if a.get("transB", 0) else c[0]
        bias = a.get("beta", 1.0) * c[1] if len(c) > 1 and c[1] is not None else 0.0
        return b.linear(a.get("alpha", 1.0) * B.T, np.broadcast_to(bias, (1, B.shape[1])).reshape(-1))
    if op == "MatMul":
        if c[0].ndim != 2:
            raise ModelError(f"only a 2-D constant right operand is supported, got shape {c[0].shape}")
        return b.linear(c[0].T)
    if op in ("Add", "Sub", "Mul", "Div"):
        full = (1,) + b.shape
        k = np.asarray(c[0], dtype=np.float64)
        if np.broadcast_shapes(full, k.shape) != full:
            raise ModelError(f"broadcasting a constant of shape {k.shape} changes the tensor shape {full}")
        k = np.broadcast_to(k, full)[0]
        scale, shift = {"Add": (1.0, k), "Sub": (1.0, -k), "Mul": (k, 0.0), "Div": (1.0 / k, 0.0)}[op]
        return b.elementwise(scale, shift)
    if op == "Flatten":
        full = (1,) + b.shape
        axis = a.get("axis", 1) % len(full)
        if prod(full[:axis]) != 1:
            raise ModelError(f"flattening from axis {axis} of a {full} tensor changes the batch dimension")
        return b.reshape((prod(full[axis:]),))
    if op == "Reshape":
        target = [int(v) for v in c[0]]
        full = (1,) + b.shape
        if not a.get("allowzero", 0):
            target = [full[i] if v == 0 else v for i, v in enumerate(target)]
        if len(target) > 1 and target[0] == batch:
            target[0] = 1   # the export's fixed batch size, written as a constant

        if -1 in target:
            target[target.index(-1)] = b.size // max(prod(v for v in target if v != -1), 1)
        if len(target) > 1 and target[0] != 1:
            raise ModelError(f"reshape to {tuple(target)} changes the batch dimension")
        return b.reshape(target[1:] if len(target) > 1 else target)
    if op == "BatchNormalization":
        if a.get("training_mode", 0):
            raise ModelError("training_mode=1 uses batch statistics")
        scale, beta, mean, var = c[:4]
        s = scale / np.sqrt(var + a.get("epsilon", 1e-5))
        return b.channel_affine(s, beta - mean * s)
    if op == "Conv":
        W = c[0]
        if W.ndim != 4:
            raise ModelError(f"only 2-D convolutions are supported (weight shape {W.shape})")
        stride, dil = tuple(a.get("strides", (1, 1))), tuple(a.get("dilations", (1, 1)))
        pads = _auto_pads(a, b.shape[1:], W.shape[2:], stride, dil)
        return b.conv2d(W, c[1] if len(c) > 1 else None, stride, pads, dil, a.get("group", 1))
    if op == "AveragePool":
        k = tuple(a["kernel_shape"])
        if len(k) != 2:
            raise ModelError("only 2-D average pooling is supported")
        stride = tuple(a.get("strides", (1, 1)))
        pads = _auto_pads(a, b.shape[1:], k, stride, (1, 1))
        return b.avgpool2d(k, stride, pads, bool(a.get("ceil_mode", 0)), bool(a.get("count_include_pad", 0)))
    raise ModelError("not supported")


def onnx_to_network(model, input_shape=None):
    """Walk the graph of an ``onnx.ModelProto``; returns ``(network, input_shape)``.

    No check against the original graph is made (see `from_onnx`).

    Examples
    --------
    A chain ``Gemm -> Relu -> Gemm`` computing ``relu(x_1) + relu(x_2 - 1) + 0.5``:

    >>> import numpy as np
    >>> from onnx import TensorProto, helper, numpy_helper
    >>> arrays = {"W1": [[1.0, 0.0], [0.0, 1.0]], "b1": [0.0, -1.0], "W2": [[1.0, 1.0]], "b2": [0.5]}
    >>> inits = [numpy_helper.from_array(np.array(v, np.float32), k) for k, v in arrays.items()]
    >>> nodes = [helper.make_node("Gemm", ["x", "W1", "b1"], ["h"], transB=1),
    ...          helper.make_node("Relu", ["h"], ["r"]),
    ...          helper.make_node("Gemm", ["r", "W2", "b2"], ["y"], transB=1)]
    >>> graph = helper.make_graph(
    ...     nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])], initializer=inits)
    >>> model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    >>> net, shape = onnx_to_network(model)
    >>> net, shape, net.forward([1.0, 2.0]).tolist()
    (Network(2-2-1), (2,), [2.5])
    """
    onnx = _onnx()
    graph = model.graph
    values = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    values = {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in values.items()}
    name, shape = _input_shape(graph, values, input_shape)
    batch = _fixed_batch(graph, name) or 1
    b = ChainBuilder(shape)
    cur = name
    for pos, node in enumerate(graph.node):
        label = f"node {pos} ({node.op_type}{' ' + repr(node.name) if node.name else ''})"
        dynamic = [x for x in node.input if x and x not in values]
        if not dynamic:
            for out, v in zip(node.output, _fold(node, values, model.opset_import)):
                values[out] = v
            continue
        if node.op_type == "Shape" and dynamic == [cur]:
            a = _attrs(node)
            values[node.output[0]] = np.array((1,) + b.shape, dtype=np.int64)[a.get("start", 0):a.get("end")]
            continue
        inputs = list(node.input)
        if node.op_type in ("Add", "Mul") and len(inputs) == 2 and inputs[1] == cur:
            inputs.reverse()   # commutative: constant * x = x * constant
        if dynamic != [cur] or inputs[0] != cur:
            raise ModelError(f"{label} is not supported: only a chain of layers with one dynamic input "
                               f"each is supported (no branches or residual additions)")
        if node.op_type not in SUPPORTED_OPS:
            raise ModelError(f"{label} is not supported: supported ONNX ops are {', '.join(SUPPORTED_OPS)}")
        try:
            _apply(b, node, _attrs(node), [values.get(x) for x in inputs[1:]], batch)
        except NNCellsError as e:
            raise ModelError(f"{label}: {e}") from None
        cur = node.output[0]
    if [o.name for o in graph.output] != [cur]:
        raise ModelError("the ONNX graph must have one output, computed by the last node of the chain")
    return b.finish(), b.input_shape


# ------------------------------------------------------------- verification
def _float64_model(model):
    """A copy of ``model`` computing in float64 (initializers, constants, declared types, casts)."""
    onnx = _onnx()
    from onnx import TensorProto, numpy_helper
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    for t in g.initializer:
        if t.data_type in (TensorProto.FLOAT, TensorProto.FLOAT16):
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float64), t.name))
    for node in g.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type in (TensorProto.FLOAT, TensorProto.FLOAT16):
                a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float64)))
            if node.op_type == "Cast" and a.name == "to" and a.i in (TensorProto.FLOAT, TensorProto.FLOAT16):
                a.i = TensorProto.DOUBLE
    for v in list(g.input) + list(g.output) + list(g.value_info):
        if v.type.tensor_type.elem_type in (TensorProto.FLOAT, TensorProto.FLOAT16):
            v.type.tensor_type.elem_type = TensorProto.DOUBLE
    return m


def onnx_forward(model):
    """A numpy float64 forward function of the original graph: onnxruntime when it can run the
    float64 graph, else the ``onnx.reference`` evaluator. When the graph fixes its batch size
    (an export without dynamic axes), inputs are fed in batches of exactly that size.

    Examples
    --------
    >>> import numpy as np
    >>> from onnx import TensorProto, helper, numpy_helper
    >>> arrays = {"W1": [[1.0, 0.0], [0.0, 1.0]], "b1": [0.0, -1.0], "W2": [[1.0, 1.0]], "b2": [0.5]}
    >>> inits = [numpy_helper.from_array(np.array(v, np.float32), k) for k, v in arrays.items()]
    >>> nodes = [helper.make_node("Gemm", ["x", "W1", "b1"], ["h"], transB=1),
    ...          helper.make_node("Relu", ["h"], ["r"]),
    ...          helper.make_node("Gemm", ["r", "W2", "b2"], ["y"], transB=1)]
    >>> graph = helper.make_graph(
    ...     nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])], initializer=inits)
    >>> model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    >>> f = onnx_forward(model)
    >>> f(np.array([[1.0, 2.0], [-1.0, 0.0]])).tolist()
    [[2.5], [0.5]]
    """
    m = _float64_model(model)
    name = [v.name for v in m.graph.input if v.name not in {t.name for t in m.graph.initializer}][0]
    batch = _fixed_batch(m.graph, name)
    run = None
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        run = lambda X: sess.run(None, {name: X})[0]  # noqa: E731
    except Exception:  # noqa: BLE001 - not installed, or no float64 kernel (Conv): use the reference
        from onnx.reference import ReferenceEvaluator
        ref = ReferenceEvaluator(m)
        run = lambda X: ref.run(None, {name: X})[0]  # noqa: E731

    def forward(X):
        try:
            return _batched(X)
        except Exception as e:  # noqa: BLE001 - onnxruntime and onnx.reference raise many kinds
            raise ModelError(f"cannot run the ONNX graph to check the conversion ({' '.join(str(e).split())})") from None

    def _batched(X):
        X = np.ascontiguousarray(X, dtype=np.float64)
        if batch is None:
            return np.asarray(run(X)).reshape(len(X), -1)
        out = []
        for start in range(0, len(X), batch):   # batches of exactly the declared size, the last padded
            chunk = X[start:start + batch]
            padded = np.concatenate([chunk, np.zeros((batch - len(chunk),) + X.shape[1:])])
            out.append(np.asarray(run(padded)).reshape(batch, -1)[:len(chunk)])
        return np.concatenate(out) if out else np.zeros((0, 0))
    return forward


def from_onnx(model, input_shape=None, verify=True, n_verify=256):
    """Convert an ONNX model (``onnx.ModelProto``) into the exact `Network` it computes.

    Parameters
    ----------
    model : onnx.ModelProto
    input_shape : tuple of int, optional
        Shape of one sample, when the graph does not declare it.
    verify : bool
        Evaluate the original graph in float64 (onnxruntime, or onnx's reference evaluator
        for ops onnxruntime has no float64 kernel for) on ``n_verify`` random inputs and
        raise `NNCellsError` if the network differs by more than 1e-9 (relative).

    Returns
    -------
    Network
        Input: the sample flattened in C order.

    Examples
    --------
    A chain ``Gemm -> Relu -> Gemm`` computing ``relu(x_1) + relu(x_2 - 1) + 0.5``:

    >>> import numpy as np
    >>> from onnx import TensorProto, helper, numpy_helper
    >>> arrays = {"W1": [[1.0, 0.0], [0.0, 1.0]], "b1": [0.0, -1.0], "W2": [[1.0, 1.0]], "b2": [0.5]}
    >>> inits = [numpy_helper.from_array(np.array(v, np.float32), k) for k, v in arrays.items()]
    >>> nodes = [helper.make_node("Gemm", ["x", "W1", "b1"], ["h"], transB=1),
    ...          helper.make_node("Relu", ["h"], ["r"]),
    ...          helper.make_node("Gemm", ["r", "W2", "b2"], ["y"], transB=1)]
    >>> graph = helper.make_graph(
    ...     nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])], initializer=inits)
    >>> model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    >>> net = from_onnx(model)
    >>> net, net.forward([[1.0, 2.0], [-1.0, 0.0]]).tolist()
    (Network(2-2-1), [[2.5], [0.5]])
    """
    net, shape = onnx_to_network(model, input_shape)
    if verify:
        verify_conversion(onnx_forward(model), net, shape, n=n_verify)
    return net


def load_onnx(path, input_shape=None, verify=True) -> Network:
    """Read an ``.onnx`` file (protobuf only: no code is run) and convert it with `from_onnx`.

    Raises
    ------
    ModelError
        If the file is not a readable ONNX model, or the graph cannot be converted.

    Examples
    --------
    A model saved from PyTorch with ``torch.onnx.export`` loads the same way; here the file is
    written with ``onnx.save``:

    >>> import numpy as np
    >>> from onnx import TensorProto, helper, numpy_helper
    >>> arrays = {"W1": [[1.0, 0.0], [0.0, 1.0]], "b1": [0.0, -1.0], "W2": [[1.0, 1.0]], "b2": [0.5]}
    >>> inits = [numpy_helper.from_array(np.array(v, np.float32), k) for k, v in arrays.items()]
    >>> nodes = [helper.make_node("Gemm", ["x", "W1", "b1"], ["h"], transB=1),
    ...          helper.make_node("Relu", ["h"], ["r"]),
    ...          helper.make_node("Gemm", ["r", "W2", "b2"], ["y"], transB=1)]
    >>> graph = helper.make_graph(
    ...     nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])], initializer=inits)
    >>> model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    >>> import os, tempfile, onnx
    >>> path = os.path.join(tempfile.mkdtemp(), "mlp.onnx")
    >>> onnx.save(model, path)
    >>> net = load_onnx(path)
    >>> net, net.forward([1.0, 2.0]).tolist()
    (Network(2-2-1), [2.5])
    """
    onnx = _onnx()
    try:
        model = onnx.load(str(path))
    except Exception as e:  # noqa: BLE001 - protobuf/onnx raise several kinds
        raise ModelError(f"{path}: not a readable ONNX model ({e})") from None
    return from_onnx(model, input_shape=input_shape, verify=verify)
