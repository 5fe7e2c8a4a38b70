"""The spec accepts every convention the contract allows for recurrent weights.

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


@pytest.mark.parametrize("variant", VARIANTS)
def test_spec_accepts_the_layout(variant, tmp_path):
    solution = make_variant(tmp_path / "solution", VARIANTS[variant])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "spec/test_rnn.py",
            "spec/test_lstm.py",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-rfEs",
            "--tb=line",
            "--solution",
            str(solution),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, f"{variant}: the spec rejects an allowed layout\n{result.stdout}"
    assert not re.search(r"skipped|deselected|error", summary), summary
