"""The golden files of reference_data/: the manifest describes them exactly, the script remakes
them byte for byte, and the reference solution matches every golden array.

The spec compares submissions against these arrays, so this is where the PyTorch oracle and our
NumPy solution are shown to agree. Nothing here needs torch except the regeneration test.
"""

import hashlib
import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spec.support import golden

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "make_reference_data.py"
MANIFEST = json.loads((golden.REFERENCE_DATA / "MANIFEST.json").read_text())["files"]


def tolerance(name):
    return getattr(golden, MANIFEST[f"{name}.npz"]["tolerance"])


def assert_matches(actual, expected, name, what):
    np.testing.assert_allclose(actual, expected, **tolerance(name), err_msg=f"{name}: {what}")


# --- the files ----------------------------------------------------------------------------


def test_manifest_lists_exactly_the_npz_files():
    assert {path.name for path in golden.REFERENCE_DATA.glob("*.npz")} == set(MANIFEST)


@pytest.mark.parametrize("filename", sorted(MANIFEST))
def test_file_matches_its_manifest_entry(filename):
    entry = MANIFEST[filename]
    path = golden.REFERENCE_DATA / filename
    assert path.is_file(), f"{filename} is in the manifest but not in reference_data/"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    arrays = golden.load(filename)
    shapes = {key: {"shape": list(a.shape), "dtype": str(a.dtype)} for key, a in arrays.items()}
    assert shapes == entry["arrays"]
    assert isinstance(getattr(golden, entry["tolerance"]), dict)


def test_folder_stays_small():
    assert sum(path.stat().st_size for path in golden.REFERENCE_DATA.iterdir()) < 1_000_000


def test_load_names_a_missing_file_and_the_script():
    with pytest.raises(FileNotFoundError, match=r"no_such_case\.npz.*make_reference_data"):
        golden.load("no_such_case")


def test_regenerating_gives_the_committed_bytes():
    pytest.importorskip("torch")
    check = [sys.executable, SCRIPT, "--check"]
    result = subprocess.run(check, capture_output=True, text=True, timeout=110, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# None in sys.modules makes `import torch` fail as if torch were not installed.
WITHOUT_TORCH = (
    "import runpy, sys; sys.modules['torch'] = None; "
    "runpy.run_path(sys.argv.pop(1), run_name='__main__')"
)


def test_script_without_torch_says_what_to_install(tmp_path):
    command = [sys.executable, "-c", WITHOUT_TORCH, SCRIPT, "--out", tmp_path]
    result = subprocess.run(command, cwd=SCRIPT.parent, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "pip install torch" in result.stderr
    assert "Traceback" not in result.stderr


# --- the reference solution against the golden arrays ---------------------------------------


@pytest.fixture(scope="module")
def solution():
    """import_module for the bundled solution's contract names (`Layers.Conv`), which are
    forgotten again afterwards so other tests can load other solutions."""
    saved_path, saved_modules = sys.path[:], set(sys.modules)
    sys.path.insert(0, str(REPO / "solution"))
    yield importlib.import_module
    sys.path[:] = saved_path
    for name in set(sys.modules) - saved_modules:
        del sys.modules[name]


@pytest.mark.parametrize("name", golden.names("conv_"))
def test_conv(solution, name):
    case = golden.load(name)
    weights = case["weights"]
    stride = tuple(case["stride"].tolist())
    conv = solution("Layers.Conv").Conv(stride, weights.shape[1:], weights.shape[0])
    conv.weights, conv.bias = weights, case["bias"]
    assert_matches(conv.forward(case["input"]), case["output"], name, "forward")
    assert_matches(conv.backward(case["error"]), case["grad_input"], name, "backward")
    assert_matches(conv.gradient_weights, case["grad_weights"], name, "gradient_weights")
    assert_matches(conv.gradient_bias, case["grad_bias"], name, "gradient_bias")


@pytest.mark.parametrize("name", golden.names("pooling_"))
def test_pooling(solution, name):
    case = golden.load(name)
    stride, shape = (
        tuple(case["stride"].tolist()),
        tuple(case["pooling_shape"].tolist()),
    )
    pooling = solution("Layers.Pooling").Pooling(stride, shape)
    assert_matches(pooling.forward(case["input"]), case["output"], name, "forward")
    assert_matches(pooling.backward(case["error"]), case["grad_input"], name, "backward")


@pytest.mark.parametrize("name", golden.names("softmax_"))
def test_softmax_with_cross_entropy(solution, name):
    case = golden.load(name)
    softmax = solution("Layers.SoftMax").SoftMax()
    loss = solution("Optimization.Loss").CrossEntropyLoss()
    prediction = softmax.forward(case["input"])
    assert_matches(prediction, case["prediction"], name, "SoftMax.forward")
    assert_matches(loss.forward(prediction, case["label"]), case["loss"], name, "loss")
    loss_error = loss.backward(case["label"])
    assert_matches(loss_error, case["loss_error"], name, "CrossEntropyLoss.backward")
    assert_matches(softmax.backward(loss_error), case["grad_input"], name, "SoftMax.backward")


OPTIMIZERS = {  # file name part: class, constructor arguments in order
    "sgd": ("Sgd", ["learning_rate"]),
    "momentum": ("SgdWithMomentum", ["learning_rate", "momentum_rate"]),
    "adam": ("Adam", ["learning_rate", "mu", "rho"]),
}


@pytest.mark.parametrize("name", golden.names("optimizer_"))
def test_optimizer_trajectory(solution, name):
    case = golden.load(name)
    class_name, arguments = OPTIMIZERS[name.split("_")[1]]
    optimizer = getattr(solution("Optimization.Optimizers"), class_name)(
        *(case[argument].item() for argument in arguments)
    )
    regularizer = case["regularizer"].item()
    if regularizer != "none":
        constraints = solution("Optimization.Constraints")
        optimizer.add_regularizer(
            getattr(constraints, f"{regularizer}_Regularizer")(case["alpha"].item())
        )
    weights = case["weights0"]
    steps = zip(case["gradients"], case["weights"], strict=True)
    for step, (gradient, expected) in enumerate(steps, 1):
        weights = optimizer.calculate_update(weights, gradient)
        assert_matches(weights, expected, name, f"step {step}")


def test_dropout(solution):
    # The contract cannot inject a mask, so the layer's own mask is read off its output (the
    # input has no zeros) and the golden formula is applied with it.
    case = golden.load("dropout")
    p = case["probability"].item()
    np.testing.assert_array_equal(case["output"], case["input"] * case["mask"] / p)
    dropout = solution("Layers.Dropout").Dropout(p)
    output = dropout.forward(case["input"])
    mask = output != 0
    assert_matches(output, case["input"] * mask / p, "dropout", "forward")
    grad_input = dropout.backward(case["error"])
    assert_matches(grad_input, case["error"] * mask / p, "dropout", "backward")


def batch_norm(solution, case):
    layer = solution("Layers.BatchNormalization").BatchNormalization(len(case["gamma"]))
    layer.weights, layer.bias = case["gamma"], case["beta"]
    return layer


@pytest.mark.parametrize("name", ["batchnorm_vector_train", "batchnorm_image_train"])
def test_batch_norm_train_phase(solution, name):
    case = golden.load(name)
    layer = batch_norm(solution, case)
    assert_matches(layer.forward(case["input"]), case["output"], name, "forward")
    assert_matches(layer.backward(case["error"]), case["grad_input"], name, "backward")
    assert_matches(layer.gradient_weights, case["grad_weights"], name, "gradient_weights")
    assert_matches(layer.gradient_bias, case["grad_bias"], name, "gradient_bias")


@pytest.mark.parametrize(
    "name", ["batchnorm_vector_moving_average", "batchnorm_image_moving_average"]
)
def test_batch_norm_test_phase_uses_moving_averages(solution, name):
    case = golden.load(name)
    layer = batch_norm(solution, case)
    for batch in case["batches"]:
        layer.forward(batch)
    layer.testing_phase = True
    assert_matches(layer.forward(case["test_input"]), case["test_output"], name, "test phase")


def recurrent_layer(solution, name, case, input_size, output_size):
    kind = "LSTM" if name.startswith("lstm") else "RNN"
    hidden_size = case["weights"].shape[0] - input_size - 1
    layer = getattr(solution(f"Layers.{kind}"), kind)(input_size, hidden_size, output_size)
    # The output layer is reachable only through initialize: every weight wy, every bias by.
    initializers = solution("Layers.Initializers")
    layer.initialize(
        initializers.Constant(case["wy"].item()),
        initializers.Constant(case["by"].item()),
    )
    layer.weights = case["weights"]
    return layer


@pytest.mark.parametrize("name", ["rnn", "lstm"])
def test_recurrent_sequence(solution, name):
    case = golden.load(name)
    layer = recurrent_layer(solution, name, case, case["input"].shape[1], case["output"].shape[1])
    assert_matches(layer.forward(case["input"]), case["output"], name, "forward")
    assert_matches(layer.backward(case["error"]), case["grad_input"], name, "backward")
    assert_matches(layer.gradient_weights, case["grad_weights"], name, "gradient_weights")


@pytest.mark.parametrize("name", ["rnn_memorize", "rnn_reset", "lstm_memorize", "lstm_reset"])
def test_recurrent_two_calls(solution, name):
    case = golden.load(name)
    layer = recurrent_layer(solution, name, case, case["input1"].shape[1], case["output1"].shape[1])
    layer.memorize = case["memorize"].item()
    for call in (1, 2):
        output = layer.forward(case[f"input{call}"])
        assert_matches(output, case[f"output{call}"], name, f"call {call} forward")
        grad_input = layer.backward(case[f"error{call}"])
        assert_matches(grad_input, case[f"grad_input{call}"], name, f"call {call} backward")
        gradient = layer.gradient_weights
        assert_matches(gradient, case[f"grad_weights{call}"], name, f"call {call} gradient_weights")


def test_lenet_forward(solution):
    case = golden.load("lenet_forward")
    net = solution("Models.LeNet").build()
    convs = [layer for layer in net.layers if type(layer).__name__ == "Conv"]
    dense = [layer for layer in net.layers if type(layer).__name__ == "FullyConnected"]
    for layer, prefix in zip(convs, ["conv1", "conv2"], strict=True):
        layer.weights, layer.bias = case[f"{prefix}_weights"], case[f"{prefix}_bias"]
    for layer, prefix in zip(dense, ["fc1", "fc2", "fc3"], strict=True):
        layer.weights = case[f"{prefix}_weights"]
    output = case["input"]
    for layer in net.layers:
        output = layer.forward(output)
    assert_matches(output, case["output"], "lenet_forward", "forward")
