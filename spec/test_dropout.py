"""Dropout: switching units off at random while training.

Requirement (exercise 3, regularization): implement `Layers.Dropout.Dropout(probability)`,
where `probability` is the chance to KEEP a unit. In the training phase `forward` is inverted
dropout: each unit is kept with that probability and then scaled by `1 / probability`, every
other unit becomes 0, so the expected output equals the input. `backward` applies the same
mask and the same scale to the error. In the test phase (`testing_phase = True`) the layer is
the identity. A new layer is in the training phase. Dropout has no parameters: it is not
trainable.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spec.support import as_array, assert_close, assert_shape, golden, random_error
from spec.support.protocol import (
    assert_not_trainable,
    assert_starts_in_training_phase,
    in_training_phase,
)

pytestmark = pytest.mark.section("Dropout")

probabilities = st.floats(0.1, 0.95)
shapes = st.lists(st.integers(1, 6), min_size=2, max_size=4).map(tuple)
LARGE = (100, 100)  # 10 000 units: the kept fraction is within 0.005 of p (one sigma)


def positive_input(shape, seed):
    """No zeros, so a zero in the output can only be a dropped unit."""
    return np.random.default_rng(seed).uniform(0.5, 2.0, shape)


def kept_mask(output, x, what="Dropout forward"):
    """The units the layer kept, read off its output for a positive input x."""
    return assert_shape(output, x.shape, what) != 0


def training(sub, p):
    """A Dropout(p) in the training phase."""
    return in_training_phase(sub.Layers.Dropout.Dropout(p))


def test_is_not_trainable(sub):
    """Dropout has no parameters: it is not trainable."""
    layer = sub.Layers.Dropout.Dropout(0.5)
    assert_not_trainable(sub, layer, "Dropout(0.5)")


def test_starts_in_the_training_phase(sub):
    """A new Dropout is in the training phase: testing_phase is False."""
    assert_starts_in_training_phase(sub, sub.Layers.Dropout.Dropout(0.5), "Dropout(0.5)")


@given(p=probabilities, shape=shapes, seed=st.integers(0, 2**16))
def test_kept_units_are_scaled_by_one_over_p(sub, p, shape, seed):
    """Training: every output is either 0 (dropped) or input / probability (kept)."""
    sub.seed(seed)
    x = positive_input(shape, seed)
    output = as_array(training(sub, p).forward(x), "Dropout forward")
    kept = kept_mask(output, x)
    assert_close(
        output[kept], x[kept] / p, rtol=1e-12, what=f"Dropout({p:.3g}) forward of the kept units"
    )


@given(p=probabilities, seed=st.integers(0, 2**16))
@settings(max_examples=10)
def test_fraction_kept_is_the_probability(sub, p, seed):
    """Training: each unit is kept with chance `probability` (not dropped with it)."""
    sub.seed(seed)
    x = positive_input(LARGE, seed)
    kept = kept_mask(training(sub, p).forward(x), x)
    bound = 6 * np.sqrt(p * (1 - p) / kept.size)
    assert abs(kept.mean() - p) <= bound, (
        f"Dropout({p:.3g}) kept {kept.mean():.3f} of the units, expected {p:.3f} +- {bound:.3f}"
    )


@given(p=probabilities, seed=st.integers(0, 2**16))
@settings(max_examples=10)
def test_expectation_is_kept(sub, p, seed):
    """Training: the mean output for an input of ones is 1 (inverted dropout)."""
    sub.seed(seed)
    output = as_array(training(sub, p).forward(np.ones(LARGE)), "Dropout forward")
    # The mean of kept / p has standard deviation sqrt((1 - p) / (p * n)); six of them
    # stay far below the 1 - p a missing 1 / p would cost.
    bound = 6 * np.sqrt((1 - p) / (p * output.size))
    assert abs(output.mean() - 1) <= bound, (
        f"Dropout({p:.3g}) of ones has mean {output.mean():.4f}, expected 1 +- {bound:.4f}"
    )


@given(p=probabilities, shape=shapes, seed=st.integers(0, 2**16))
def test_backward_applies_the_same_mask_and_scale(sub, p, shape, seed):
    """backward(error) is error * mask / probability with the mask of the last forward."""
    sub.seed(seed)
    x = positive_input(shape, seed)
    layer = training(sub, p)
    kept = kept_mask(layer.forward(x), x)
    error = random_error(shape, seed + 1)
    assert_close(
        layer.backward(error), error * kept / p, rtol=1e-12, what=f"Dropout({p:.3g}) backward"
    )


@given(p=probabilities, shape=shapes, seed=st.integers(0, 2**16))
@settings(max_examples=10)
def test_test_phase_is_the_identity(sub, p, shape, seed):
    """Test phase: forward returns its input unchanged, nothing dropped, nothing scaled."""
    x = np.random.default_rng(seed).normal(size=shape)
    layer = sub.Layers.Dropout.Dropout(p)
    layer.testing_phase = True
    assert_close(layer.forward(x), x, rtol=0, atol=0, what=f"Dropout({p:.3g}) in the test phase")


def test_golden_forward_and_backward(sub):
    """PyTorch oracle: output = x * mask / p and gradient = error * mask / p, with the mask
    the layer drew (read off its output)."""
    case = golden.load("dropout")
    p, x, error = float(case["probability"]), case["input"], case["error"]
    layer = training(sub, p)
    output = layer.forward(x)
    mask = kept_mask(output, x).astype(float)
    # The oracle's output holds for the oracle's mask; the layer draws its own.
    assert_close(output, x * mask / p, **golden.EXACT, what="Dropout forward")
    assert_close(layer.backward(error), error * mask / p, **golden.EXACT, what="Dropout backward")
