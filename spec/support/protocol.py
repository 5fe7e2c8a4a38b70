"""The common layer protocol, as the layer sections check it.

BaseLayer's defaults (`trainable = False`, `testing_phase = False`) are a clause of one section,
FullyConnected. Elsewhere a defect of BaseLayer must not cost points again, and a layer that
skips BaseLayer's constructor is fine where the phase changes nothing: so a missing `trainable`
reads as not trainable, a layer's default is wrong only where it differs from BaseLayer's,
layers without phases are never asked for theirs, and the layers with phases (Dropout,
BatchNorm) are put in the phase a test is about before it runs.
"""

from __future__ import annotations

import numpy as np

from spec.support.checks import as_array, as_bool


def is_trainable(layer, what: str) -> bool:
    """`layer.trainable`; missing means False (inherited from a BaseLayer never constructed)."""
    try:
        value = layer.trainable
    except AttributeError:
        return False
    return as_bool(value, f"{what}.trainable")


def assert_not_trainable(sub, layer, what: str) -> None:
    """A layer without parameters is not trainable: `trainable` False or missing (or whatever the
    submission's BaseLayer starts with: a wrong BaseLayer default is FullyConnected's clause)."""
    if is_trainable(layer, what) and not base_layer_default(sub, "trainable"):
        raise AssertionError(f"{what}.trainable should be False: it has no parameters to learn")


def in_training_phase(layer):
    """The layer, set to the training phase: tests of training behaviour do not rely on the
    default, which is its own clause."""
    layer.testing_phase = False
    return layer


def assert_starts_in_training_phase(sub, layer, what: str) -> None:
    """A new layer is in the training phase: `testing_phase` is False, or whatever the
    submission's BaseLayer starts with (a wrong BaseLayer default is FullyConnected's clause)."""
    try:
        phase = as_bool(layer.testing_phase, f"{what}.testing_phase")
    except AttributeError:
        raise AssertionError(
            f"{what} has no testing_phase: a layer that behaves by phase starts in the training "
            "phase, testing_phase = False (call BaseLayer's constructor)"
        ) from None
    if phase and not base_layer_default(sub, "testing_phase"):
        raise AssertionError(f"{what}.testing_phase should start False (training), got True")


def base_layer_default(sub, name: str) -> bool:
    """What a BaseLayer() of the submission has for the flag `name` (False if it has none)."""
    try:
        return as_bool(getattr(sub.Layers.Base.BaseLayer(), name), f"BaseLayer().{name}")
    except (AttributeError, AssertionError):
        return False


def assert_stable(sub, layer, inputs, what: str) -> np.ndarray:
    """layer.forward(inputs), run with NumPy's floating-point errors raised: an overflow or an
    invalid operation inside the call fails, as does a NaN or an infinity in the output."""
    output, problem = sub.probes.FloatingPointWatch().call(layer, "forward", inputs)
    extremes = f"inputs in [{np.min(inputs):g}, {np.max(inputs):g}]"
    if problem is not None:
        raise AssertionError(
            f"{what} of {extremes} is not computed stably: NumPy reports {problem!r} inside "
            "your forward"
        )
    output = as_array(output, what)
    if not np.isfinite(output).all():
        raise AssertionError(f"{what} of {extremes} gives NaN or infinity")
    return output
