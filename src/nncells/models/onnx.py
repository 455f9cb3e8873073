"""ONNX models to `Network`: the graph is walked in numpy (onnxruntime is not needed to convert).

Every value of the graph that depends on the single input is an affine expression
(`nncells.models.expr.Expr`); the nodes of `nncells.models.onnx_ops.SUPPORTED_OPS` transform
them or create ReLU units (`nncells.models.graph.GraphBuilder`): residual ``Add``, ``Concat``,
``Slice``, ``MaxPool``, ``Clip``, ``Max`` and ``Min`` are read as well as chains. Nodes whose
inputs are all constant (shape arithmetic, ``Constant``) are folded with ``onnx.reference``. A
final ``Softmax``, ``Sigmoid`` or ``LogSoftmax`` is dropped and named in ``ignored_output_ops``.
The batch dimension is taken to be 1 while the graph is read (a fixed batch size written into a
``Reshape`` target by an export without dynamic axes is read as that batch dimension).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from nncells.errors import ModelError, NNCellsError
from nncells.network import Network
from nncells.models.chain import import_optional
from nncells.models.expr import Expr
from nncells.models.graph import GraphBuilder
from nncells.models.onnx_ops import SMOOTH_OPS, SUPPORTED_OPS, apply_node
from nncells.models.tensor_ops import FINAL_OPS, Final
from nncells.models.verify import verify_conversion

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

    import onnx

_PASS = ("Identity", "Dropout")


def _onnx() -> Any:  # the onnx module, imported on demand
    return import_optional("onnx", "onnx")


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    helper = _onnx().helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _input_shape(graph: onnx.GraphProto, consts: dict[str, Any],
                 input_shape: Sequence[int] | None) -> tuple[str, tuple[int, ...]]:
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
    return inputs[0].name, cast("tuple[int, ...]", tuple(dims[1:]))  # (no None left: checked above)


def _fixed_batch(graph: onnx.GraphProto, name: str) -> int | None:
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


def _fold(node: onnx.NodeProto, values: dict[str, Any], opset: Sequence[onnx.OperatorSetIdProto]) -> list[Any]:
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
    return cast("list[Any]", ReferenceEvaluator(model).run(None, feeds))  # (all outputs: a list)


def onnx_to_network(model: onnx.ModelProto, input_shape: Sequence[int] | None = None) -> tuple[Network, tuple[int, ...]]:
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
    g = GraphBuilder(shape)
    values[name] = g.input
    for pos, node in enumerate(graph.node):
        op = node.op_type
        label = f"node {pos} ({op}{' ' + repr(node.name) if node.name else ''})"
        ins = [values.get(x) if x else None for x in node.input]
        if not any(isinstance(v, (Expr, Final)) for v in ins):
            for out, v in zip(node.output, _fold(node, values, model.opset_import)):
                values[out] = v
            continue
        if op == "Shape" and isinstance(ins[0], Expr):
            a = _attrs(node)
            values[node.output[0]] = np.array((1,) + ins[0].shape, dtype=np.int64)[a.get("start", 0):a.get("end")]
            continue
        finals = [v for v in ins if isinstance(v, Final)]
        if finals:
            f = finals[0]
            if op in _PASS or (op in FINAL_OPS and ins[0] is f and len(finals) == 1):
                dropped = f.ops + ([f"{op} at {node.name or f'node {pos}'!r}"] if op in FINAL_OPS else [])
                values[node.output[0]] = Final(f.value, dropped, label if op in FINAL_OPS else f.where)
                continue
            raise ModelError(f"{f.where} is not supported: it is not piecewise linear, so it is only dropped "
                             f"as the model's last op (it changes no region there), but {label} uses its output")
        if op in FINAL_OPS and isinstance(ins[0], Expr):
            values[node.output[0]] = Final(ins[0], [f"{op} at {node.name or f'node {pos}'!r}"], label)
            continue
        if op not in SUPPORTED_OPS:
            why = (f"{op} is not piecewise linear, so the model has no finite set of linear regions"
                   if op in SMOOTH_OPS else f"supported ONNX ops are {', '.join(SUPPORTED_OPS)}")
            raise ModelError(f"{label} is not supported: {why}")
        try:
            outs = apply_node(g, op, _attrs(node), ins[0], ins[1:], batch)
        except NNCellsError as e:
            raise ModelError(f"{label}: {e}") from None
        for out, v in zip(node.output, outs):
            values[out] = v
    if len(graph.output) != 1:
        raise ModelError(f"the ONNX graph has {len(graph.output)} outputs; exactly one is supported")
    result = values.get(graph.output[0].name)
    ignored = []
    if isinstance(result, Final):
        ignored, result = result.ops, result.value
    if not isinstance(result, Expr):
        raise ModelError("the output of the ONNX graph does not depend on its input")
    return g.finish(result, ignored), shape


# ------------------------------------------------------------- verification
def _float64_model(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` computing in float64 (initializers, constants, declared types, casts)."""
    onnx = _onnx()
    from onnx import ModelProto, TensorProto, numpy_helper
    m = ModelProto()
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


def _logits_model(m: onnx.ModelProto) -> onnx.ModelProto:
    """``m`` (modified in place) without its final Softmax / Sigmoid / LogSoftmax nodes (and
    Identity / Dropout after them): its output is what the first of them receives."""
    onnx = _onnx()
    g = m.graph
    producer = {o: node for node in g.node for o in node.output}
    out = g.output[0].name
    dropped = []
    while out in producer and producer[out].op_type in FINAL_OPS + _PASS:
        dropped.append(producer[out])
        out = producer[out].input[0]
    keep = [node for node in g.node if all(node is not d for d in dropped)]
    del g.node[:]
    g.node.extend(keep)
    elem = g.output[0].type.tensor_type.elem_type
    del g.output[:]
    g.output.append(onnx.helper.make_tensor_value_info(out, elem, None))
    return m


def onnx_forward(model: onnx.ModelProto, logits: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """A numpy float64 forward function of the original graph: onnxruntime when it can run the
    float64 graph, else the ``onnx.reference`` evaluator. When the graph fixes its batch size
    (an export without dynamic axes), inputs are fed in batches of exactly that size. With
    ``logits=True`` the graph's final Softmax, Sigmoid or LogSoftmax nodes (those a conversion
    drops) are removed first: the function returns what the graph computes before them.

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
    if logits:
        m = _logits_model(m)
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
        run = lambda X: cast("list[Any]", ref.run(None, {name: X}))[0]  # noqa: E731

    def forward(X: np.ndarray) -> np.ndarray:
        try:
            return _batched(X)
        except Exception as e:  # noqa: BLE001 - onnxruntime and onnx.reference raise many kinds
            raise ModelError(f"cannot run the ONNX graph to check the conversion ({' '.join(str(e).split())})") from None

    def _batched(X: np.ndarray) -> np.ndarray:
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


def from_onnx(model: onnx.ModelProto, input_shape: Sequence[int] | None = None, verify: bool = True,
              n_verify: int = 256) -> Network:
    """Convert an ONNX model (``onnx.ModelProto``) into the exact `Network` it computes.

    Parameters
    ----------
    model : onnx.ModelProto
    input_shape : tuple of int, optional
        Shape of one sample, when the graph does not declare it.
    verify : bool
        Evaluate the original graph in float64 (onnxruntime, or onnx's reference evaluator
        for ops onnxruntime has no float64 kernel for) on ``n_verify`` random inputs and
        raise `NNCellsError` if the network differs by more than 1e-9 (relative). If a final
        Softmax / Sigmoid / LogSoftmax was dropped, the graph is run without it.

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
        verify_conversion(onnx_forward(model, logits=bool(net.ignored_output_ops)), net, shape, n=n_verify)
    return net


def load_onnx(path: str | os.PathLike[str], input_shape: Sequence[int] | None = None,
              verify: bool = True) -> Network:
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
