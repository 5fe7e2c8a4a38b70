"""Optimizers: the update rules that turn gradients into new weights.

Requirement (exercises 1 and 2): implement in `Optimization.Optimizers` the classes
`Sgd(learning_rate)`, `SgdWithMomentum(learning_rate, momentum_rate)` and
`Adam(learning_rate, mu, rho)`. Each has `calculate_update(weight_tensor, gradient_tensor)`,
which returns the new weights, for arrays and for plain scalars alike:

- Sgd:              `w - learning_rate * g`
- SgdWithMomentum:  `v = momentum_rate * v - learning_rate * g`, then `w + v` (v starts at 0)
- Adam:             `v = mu * v + (1 - mu) * g`, `r = rho * r + (1 - rho) * g**2` (both
                    start at 0), bias-corrected at step k as `v_hat = v / (1 - mu**k)`,
                    `r_hat = r / (1 - rho**k)`, then
                    `w - learning_rate * v_hat / (sqrt(r_hat) + eps)` with eps about 1e-8.

Momentum and Adam carry state from one call to the next; every optimizer object keeps its own.
(Regularizers and the regularized update belong to the Constraints section.)
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec.support import as_array, as_float, assert_close, golden

pytestmark = pytest.mark.section("Optimizers")

EXACT = {"rtol": 1e-12, "atol": 1e-12}
# Adam's eps is only "about 1e-8" and sits inside or outside the square root in submissions;
# gradients of magnitude >= 0.5 keep that choice below 1e-7 of a step.
ADAM = {"rtol": 1e-6, "atol": 1e-7}
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)
SCALAR_GRADIENTS = [2.0, -1.0, 0.5]


def trajectory(optimizer, weights, gradients):
    """The weights after each of several calculate_update calls. Plain numbers stay plain
    numbers: the result of one step is what the next step is given."""
    plain = as_float if isinstance(weights, float) else as_array
    result = []
    for gradient in gradients:
        weights = plain(optimizer.calculate_update(weights, gradient), "calculate_update")
        result.append(weights)
    return result


def assert_trajectory(got, expected, tolerance, what):
    for step, (weights, want) in enumerate(zip(got, expected, strict=True), start=1):
        assert_close(weights, want, **tolerance, what=f"{what} after step {step}")


def gradient_steps(shape, steps, seed):
    """Initial weights and gradients of magnitude 0.5 to 1.5 for several steps."""
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], (steps, *shape))
    return rng.normal(size=shape), list(signs * rng.uniform(0.5, 1.5, (steps, *shape)))


def sgd_reference(lr, weights, gradients):
    result = []
    for g in gradients:
        weights = weights - lr * g
        result.append(weights)
    return result


def momentum_reference(lr, momentum, weights, gradients):
    velocity, result = 0.0, []
    for g in gradients:
        velocity = momentum * velocity - lr * g
        weights = weights + velocity
        result.append(weights)
    return result


def adam_reference(lr, mu, rho, weights, gradients):
    v = r = 0.0
    result = []
    for k, g in enumerate(gradients, start=1):
        v = mu * v + (1 - mu) * g
        r = rho * r + (1 - rho) * g**2
        v_hat, r_hat = v / (1 - mu**k), r / (1 - rho**k)
        weights = weights - lr * v_hat / (np.sqrt(r_hat) + 1e-8)
        result.append(weights)
    return result


# -- Sgd --------------------------------------------------------------------------------------


@given(shape=shapes, seed=st.integers(0, 2**16))
def test_sgd_steps_against_the_gradient(sub, shape, seed):
    """Sgd returns w - learning_rate * g at every step."""
    weights, gradients = gradient_steps(shape, 3, seed)
    got = trajectory(sub.Optimization.Optimizers.Sgd(0.1), weights, gradients)
    assert_trajectory(got, sgd_reference(0.1, weights, gradients), EXACT, "Sgd")


def test_sgd_updates_scalars(sub):
    """Sgd works on plain numbers as well: 1.0 - 0.1 * 2.0 = 0.8, and so on."""
    got = trajectory(sub.Optimization.Optimizers.Sgd(0.1), 1.0, SCALAR_GRADIENTS)
    assert_trajectory(got, sgd_reference(0.1, 1.0, SCALAR_GRADIENTS), EXACT, "Sgd of a scalar")


# -- SgdWithMomentum --------------------------------------------------------------------------


@given(shape=shapes, seed=st.integers(0, 2**16))
def test_momentum_accumulates_a_velocity(sub, shape, seed):
    """SgdWithMomentum returns w + v with v = momentum_rate * v - learning_rate * g, over several
    steps."""
    weights, gradients = gradient_steps(shape, 4, seed)
    got = trajectory(sub.Optimization.Optimizers.SgdWithMomentum(0.1, 0.9), weights, gradients)
    expected = momentum_reference(0.1, 0.9, weights, gradients)
    assert_trajectory(got, expected, EXACT, "SgdWithMomentum")


def test_momentum_updates_scalars(sub):
    """SgdWithMomentum works on plain numbers, and keeps its velocity between them."""
    optimizer = sub.Optimization.Optimizers.SgdWithMomentum(0.1, 0.9)
    got = trajectory(optimizer, 1.0, SCALAR_GRADIENTS)
    expected = momentum_reference(0.1, 0.9, 1.0, SCALAR_GRADIENTS)
    assert_trajectory(got, expected, EXACT, "SgdWithMomentum of a scalar")


def test_momentum_state_belongs_to_each_optimizer(sub):
    """Two SgdWithMomentum objects do not share a velocity: a fresh one takes a plain first step."""
    weights, gradients = gradient_steps((2, 3), 2, 5)
    trajectory(sub.Optimization.Optimizers.SgdWithMomentum(0.1, 0.9), weights, gradients)
    fresh = sub.Optimization.Optimizers.SgdWithMomentum(0.1, 0.9)
    got = trajectory(fresh, weights, gradients[:1])
    assert_trajectory(got, [weights - 0.1 * gradients[0]], EXACT, "a new SgdWithMomentum")


# -- Adam -------------------------------------------------------------------------------------


@given(shape=shapes, seed=st.integers(0, 2**16))
def test_adam_follows_the_bias_corrected_moments(sub, shape, seed):
    """Adam returns w - learning_rate * v_hat / (sqrt(r_hat) + eps), over several steps."""
    weights, gradients = gradient_steps(shape, 4, seed)
    got = trajectory(sub.Optimization.Optimizers.Adam(0.05, 0.9, 0.999), weights, gradients)
    expected = adam_reference(0.05, 0.9, 0.999, weights, gradients)
    assert_trajectory(got, expected, ADAM, "Adam")


def test_adam_first_step_has_the_learning_rate_as_size(sub):
    """Bias correction makes Adam's first step learning_rate * sign(g), whatever mu and rho."""
    weights, gradient = np.array([0.5, -0.5, 2.0]), np.array([3.0, -0.7, 0.9])
    got = trajectory(sub.Optimization.Optimizers.Adam(0.01, 0.8, 0.99), weights, [gradient])
    assert_trajectory(got, [weights - 0.01 * np.sign(gradient)], ADAM, "Adam")


def test_adam_updates_scalars(sub):
    """Adam works on plain numbers, and keeps its moments between them."""
    optimizer = sub.Optimization.Optimizers.Adam(0.05, 0.9, 0.999)
    got = trajectory(optimizer, 1.0, SCALAR_GRADIENTS)
    expected = adam_reference(0.05, 0.9, 0.999, 1.0, SCALAR_GRADIENTS)
    assert_trajectory(got, expected, ADAM, "Adam of a scalar")


def test_adam_state_belongs_to_each_optimizer(sub):
    """Two Adam objects do not share moments or step counts: a fresh one takes a first step."""
    weights, gradients = gradient_steps((2, 3), 3, 6)
    trajectory(sub.Optimization.Optimizers.Adam(0.05, 0.9, 0.999), weights, gradients)
    fresh = sub.Optimization.Optimizers.Adam(0.05, 0.9, 0.999)
    got = trajectory(fresh, weights, gradients[:1])
    expected = adam_reference(0.05, 0.9, 0.999, weights, gradients[:1])
    assert_trajectory(got, expected, ADAM, "a new Adam")


# -- golden trajectories ----------------------------------------------------------------------


def from_case(optimizers, name, case):
    """The optimizer a golden file was made with, built from its hyperparameters."""
    lr = float(case["learning_rate"])
    if name == "optimizer_sgd":
        return optimizers.Sgd(lr)
    if name == "optimizer_momentum":
        return optimizers.SgdWithMomentum(lr, float(case["momentum_rate"]))
    return optimizers.Adam(lr, float(case["mu"]), float(case["rho"]))


@pytest.mark.parametrize(
    ("name", "tolerance"),
    [
        ("optimizer_sgd", golden.EXACT),
        ("optimizer_momentum", golden.EXACT),
        ("optimizer_adam", golden.ADAM),
    ],
    ids=["sgd", "momentum", "adam"],
)
def test_matches_the_golden_trajectory(sub, name, tolerance):
    """Five steps agree with the PyTorch oracle (reference_data/<name>.npz)."""
    case = golden.load(name)
    optimizer = from_case(sub.Optimization.Optimizers, name, case)
    got = trajectory(optimizer, case["weights0"], case["gradients"])
    assert_trajectory(got, case["weights"], tolerance, name)
