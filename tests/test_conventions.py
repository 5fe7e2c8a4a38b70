"""The spec accepts every convention the contract allows: the layouts of recurrent weights, and
code written for the course's NumPy 1.26.

`weights` of the RNN and the LSTM may be (input + hidden + 1, blocks * hidden) or its
transpose, with x_t and h_{t-1} in either order and, for the LSTM, the four gate blocks in any
order. Each variant here is the reference solution with one text edit: an adapter appended to
Layers/RNN.py and Layers/LSTM.py that exposes `weights` and `gradient_weights` in another
allowed layout (the same layer seen through a permutation). The RNN and LSTM sections must
pass every variant, as they pass the reference.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.mutants import copy_of_solution, edit
from tests.test_graders import earned, graders, load_report, write_rubric

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solution"

ADAPTER = """

# --- variant for tests/test_conventions.py: the same layer, `weights` in another layout ---
_Canonical = {kind}
_TRANSPOSED, _X_FIRST, _GATE_ORDER = {transposed}, {x_first}, {gate_order}


def _permutations(rows, columns):
    hidden = columns // len(_GATE_ORDER)
    inputs = rows - hidden - 1
    x, h = list(range(inputs)), list(range(inputs, inputs + hidden))
    row_order = (x + h if _X_FIRST else h + x) + [rows - 1]
    column_order = [g * hidden + k for g in _GATE_ORDER for k in range(hidden)]
    return row_order, column_order


def _exposed(canonical):
    row_order, column_order = _permutations(*canonical.shape)
    arranged = canonical[row_order][:, column_order]
    return arranged.T if _TRANSPOSED else arranged


def _canonical(exposed):
    arranged = np.asarray(exposed).T if _TRANSPOSED else np.asarray(exposed)
    row_order, column_order = _permutations(*arranged.shape)
    canonical = np.empty_like(arranged)
    canonical[np.ix_(row_order, column_order)] = arranged
    return canonical


def _delegate(name):
    return property(lambda self: getattr(self._inner, name),
                    lambda self, value: setattr(self._inner, name, value))


class {kind}(BaseLayer):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.trainable = True
        self._inner = _Canonical(input_size, hidden_size, output_size)

    memorize = _delegate("memorize")
    optimizer = _delegate("optimizer")

    @property
    def weights(self):
        return _exposed(self._inner.weights)

    @weights.setter
    def weights(self, weights):
        self._inner.weights = _canonical(weights)

    @property
    def gradient_weights(self):
        return _exposed(self._inner.gradient_weights)

    def initialize(self, weights_initializer, bias_initializer):
        self._inner.initialize(weights_initializer, bias_initializer)

    def forward(self, input_tensor):
        return self._inner.forward(input_tensor)

    def backward(self, error_tensor):
        return self._inner.backward(error_tensor)
"""

# name: {kind: (transposed, x_first, gate_order)}; gate indices into [f, i, c~, o]
VARIANTS = {
    "transposed": {"RNN": (True, True, (0,)), "LSTM": (True, False, (3, 2, 0, 1))},
    "hidden_first": {"RNN": (False, False, (0,)), "LSTM": (False, True, (1, 0, 2, 3))},
    "transposed_hidden_first": {"RNN": (True, False, (0,)), "LSTM": (True, False, (2, 1, 3, 0))},
}


def make_variant(target: Path, layouts: dict) -> Path:
    copy = shutil.copytree(SOLUTION, target, ignore=shutil.ignore_patterns("__pycache__"))
    for kind, (transposed, x_first, gate_order) in layouts.items():
        module = copy / "Layers" / f"{kind}.py"
        adapter = ADAPTER.format(
            kind=kind, transposed=transposed, x_first=x_first, gate_order=gate_order
        )
        module.write_text(module.read_text() + adapter)
    return copy


def run_spec(solution: Path, *files: str) -> subprocess.CompletedProcess:
    """`pytest FILES --solution=SOLUTION` in this process's environment, as a student runs it.
    (With `--solution SOLUTION`, two words, pytest would take the folder for a test path and
    load a conftest.py from it.)"""
    options = ["-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-rfEs", "--tb=line"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *files, *options, f"--solution={solution}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def graded(solution: Path, rubric: str, folder: Path) -> dict:
    """report.json of `python -m graders grade` with that rubric (the text of a rubric file)."""
    out = folder / "out"
    done = graders("grade", solution, "--rubric", write_rubric(folder, rubric), "--out", out)
    assert done.returncode == 0, done.stderr
    return load_report(out)


@pytest.mark.parametrize("variant", VARIANTS)
def test_spec_accepts_the_layout(variant, tmp_path):
    solution = make_variant(tmp_path / "solution", VARIANTS[variant])
    result = run_spec(solution, "spec/test_rnn.py", "spec/test_lstm.py")
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, f"{variant}: the spec rejects an allowed layout\n{result.stdout}"
    assert not re.search(r"skipped|deselected|error", summary), summary


# -- code written for the course's NumPy 1.26 (README, "Environment") ---------------------------

NUMPY_1_26 = [  # (file, find, replace): what real submissions do
    (  # an unused import from a module NumPy 2 moved
        "Layers/BatchNormalization.py",
        "import numpy as np\n",
        "import numpy as np\nfrom numpy.lib.function_base import average  # noqa: F401\n",
    ),
    (  # class-level annotations NumPy 2 rejects (evaluated when the class is made)
        "NeuralNetwork.py",
        "import pickle\n",
        "import pickle\n\nimport numpy as np\n",
    ),
    (
        "NeuralNetwork.py",
        '    """A chain of layers fed by a data layer and closed by a loss layer."""\n',
        '    """A chain of layers fed by a data layer and closed by a loss layer."""\n\n'
        "    input_tensor: np.ndarray(shape=None)\n    label_tensor: np.ndarray(shape=None)\n",
    ),
    (  # an alias NumPy 1.24 removed
        "Layers/Dropout.py",
        "return input_tensor * self.keep / self.probability",
        "return input_tensor * self.keep.astype(np.float) / self.probability",
    ),
]
NUMPY_1_26_SECTIONS = {"BatchNorm": 25.0, "NeuralNetwork": 20.0, "Dropout": 5.0}


@pytest.fixture(scope="module")
def written_for_numpy_1_26(tmp_path_factory) -> Path:
    copy = copy_of_solution(tmp_path_factory.mktemp("numpy") / "solution")
    for file, find, replacement in NUMPY_1_26:
        edit(copy / file, find, replacement)
    return copy


def test_code_written_for_numpy_1_26_passes_in_process(written_for_numpy_1_26):
    files = ["spec/test_batchnorm.py", "spec/test_neural_network.py", "spec/test_dropout.py"]
    done = run_spec(written_for_numpy_1_26, *files)
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.mark.timeout(900)
def test_code_written_for_numpy_1_26_gets_full_marks_from_the_graders(
    written_for_numpy_1_26, tmp_path
):
    sections = "".join(f"{name} = {points:g}\n" for name, points in NUMPY_1_26_SECTIONS.items())
    report = graded(written_for_numpy_1_26, f"[exercise]\n{sections}", tmp_path)
    assert earned(report) == NUMPY_1_26_SECTIONS, report["tests"]
