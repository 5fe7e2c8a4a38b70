"""Initializers: the starting values of trainable weights.

Requirement (exercise 2): implement in `Layers.Initializers` the classes `Constant(value=0.1)`,
`UniformRandom()`, `Xavier()` and `He()`. Each has `initialize(weights_shape, fan_in,
fan_out)`, which returns a new array of shape `weights_shape`:

- Constant:       every entry is `value` (0.1 unless given)
- UniformRandom:  independent draws from U[0, 1)
- Xavier:         independent draws from a normal distribution with mean 0 and
                  standard deviation `sqrt(2 / (fan_in + fan_out))`
- He:             independent draws from a normal distribution with mean 0 and
                  standard deviation `sqrt(2 / fan_in)`

The fans are the numbers passed in, whatever the shape: layers know their fans, the shape alone
does not tell (a convolution's fan_in is channels * kernel height * kernel width).
"""

import numpy as np
import pytest

from spec.support import as_array, assert_close, assert_shape

pytestmark = pytest.mark.section("Initializers")

# The statistical tests draw 200 000 values: the sample mean and standard deviation then lie
# within 0.3 % of the truth (one standard error), and the bounds below are many times that.
LARGE = (400, 500)
SHAPES = [(3,), (4, 5), (2, 3, 4), (6, 1, 3, 3)]


def make(sub, name):
    """An initializer of the submission by class name, with its default arguments."""
    return getattr(sub.Layers.Initializers, name)()


@pytest.mark.parametrize("name", ["Constant", "UniformRandom", "Xavier", "He"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_returns_the_requested_shape(sub, name, shape):
    """initialize(weights_shape, fan_in, fan_out) returns an array of shape weights_shape."""
    weights = make(sub, name).initialize(shape, 12, 7)
    assert_shape(weights, shape, f"{name}().initialize({shape}, 12, 7)")


def test_constant_defaults_to_one_tenth(sub):
    """Constant() fills every entry with 0.1."""
    weights = sub.Layers.Initializers.Constant().initialize((3, 4), 3, 4)
    assert_close(weights, np.full((3, 4), 0.1), rtol=1e-15, what="Constant().initialize")


def test_constant_uses_the_given_value(sub):
    """Constant(value) fills every entry with value."""
    weights = sub.Layers.Initializers.Constant(-2.5).initialize((2, 3, 4), 3, 4)
    assert_close(weights, np.full((2, 3, 4), -2.5), rtol=1e-15, what="Constant(-2.5).initialize")


def test_uniform_random_lies_in_the_unit_interval(sub):
    """UniformRandom draws from [0, 1): every value is >= 0 and < 1."""
    weights = as_array(sub.Layers.Initializers.UniformRandom().initialize(LARGE, 5, 5), "weights")
    assert weights.min() >= 0 and weights.max() < 1, (
        f"values range over [{weights.min():.3g}, {weights.max():.3g}], expected [0, 1)"
    )


def test_uniform_random_is_uniform(sub):
    """UniformRandom is U[0, 1): mean 1/2, standard deviation sqrt(1/12), each tenth of the
    interval holding a tenth of the values."""
    weights = as_array(sub.Layers.Initializers.UniformRandom().initialize(LARGE, 5, 5), "weights")
    assert abs(weights.mean() - 0.5) < 0.01, f"mean {weights.mean():.4f}, expected 0.5"
    assert abs(weights.std() / np.sqrt(1 / 12) - 1) < 0.02, (
        f"standard deviation {weights.std():.4f}, expected {np.sqrt(1 / 12):.4f}"
    )
    share = np.histogram(weights, bins=10, range=(0, 1))[0] / weights.size
    assert np.all(np.abs(share - 0.1) < 0.01), f"shares of the tenths of [0, 1): {share.round(3)}"


@pytest.mark.parametrize(
    ("name", "fan_in", "fan_out", "sigma"),
    [
        ("Xavier", 20, 80, np.sqrt(2 / 100)),
        ("Xavier", 300, 12, np.sqrt(2 / 312)),
        ("He", 8, 1000, np.sqrt(2 / 8)),
        ("He", 450, 3, np.sqrt(2 / 450)),
    ],
)
def test_normal_initializers_have_the_contract_standard_deviation(
    sub, name, fan_in, fan_out, sigma
):
    """Xavier's standard deviation is sqrt(2 / (fan_in + fan_out)), He's sqrt(2 / fan_in), from the
    fans passed in (not from the shape)."""
    weights = as_array(make(sub, name).initialize(LARGE, fan_in, fan_out), "weights")
    assert abs(weights.std() / sigma - 1) < 0.03, (
        f"{name} with fan_in={fan_in}, fan_out={fan_out}: standard deviation {weights.std():.4g}, "
        f"expected {sigma:.4g}"
    )


@pytest.mark.parametrize("name", ["Xavier", "He"])
def test_normal_initializers_are_centred(sub, name):
    """Xavier and He draw with mean 0."""
    weights = as_array(make(sub, name).initialize(LARGE, 50, 50), "weights")
    assert abs(weights.mean()) < 0.03 * weights.std(), (
        f"{name}: mean {weights.mean():.3g}, expected 0 (standard deviation {weights.std():.3g})"
    )


@pytest.mark.parametrize("name", ["Xavier", "He"])
def test_normal_initializers_are_normal(sub, name):
    """Xavier and He draw from a normal distribution: 68.3 % of the values lie within one
    standard deviation of 0, 95.4 % within two (a uniform distribution gives 57.7 % and 100 %)."""
    weights = as_array(make(sub, name).initialize(LARGE, 50, 70), "weights")
    sigma = weights.std()
    within_one = np.mean(np.abs(weights) < sigma)
    within_two = np.mean(np.abs(weights) < 2 * sigma)
    assert abs(within_one - 0.6827) < 0.01, f"{name}: {within_one:.1%} within one sigma, not 68.3 %"
    assert abs(within_two - 0.9545) < 0.01, f"{name}: {within_two:.1%} within two sigma, not 95.4 %"


@pytest.mark.parametrize("name", ["UniformRandom", "Xavier", "He"])
def test_random_initializers_draw_independent_values(sub, name):
    """Two calls give different arrays, and the entries of one array differ from each other."""
    initializer = make(sub, name)
    first = as_array(initializer.initialize((10, 10), 10, 10), "first call")
    second = as_array(initializer.initialize((10, 10), 10, 10), "second call")
    assert np.unique(first).size == first.size, f"{name} repeats values within one array"
    assert not np.array_equal(first, second), f"{name} returns the same array twice"
