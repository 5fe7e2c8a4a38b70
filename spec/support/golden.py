"""Golden arrays from the PyTorch oracle (reference_data/, see its README.md for every key).

    case = golden.load("conv_2d_stride2")
    assert_close(layer.forward(case["input"]), case["output"], **golden.EXACT, what="forward")

Reading them needs NumPy only; scripts/make_reference_data.py (with torch) writes them.
The tolerances below are for float64 results; `assert_close` widens them to float32 precision
for a float32 result (checks.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

REFERENCE_DATA = Path(__file__).resolve().parents[2] / "reference_data"

# Keyword arguments for checks.assert_close. rtol carries the check; atol only keeps
# entries that cancel to about zero (gradient sums) from failing on rounding noise.

# Same formula in float64, only the order of floating-point operations differs: rounding
# errors stay near 1e-14, four orders of magnitude inside.
EXACT = {"rtol": 1e-10, "atol": 1e-12}

# BatchNormalization: the oracle's epsilon is 1e-11 and the contract allows any epsilon below
# 1e-10. With batch variances of order 1 that moves outputs and gradients by about 1e-10
# relative; 1e-8 accepts every allowed epsilon and still fails any formula slip.
BATCH_NORM = {"rtol": 1e-8, "atol": 1e-8}

# Adam: epsilon is only "about 1e-8" and submissions place it inside or outside the square
# root. The golden gradients keep sqrt(r_hat) >= 0.5, so any such choice moves the weights by
# well under 1e-6, while a wrong bias correction or moment formula moves them by about 1e-2.
ADAM = {"rtol": 1e-6, "atol": 1e-6}


def names(prefix: str = "") -> list[str]:
    """The golden files whose name starts with prefix, without .npz: for parametrizing."""
    return sorted(path.stem for path in REFERENCE_DATA.glob(f"{prefix}*.npz"))


def load(name: str) -> dict[str, np.ndarray]:
    """Every array of reference_data/<name>.npz, by key."""
    path = REFERENCE_DATA / f"{name.removesuffix('.npz')}.npz"
    if not path.is_file():
        raise FileNotFoundError(
            f"no golden file {path.name} in {REFERENCE_DATA}; the files are committed, and "
            "`python scripts/make_reference_data.py` (needs torch) regenerates them"
        )
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}
