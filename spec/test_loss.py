"""CrossEntropyLoss: how far the predicted probabilities are from the labels.

Requirement (exercise 1): implement `Optimization.Loss.CrossEntropyLoss`.
`forward(prediction_tensor, label_tensor)` returns the number
`-sum(label * log(prediction + eps))`, summed over the whole batch (not averaged), with
`eps = np.finfo(float).eps` so that a prediction of exactly 0 gives a large but finite loss.
`backward(label_tensor)` returns `-label / (prediction + eps)`, using the prediction of the last
forward call.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec.support import as_float, assert_close, golden, numerical_gradient

pytestmark = pytest.mark.section("Loss")

EPS = np.finfo(float).eps
EXACT = {"rtol": 1e-10, "atol": 0}
batches, classes = st.integers(1, 5), st.integers(2, 6)

# A prediction of 0 for the true class of the first item; the second item is undecided.
ZERO_PREDICTION = np.array([[0.0, 1.0], [0.5, 0.5]])
ZERO_LABEL = np.array([[1.0, 0.0], [0.0, 1.0]])


def problem(batch, width, seed):
    """Predictions whose rows are probabilities (none tiny) and one-hot labels."""
    rng = np.random.default_rng(seed)
    scores = rng.uniform(0.1, 1.0, (batch, width))
    prediction = scores / scores.sum(axis=1, keepdims=True)
    label = np.eye(width)[rng.integers(width, size=batch)]
    return prediction, label


def loss_of(sub, prediction, label):
    """CrossEntropyLoss().forward(prediction, label) as a number."""
    loss = sub.Optimization.Loss.CrossEntropyLoss().forward(prediction, label)
    return as_float(loss, "CrossEntropyLoss forward")


def gradient_of(sub, prediction, label):
    """backward(label) after forward(prediction, label)."""
    loss = sub.Optimization.Loss.CrossEntropyLoss()
    loss.forward(prediction, label)
    return loss.backward(label)


@given(batch=batches, width=classes, seed=st.integers(0, 2**16))
def test_forward_is_the_cross_entropy_summed_over_the_batch(sub, batch, width, seed):
    """forward returns -sum(label * log(prediction + eps)) over every item of the batch."""
    prediction, label = problem(batch, width, seed)
    expected = -np.sum(label * np.log(prediction + EPS))
    assert_close(loss_of(sub, prediction, label), expected, **EXACT, what="loss")


def test_forward_sums_rather_than_averages(sub):
    """A batch of the same item twice has twice the loss of the item alone."""
    prediction, label = np.array([[0.2, 0.5, 0.3]]), np.array([[0.0, 1.0, 0.0]])
    single = loss_of(sub, prediction, label)
    double = loss_of(sub, np.vstack([prediction] * 2), np.vstack([label] * 2))
    assert_close(single, -np.log(0.5 + EPS), **EXACT, what="loss of one item")
    assert_close(double, 2 * single, **EXACT, what="loss of the item twice")


def test_forward_adds_eps_to_a_zero_prediction(sub):
    """A prediction of exactly 0 for the true class costs -log(eps), large but finite."""
    loss = loss_of(sub, ZERO_PREDICTION, ZERO_LABEL)
    assert np.isfinite(loss), "the loss of a zero prediction should be finite"
    expected = -np.log(EPS) - np.log(0.5 + EPS)
    assert_close(loss, expected, **EXACT, what="loss with eps = np.finfo(float).eps")


@given(batch=batches, width=classes, seed=st.integers(0, 2**16))
def test_backward_follows_the_formula(sub, batch, width, seed):
    """backward(label) returns -label / (prediction + eps) for the prediction of forward."""
    prediction, label = problem(batch, width, seed)
    expected = -label / (prediction + EPS)
    assert_close(gradient_of(sub, prediction, label), expected, **EXACT, what="backward")


@given(batch=batches, width=classes, seed=st.integers(0, 2**16))
def test_backward_matches_finite_differences(sub, batch, width, seed):
    """backward returns the gradient of the loss with respect to the prediction."""
    prediction, label = problem(batch, width, seed)
    numeric = numerical_gradient(lambda p: loss_of(sub, p, label), prediction)
    analytic = gradient_of(sub, prediction, label)
    assert_close(analytic, numeric, rtol=1e-6, atol=1e-8, what="backward")


def test_backward_adds_eps_to_a_zero_prediction(sub):
    """At a prediction of exactly 0, backward gives -label / eps: large but finite."""
    expected = -ZERO_LABEL / (ZERO_PREDICTION + EPS)
    gradient = gradient_of(sub, ZERO_PREDICTION, ZERO_LABEL)
    assert_close(gradient, expected, **EXACT, what="backward with eps = np.finfo(float).eps")


def test_backward_uses_the_prediction_of_the_last_forward(sub):
    """backward divides by the prediction of the most recent forward call."""
    label = np.array([[0.0, 1.0]])
    loss = sub.Optimization.Loss.CrossEntropyLoss()
    loss.forward(np.array([[0.5, 0.5]]), label)
    loss.forward(np.array([[0.75, 0.25]]), label)
    expected = [[0.0, -1 / (0.25 + EPS)]]
    assert_close(loss.backward(label), expected, **EXACT, what="backward after two forwards")


@pytest.mark.parametrize("name", golden.names("softmax_crossentropy"))
def test_matches_the_golden_arrays(sub, name):
    """forward and backward agree with the PyTorch oracle (reference_data/<name>.npz)."""
    case = golden.load(name)
    loss = sub.Optimization.Loss.CrossEntropyLoss()
    value = as_float(loss.forward(case["prediction"], case["label"]), "loss")
    assert_close(value, case["loss"], **golden.EXACT, what=f"forward on {name}")
    gradient = loss.backward(case["label"])
    assert_close(gradient, case["loss_error"], **golden.EXACT, what=f"backward on {name}")
