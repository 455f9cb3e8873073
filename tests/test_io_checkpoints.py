"""One network in every format gives the same regions; unsafe pickles are refused unexecuted."""
import io
import json
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from nncells import Box, NNCellsError, enumerate_regions  # noqa: E402
from nncells.models import load_model  # noqa: E402


def _mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 1)).eval()


def _save_all(model, tmp_path):
    """The same network as .npz, state dict .pt, TorchScript (.pt and .ts) and .onnx."""
    paths = {}
    Ws = [m.weight.detach().double().numpy() for m in model if isinstance(m, nn.Linear)]
    bs = [m.bias.detach().double().numpy() for m in model if isinstance(m, nn.Linear)]
    np.savez(tmp_path / "m.npz", **{f"W{i}": W for i, W in enumerate(Ws)}, **{f"b{i}": b for i, b in enumerate(bs)})
    paths["npz"] = tmp_path / "m.npz"
    torch.save(model.state_dict(), tmp_path / "sd.pt")
    paths["state_dict"] = tmp_path / "sd.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(model)
        scripted.save(str(tmp_path / "script.pt"))
        scripted.save(str(tmp_path / "script.ts"))
        paths["torchscript_pt"], paths["torchscript_ts"] = tmp_path / "script.pt", tmp_path / "script.ts"
        if pytest.importorskip("onnx"):
            f = io.BytesIO()
            torch.onnx.export(model.double(), torch.zeros(1, 2, dtype=torch.float64), f, dynamo=False)
            model.float()
            (tmp_path / "m.onnx").write_bytes(f.getvalue())
            paths["onnx"] = tmp_path / "m.onnx"
    return paths


def test_same_network_in_every_format_gives_same_regions(tmp_path):
    model = _mlp()
    paths = _save_all(model, tmp_path)
    results = {k: enumerate_regions(load_model(p), Box(-2, 2)) for k, p in paths.items()}
    ref = results["npz"]
    assert ref.count > 5
    for name, res in results.items():
        assert res.count == ref.count, name
        assert np.array_equal(np.asarray(res.patterns), np.asarray(ref.patterns)), name
    nets = {k: load_model(p) for k, p in paths.items()}
    X = np.random.default_rng(0).normal(size=(50, 2))
    for name, net in nets.items():
        assert np.allclose(net.forward(X), nets["npz"].forward(X), rtol=1e-12, atol=1e-12), name


def test_state_dict_variants(tmp_path):
    class Named(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.out = nn.Linear(3, 4), nn.Linear(4, 4, bias=False), nn.Linear(4, 2)

    m = Named()
    torch.save({"epoch": 3, "model_state_dict": m.state_dict()}, tmp_path / "ckpt.pth")
    net = load_model(tmp_path / "ckpt.pth")
    assert net.widths == [4, 4]
    assert np.array_equal(net.weights[1], m.fc2.weight.detach().double().numpy())
    assert np.all(net.biases[1] == 0)
    with pytest.raises(NNCellsError, match="does not fit"):
        load_model(tmp_path / "ckpt.pth", input_shape=(5,))


def test_state_dict_with_conv_or_batchnorm_is_refused(tmp_path):
    conv = nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 1))
    torch.save(conv.state_dict(), tmp_path / "conv.pt")
    with pytest.raises(NNCellsError, match="4-D weight.*TorchScript"):
        load_model(tmp_path / "conv.pt")
    bn = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    torch.save(bn.state_dict(), tmp_path / "bn.pt")
    with pytest.raises(NNCellsError, match="running_mean"):
        load_model(tmp_path / "bn.pt")


class _Evil:
    """Unpickling this would create the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


@pytest.mark.parametrize("ext", [".pt", ".pth"])
def test_code_executing_pickle_is_refused_without_running_it(tmp_path, ext):
    marker = tmp_path / "pwned"
    bad = tmp_path / f"evil{ext}"
    torch.save({"weight": _Evil(str(marker))}, bad)              # zip format
    raw = tmp_path / f"raw{ext}"
    raw.write_bytes(pickle.dumps(_Evil(str(marker))))             # legacy raw pickle
    for path in (bad, raw):
        with pytest.raises(NNCellsError, match="arbitrary code execution"):
            load_model(path)
        assert not marker.exists()
    pickle.loads(raw.read_bytes())                                # the file really is dangerous
    assert marker.exists()


def test_whole_pickled_module_is_refused_with_advice(tmp_path):
    torch.save(_mlp(), tmp_path / "whole.pt")
    with pytest.raises(NNCellsError, match=r"arbitrary code execution.*state_dict.*torch.jit.*onnx"):
        load_model(tmp_path / "whole.pt")


@pytest.mark.parametrize("kind", ["module", "evil_zip", "evil_raw"])
def test_pickle_refusal_is_one_clean_line(tmp_path, kind):
    path = tmp_path / "bad.pt"
    if kind == "module":
        torch.save(_mlp(), path)
    elif kind == "evil_zip":
        torch.save({"weight": _Evil(str(tmp_path / "pwned"))}, path)
    else:
        path.write_bytes(pickle.dumps(_Evil(str(tmp_path / "pwned"))))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(NNCellsError) as info:
            load_model(path)
    msg = str(info.value)
    assert "\n" not in msg and "\x1b" not in msg and "\t" not in msg
    assert len(msg) < len(str(path)) + 600
    assert "arbitrary code execution" in msg and "torch.jit.script" in msg and "state_dict" in msg
    assert "weights_only" not in msg            # torch's own advice (load it unsafely) is not repeated
    assert not (tmp_path / "pwned").exists()
    assert [str(w.message) for w in seen] == []


def test_torchscript_conv_model_needs_and_uses_input_shape(tmp_path):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 1)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.script(m).save(str(tmp_path / "conv.ts"))
    with pytest.raises(NNCellsError, match="Conv2d.*input.shape"):
        load_model(tmp_path / "conv.ts")
    assert load_model(tmp_path / "conv.ts", input_shape=(1, 3, 3)).widths == [8]


def test_garbage_and_unknown_files(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"\x00\x01junk")
    with pytest.raises(NNCellsError, match="junk.pt"):
        load_model(tmp_path / "junk.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(NNCellsError, match="not a state dict"):
        load_model(tmp_path / "list.pt")
    (tmp_path / "m.h5").write_bytes(b"x")
    with pytest.raises(NNCellsError, match="unknown model format"):
        load_model(tmp_path / "m.h5")


def _has_enumerate_command():
    import importlib.util
    return importlib.util.find_spec("nncells.cli.enumerate_cmd") is not None


@pytest.mark.skipif(not _has_enumerate_command(), reason="the enumerate command is not written yet")
def test_cli_enumerate_onnx_and_state_dict(tmp_path):
    paths = _save_all(_mlp(), tmp_path)
    counts = {}
    for name in ("npz", "onnx", "state_dict", "torchscript_ts"):
        proc = subprocess.run([sys.executable, "-m", "nncells", "enumerate", str(paths[name]), "--box", "-1", "1",
                               "--json"], capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"},
                              timeout=300)
        assert proc.returncode == 0, proc.stderr
        counts[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    ref = counts["npz"]
    key = "count" if "count" in ref else "regions"
    assert all(c[key] == ref[key] for c in counts.values())
