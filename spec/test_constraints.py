"""Constraints: weight penalties, and optimizers that apply them.

Requirement (exercise 3, regularization): implement in `Optimization.Constraints`
- `L2_Regularizer(alpha)`: `calculate_gradient(w) = alpha * w`, `norm(w) = alpha * sum(w**2)`;
- `L1_Regularizer(alpha)`: `calculate_gradient(w) = alpha * sign(w)`,
  `norm(w) = alpha * sum(abs(w))`.
Then refactor the optimizers: they share a base class `Optimization.Optimizers.Optimizer`
whose `regularizer` is None until `add_regularizer(regularizer)` sets it. With a regularizer,
`calculate_update(w, g)` first shrinks the weights it was given,
`w - learning_rate * regularizer.calculate_gradient(w)`, and then takes the optimizer's own
step from `g`. That holds for `Sgd`, `SgdWithMomentum` and `Adam` alike.

The optimizers' own steps are graded in the Optimizers section. Here an optimizer with a
regularizer is compared with the same kind of optimizer without one, fed the shrunk weights:
the two must agree whatever the optimizer's step is. Your optimizers get your regularizers
(they may recognise no others).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spec.support import as_array, as_float, assert_close

pytestmark = pytest.mark.section("Constraints")

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)
alphas = st.floats(0.01, 1.0)

# The contract's penalties, computed here: name -> (gradient, norm)
PENALTIES = {
    "L2_Regularizer": (lambda w, a: a * w, lambda w, a: a * np.sum(w**2)),
    "L1_Regularizer": (lambda w, a: a * np.sign(w), lambda w, a: a * np.sum(np.abs(w))),
}

# name -> constructor arguments, passed positionally
OPTIMIZERS = {
    "Sgd": (0.1,),
    "SgdWithMomentum": (0.1, 0.9),
    "Adam": (0.05, 0.9, 0.999),
}


def weights_with_both_signs(shape, seed):
    """Weights away from zero (where sign jumps), of either sign."""
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 2.0, shape)


@pytest.mark.parametrize("name", PENALTIES)
@given(shape=shapes, alpha=alphas, seed=st.integers(0, 2**16))
@settings(max_examples=10)
def test_regularizer_gradient(sub, name, shape, alpha, seed):
    """calculate_gradient(w) is alpha * w for L2 and alpha * sign(w) for L1."""
    w = weights_with_both_signs(shape, seed)
    regularizer = getattr(sub.Optimization.Constraints, name)(alpha)
    gradient, _ = PENALTIES[name]
    assert_close(
        regularizer.calculate_gradient(w),
        gradient(w, alpha),
        rtol=1e-12,
        what=f"{name}({alpha:.3g}).calculate_gradient",
    )


@pytest.mark.parametrize("name", PENALTIES)
@given(shape=shapes, alpha=alphas, seed=st.integers(0, 2**16))
@settings(max_examples=10)
def test_regularizer_norm(sub, name, shape, alpha, seed):
    """norm(w) is alpha * sum(w**2) for L2 and alpha * sum(abs(w)) for L1."""
    w = weights_with_both_signs(shape, seed)
    regularizer = getattr(sub.Optimization.Constraints, name)(alpha)
    _, norm = PENALTIES[name]
    value = as_float(regularizer.norm(w), f"{name}.norm")
    assert_close(value, norm(w, alpha), rtol=1e-12, what=f"{name}({alpha:.3g}).norm")


def test_optimizers_share_the_base_class(sub):
    """Sgd, SgdWithMomentum and Adam derive from the base class Optimizers.Optimizer."""
    optimizers = sub.Optimization.Optimizers
    for name in OPTIMIZERS:
        lineage = getattr(optimizers, name).__mro__
        assert any(sub.same(cls, optimizers.Optimizer) for cls in lineage), (
            f"{name} should be a subclass of Optimizer"
        )


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_regularizer_is_none_until_added(sub, name):
    """Every optimizer starts with regularizer None; add_regularizer(r) sets it to r."""
    optimizer = getattr(sub.Optimization.Optimizers, name)(*OPTIMIZERS[name])
    assert optimizer.regularizer is None, f"{name}(...).regularizer should start as None"
    optimizer.add_regularizer(sub.Optimization.Constraints.L2_Regularizer(0.1))
    regularizer = optimizer.regularizer
    assert regularizer is not None and sub.type_name(regularizer) == "L2_Regularizer", (
        f"after add_regularizer(L2_Regularizer(0.1)), {name}(...).regularizer should be that "
        f"regularizer, got {regularizer!r}"
    )


@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("name", OPTIMIZERS)
@given(shape=shapes, alpha=alphas, seed=st.integers(0, 2**16))
@settings(max_examples=8)
def test_update_shrinks_the_given_weights_first(sub, name, penalty, shape, alpha, seed):
    """With a regularizer, calculate_update(w, g) equals the same optimizer without one given
    w - learning_rate * regularizer.calculate_gradient(w), step after step."""
    arguments = OPTIMIZERS[name]
    learning_rate = arguments[0]
    kind = getattr(sub.Optimization.Optimizers, name)
    regularized, plain = kind(*arguments), kind(*arguments)
    regularized.add_regularizer(getattr(sub.Optimization.Constraints, penalty)(alpha))
    gradient_of_penalty, _ = PENALTIES[penalty]

    rng = np.random.default_rng([seed, 1])  # gradients independent of the weights
    w = weights_with_both_signs(shape, seed)
    for step in range(1, 5):
        g = rng.normal(size=shape)
        shrunk = w - learning_rate * gradient_of_penalty(w, alpha)
        expected = as_array(plain.calculate_update(shrunk, g), f"{name} without regularizer")
        w = assert_close(
            regularized.calculate_update(w, g),
            expected,
            rtol=1e-9,
            atol=1e-12,
            what=f"{name} with {penalty}({alpha:.3g}), step {step}",
        )
