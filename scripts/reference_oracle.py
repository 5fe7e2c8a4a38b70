"""The contract's computations in PyTorch (float64, autograd): an oracle independent of our NumPy.

`cases()` returns every golden file as a `Case`: the arrays, what each key means, how the arrays
were made and which tolerance of spec/support/golden.py a consumer compares with. Inputs come
from NumPy generators seeded per file; torch only computes. Gradients are vector-Jacobian
products: `grad_x` is the gradient of sum(output * error) w.r.t. x, which is what
`backward(error)` returns (or stores) in the contract.
"""

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

CROSS_ENTROPY_EPS = np.finfo(float).eps
BATCH_NORM_EPSILON = 1e-11  # the contract allows any epsilon below 1e-10
MOVING_AVERAGE_ALPHA = 0.8
ADAM_EPSILON = 1e-8


@dataclass
class Case:
    name: str
    about: str  # how the arrays were made
    tolerance: str  # name of a constant in spec/support/golden.py
    meanings: dict[str, str]  # key -> what it holds
    arrays: dict[str, npt.NDArray[Any]]


def rng_for(name):
    # One stream per file, so adding or changing a case leaves every other file unchanged.
    return np.random.default_rng(zlib.crc32(name.encode()))


def leaf(array):
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


def numpy(tensor):
    return tensor.detach().numpy().copy()


def vjp(output, inputs, error):
    """Gradients of sum(output * error) w.r.t. each of inputs."""
    grads = torch.autograd.grad(output, inputs, grad_outputs=torch.as_tensor(error))
    return [numpy(g) for g in grads]


def case(name, about, tolerance, meanings, **arrays):
    arrays = {key: np.asarray(value) for key, value in arrays.items()}
    return Case(name, about, tolerance, {key: meanings[key] for key in arrays}, arrays)


# --- Conv ---------------------------------------------------------------------------------

CONV_KEYS = {
    "input": "input tensor (b, c, y[, x])",
    "weights": "kernels (num_kernels, c, m[, n])",
    "bias": "one bias per kernel",
    "stride": "stride_shape, one int per spatial axis",
    "output": "forward(input): 'same' correlation subsampled by the stride",
    "error": "error tensor passed to backward",
    "grad_input": "backward(error)",
    "grad_weights": "gradient_weights after backward",
    "grad_bias": "gradient_bias after backward",
}

# name: input shape, weights shape, stride. Odd kernels only: the contract does not say where
# an even kernel's extra padding goes.
CONV_CASES = {
    "conv_1d_stride1": ((2, 3, 15), (4, 3, 5), (1,)),
    "conv_1d_stride3": ((2, 2, 14), (3, 2, 3), (3,)),
    "conv_1d_kernel1_stride2": ((2, 3, 11), (2, 3, 1), (2,)),
    "conv_2d_stride1": ((2, 3, 10, 14), (4, 3, 5, 3), (1, 1)),
    "conv_2d_stride2": ((2, 3, 7, 9), (4, 3, 3, 3), (2, 2)),
    "conv_2d_stride3": ((2, 2, 10, 14), (3, 2, 5, 5), (3, 3)),
    "conv_2d_stride2x1": ((2, 2, 10, 14), (3, 2, 3, 5), (2, 1)),
    "conv_2d_stride1x2": ((2, 2, 7, 9), (3, 2, 5, 3), (1, 2)),
    "conv_2d_kernel1x1": ((2, 3, 10, 14), (2, 3, 1, 1), (1, 1)),
    "conv_2d_kernel1x1_stride2": ((2, 3, 7, 9), (2, 3, 1, 1), (2, 2)),
}


def same_conv(x, weights, bias, stride):
    """Cross-correlation with zero padding (k-1)//2 before and k//2 after, then the stride."""
    padding = []
    for k in reversed(weights.shape[2:]):  # F.pad lists the last axis first
        padding += [(k - 1) // 2, k // 2]
    correlate = F.conv1d if weights.dim() == 3 else F.conv2d
    return correlate(F.pad(x, padding), weights, bias, stride=stride)


def conv_cases():
    for name, (input_shape, weights_shape, stride) in CONV_CASES.items():
        rng = rng_for(name)
        x = leaf(rng.normal(size=input_shape))
        weights = leaf(rng.normal(size=weights_shape))
        bias = leaf(rng.normal(size=weights_shape[0]))
        output = same_conv(x, weights, bias, stride)
        spatial = np.array(input_shape[2:])
        assert tuple(output.shape[2:]) == tuple(-(-spatial // stride))  # ceil(size / stride)
        error = rng.normal(size=output.shape)
        grad_input, grad_weights, grad_bias = vjp(output, (x, weights, bias), error)
        yield case(
            name,
            f"F.conv{len(stride)}d on the zero-padded input, stride {stride}; autograd",
            "EXACT",
            CONV_KEYS,
            input=numpy(x),
            weights=numpy(weights),
            bias=numpy(bias),
            stride=np.array(stride),
            output=numpy(output),
            error=error,
            grad_input=grad_input,
            grad_weights=grad_weights,
            grad_bias=grad_bias,
        )


# --- Pooling ------------------------------------------------------------------------------

POOLING_KEYS = {
    "input": "input tensor (b, c, y, x), distinct random floats (no ties)",
    "stride": "stride_shape (y, x)",
    "pooling_shape": "pooling_shape (y, x)",
    "output": "forward(input): max over each 'valid' window",
    "error": "error tensor passed to backward",
    "grad_input": "backward(error): each error at its window's argmax, summed where windows "
    "overlap",
}

# name: input shape, pooling shape, stride
POOLING_CASES = {
    "pooling_2x2_stride2": ((2, 3, 8, 8), (2, 2), (2, 2)),
    "pooling_2x2_stride2_uneven": ((2, 2, 7, 9), (2, 2), (2, 2)),
    "pooling_3x3_stride2_overlap": ((2, 2, 9, 8), (3, 3), (2, 2)),
    "pooling_2x2_stride1_overlap": ((1, 2, 5, 6), (2, 2), (1, 1)),
    "pooling_3x2_stride2x1_overlap": ((2, 2, 8, 7), (3, 2), (2, 1)),
}


def pooling_cases():
    for name, (input_shape, pooling_shape, stride) in POOLING_CASES.items():
        rng = rng_for(name)
        x = leaf(rng.normal(size=input_shape))
        output = F.max_pool2d(x, pooling_shape, stride)
        error = rng.normal(size=output.shape)
        (grad_input,) = vjp(output, (x,), error)
        yield case(
            name,
            f"F.max_pool2d, window {pooling_shape}, stride {stride}; autograd",
            "EXACT",
            POOLING_KEYS,
            input=numpy(x),
            stride=np.array(stride),
            pooling_shape=np.array(pooling_shape),
            output=numpy(output),
            error=error,
            grad_input=grad_input,
        )


# --- SoftMax and CrossEntropyLoss ---------------------------------------------------------

SOFTMAX_KEYS = {
    "input": "logits (b, classes)",
    "label": "one-hot labels (b, classes)",
    "prediction": "SoftMax.forward(input)",
    "loss": "CrossEntropyLoss.forward(prediction, label) = -sum(label * log(prediction + eps))",
    "loss_error": "CrossEntropyLoss.backward(label) = -label / (prediction + eps)",
    "grad_input": "SoftMax.backward(loss_error): gradient of the loss w.r.t. the logits",
}


def softmax_cases():
    for name, offset in (
        ("softmax_crossentropy", 0.0),
        ("softmax_crossentropy_large", 1000.0),
    ):
        rng = rng_for(name)
        batch, classes = 5, 4
        # The large case shifts each row by hundreds: exp overflows unless shifted by the max.
        logits = rng.normal(size=(batch, classes)) + offset * rng.uniform(0.5, 1, (batch, 1))
        label = np.eye(classes)[rng.integers(classes, size=batch)]
        x = leaf(logits)
        prediction = torch.softmax(x, dim=1)
        loss = -(torch.as_tensor(label) * torch.log(prediction + CROSS_ENTROPY_EPS)).sum()
        loss_error, grad_input = torch.autograd.grad(loss, (prediction, x))
        yield case(
            name,
            "torch.softmax and the summed cross-entropy with eps = finfo(float).eps; autograd"
            + (", logits offset by 500..1000 per row" if offset else ""),
            "EXACT",
            SOFTMAX_KEYS,
            input=logits,
            label=label,
            prediction=numpy(prediction),
            loss=numpy(loss),
            loss_error=numpy(loss_error),
            grad_input=numpy(grad_input),
        )


# --- Optimizers ---------------------------------------------------------------------------

OPTIMIZER_KEYS = {
    "learning_rate": "learning_rate",
    "momentum_rate": "momentum_rate (SgdWithMomentum)",
    "mu": "mu (Adam)",
    "rho": "rho (Adam)",
    "regularizer": "'none', 'L1' or 'L2': the regularizer added with add_regularizer",
    "alpha": "the regularizer's alpha (0 without one)",
    "weights0": "weights before the first update",
    "gradients": "(steps, *weights0.shape): the gradient passed at each step",
    "weights": "(steps, *weights0.shape): calculate_update's result after each step",
}


# Each step function returns the optimizer's own update, computed from the gradient alone.


def sgd_step(lr):
    def step(g):
        return -lr * g

    return step


def momentum_step(lr, momentum):
    v = 0.0

    def step(g):
        nonlocal v
        v = momentum * v - lr * g
        return v

    return step


def adam_step(lr, mu, rho):
    v = r = 0.0
    k = 0

    def step(g):
        nonlocal v, r, k
        k += 1
        v = mu * v + (1 - mu) * g
        r = rho * r + (1 - rho) * g * g
        v_hat, r_hat = v / (1 - mu**k), r / (1 - rho**k)
        return -lr * v_hat / (torch.sqrt(r_hat) + ADAM_EPSILON)

    return step


REGULARIZER_GRADIENTS = {
    "none": lambda w, alpha: torch.zeros_like(w),
    "L1": lambda w, alpha: alpha * torch.sign(w),
    "L2": lambda w, alpha: alpha * w,
}

# name: step function, hyperparameters, tolerance, formula
OPTIMIZERS = {
    "sgd": (sgd_step, {"learning_rate": 0.1}, "EXACT", "w - lr * g"),
    "momentum": (
        momentum_step,
        {"learning_rate": 0.1, "momentum_rate": 0.9},
        "EXACT",
        "v = momentum * v - lr * g, w + v",
    ),
    # Adam's epsilon is only "about 1e-8" and sits in different places in submissions.
    "adam": (
        adam_step,
        {"learning_rate": 0.05, "mu": 0.9, "rho": 0.999},
        "ADAM",
        "bias-corrected Adam, w - lr * v_hat / (sqrt(r_hat) + 1e-8)",
    ),
}


def optimizer_cases():
    steps, shape = 5, (3, 4)
    for optimizer, (make_step, hyper, tolerance, formula) in OPTIMIZERS.items():
        for regularizer, alpha in (("none", 0.0), ("L1", 0.2), ("L2", 0.2)):
            name = f"optimizer_{optimizer}" + ("" if regularizer == "none" else f"_{regularizer}")
            rng = rng_for(name)
            weights0 = rng.uniform(-1, 1, shape)
            # Gradients of magnitude 0.5..1.5 keep sqrt(r_hat) >= 0.5, far above Adam's epsilon.
            gradients = rng.choice([-1, 1], (steps, *shape)) * rng.uniform(
                0.5, 1.5, (steps, *shape)
            )
            step = make_step(*hyper.values())
            w, trajectory = torch.as_tensor(weights0), []
            for g in torch.as_tensor(gradients):
                shrunk = w - hyper["learning_rate"] * REGULARIZER_GRADIENTS[regularizer](w, alpha)
                w = shrunk + step(g)
                trajectory.append(w)
            yield case(
                name,
                f"{formula}"
                + ("" if regularizer == "none" else f", applied to w - lr * {regularizer} gradient")
                + f"; {steps} steps in torch tensors",
                tolerance,
                OPTIMIZER_KEYS,
                **hyper,
                regularizer=np.array(regularizer),
                alpha=alpha,
                weights0=weights0,
                gradients=gradients,
                weights=numpy(torch.stack(trajectory)),
            )


# --- Dropout ------------------------------------------------------------------------------

DROPOUT_KEYS = {
    "probability": "probability to keep a unit",
    "input": "input tensor (b, n), no zeros",
    "mask": "1 where a unit is kept, 0 where dropped",
    "output": "input * mask / probability",
    "error": "error tensor passed to backward",
    "grad_input": "error * mask / probability",
}


def dropout_cases():
    name, probability = "dropout", 0.75
    rng = rng_for(name)
    x = leaf(rng.normal(size=(4, 6)))
    mask = (rng.random((4, 6)) < probability).astype(float)
    output = x * torch.as_tensor(mask) / probability
    error = rng.normal(size=output.shape)
    (grad_input,) = vjp(output, (x,), error)
    yield case(
        name,
        "inverted dropout with a stored mask; autograd",
        "EXACT",
        DROPOUT_KEYS,
        probability=probability,
        input=numpy(x),
        mask=mask,
        output=numpy(output),
        error=error,
        grad_input=grad_input,
    )


# --- BatchNormalization -------------------------------------------------------------------

BATCH_NORM_TRAIN_KEYS = {
    "input": "input tensor (b, c) or (b, c, y, x), channels with different means and scales",
    "gamma": "weights (c,)",
    "beta": "bias (c,)",
    "output": "forward(input) in the train phase: batch mean and biased batch variance",
    "error": "error tensor passed to backward",
    "grad_input": "backward(error)",
    "grad_weights": "gradient_weights (gamma) after backward",
    "grad_bias": "gradient_bias (beta) after backward",
}

BATCH_NORM_MOVING_KEYS = {
    "gamma": "weights (c,)",
    "beta": "bias (c,)",
    "batches": "(n, *batch shape): batches passed to forward in the train phase, in order",
    "moving_mean": "moving average of the batch means after all batches (diagnostic)",
    "moving_var": "moving average of the biased batch variances after all batches (diagnostic)",
    "test_input": "input of a forward call in the test phase, after the batches",
    "test_output": "forward(test_input) in the test phase, normalized by the moving averages",
}

# name: input shape (b, c) or (b, c, y, x)
BATCH_NORM_SHAPES = {"batchnorm_vector": (6, 4), "batchnorm_image": (3, 2, 4, 5)}


def channel_data(rng, shape, means, scales):
    broadcast = (1, -1) + (1,) * (len(shape) - 2)
    return rng.normal(size=shape) * scales.reshape(broadcast) + means.reshape(broadcast)


def batch_norm_cases():
    for prefix, shape in BATCH_NORM_SHAPES.items():
        channels, axes = shape[1], (0, *range(2, len(shape)))
        name = f"{prefix}_train"
        rng = rng_for(name)
        means, scales = rng.normal(0, 3, channels), rng.uniform(0.5, 3, channels)
        x = leaf(channel_data(rng, shape, means, scales))
        gamma, beta = leaf(rng.uniform(0.5, 1.5, channels)), leaf(rng.normal(size=channels))
        output = F.batch_norm(x, None, None, gamma, beta, training=True, eps=BATCH_NORM_EPSILON)
        error = rng.normal(size=shape)
        grad_input, grad_gamma, grad_beta = vjp(output, (x, gamma, beta), error)
        yield case(
            name,
            f"F.batch_norm in training mode, eps {BATCH_NORM_EPSILON}; autograd",
            "BATCH_NORM",
            BATCH_NORM_TRAIN_KEYS,
            input=numpy(x),
            gamma=numpy(gamma),
            beta=numpy(beta),
            output=numpy(output),
            error=error,
            grad_input=grad_input,
            grad_weights=grad_gamma,
            grad_bias=grad_beta,
        )

        name = f"{prefix}_moving_average"
        rng = rng_for(name)
        means, scales = rng.normal(0, 3, channels), rng.uniform(0.5, 3, channels)
        batches = np.stack([channel_data(rng, shape, means, scales) for _ in range(4)])
        gamma, beta = rng.uniform(0.5, 1.5, channels), rng.normal(size=channels)
        moving_mean = moving_var = None
        for batch in torch.as_tensor(batches):
            mean, var = batch.mean(dim=axes), batch.var(dim=axes, correction=0)
            if moving_mean is None:  # the first batch initializes the averages
                moving_mean, moving_var = mean, var
            else:
                a = MOVING_AVERAGE_ALPHA
                moving_mean = a * moving_mean + (1 - a) * mean
                moving_var = a * moving_var + (1 - a) * var
        test_input = channel_data(rng, shape, means, scales)
        test_output = F.batch_norm(
            torch.as_tensor(test_input),
            moving_mean,
            moving_var,
            torch.as_tensor(gamma),
            torch.as_tensor(beta),
            training=False,
            eps=BATCH_NORM_EPSILON,
        )
        yield case(
            name,
            f"moving averages (alpha {MOVING_AVERAGE_ALPHA}, first batch initializes) of 4 "
            "batches, then F.batch_norm in eval mode",
            "BATCH_NORM",
            BATCH_NORM_MOVING_KEYS,
            gamma=gamma,
            beta=beta,
            batches=batches,
            moving_mean=numpy(moving_mean),
            moving_var=numpy(moving_var),
            test_input=test_input,
            test_output=numpy(test_output),
        )


# --- RNN and LSTM -------------------------------------------------------------------------

INPUT_SIZE, HIDDEN_SIZE, OUTPUT_SIZE = 4, 5, 3
# The contract exposes only the hidden weights, so a consumer sets the output layer through
# initialize(Constant(OUTPUT_WEIGHT), Constant(OUTPUT_BIAS)) before setting `weights`.
OUTPUT_WEIGHT, OUTPUT_BIAS = 0.4, -0.2

RECURRENT_KEYS = {
    "weights": "hidden weights, canonical layout (input_size + hidden_size + 1, hidden_size): "
    "rows [x_t, h_{t-1}, 1]",
    "wy": "every weight of the output layer W_y",
    "by": "every bias of the output layer W_y",
    "memorize": "the layer's memorize flag for both calls",
    "input": "sequence (T, input_size), axis 0 is time",
    "output": "forward(input), (T, output_size)",
    "error": "(T, output_size) error passed to backward",
    "grad_input": "backward(error): backpropagation through time",
    "grad_weights": "gradient_weights after backward, canonical layout",
}
RECURRENT_KEYS |= {  # the memorize/reset files hold two consecutive calls
    f"{key}{call}": f"call {call}: {RECURRENT_KEYS[key]}"
    for call in (1, 2)
    for key in ("input", "output", "error", "grad_input", "grad_weights")
}
LSTM_KEYS = RECURRENT_KEYS | {
    "weights": "hidden weights, canonical layout (input_size + hidden_size + 1, 4 * hidden_size):"
    " rows [x_t, h_{t-1}, 1], column blocks [f, i, c~, o]",
}


def elman_cell(weights, x_t, state):
    (h,) = state
    return (torch.tanh(torch.cat([x_t, h, torch.ones(1)]) @ weights),)


def lstm_cell(weights, x_t, state):
    h, c = state
    f, i, candidate, o = (torch.cat([x_t, h, torch.ones(1)]) @ weights).chunk(4)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(candidate)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, c


# kind: cell, number of state vectors, number of gate blocks, key meanings
RECURRENT = {
    "rnn": (elman_cell, 1, 1, RECURRENT_KEYS),
    "lstm": (lstm_cell, 2, 4, LSTM_KEYS),
}


def unroll(cell, weights, inputs, state):
    """Outputs and hidden states over the sequence, and the last state."""
    output_layer = torch.full((HIDDEN_SIZE + 1, OUTPUT_SIZE), OUTPUT_WEIGHT)
    output_layer[-1] = OUTPUT_BIAS
    outputs, hidden = [], []
    for x_t in inputs:
        state = cell(weights, x_t, state)
        hidden.append(state[0])
        outputs.append(torch.sigmoid(torch.cat([state[0], torch.ones(1)]) @ output_layer))
    return torch.stack(outputs), torch.stack(hidden), state


def check_against_torch_module(kind, weights, inputs, hidden):
    """Our canonical layout run through torch.nn.RNN / torch.nn.LSTM gives the same states."""
    weights = torch.as_tensor(weights)
    x_rows, h_rows, bias = weights[:INPUT_SIZE], weights[INPUT_SIZE:-1], weights[-1]
    if kind == "rnn":
        module = torch.nn.RNN(INPUT_SIZE, HIDDEN_SIZE)
    else:
        module = torch.nn.LSTM(INPUT_SIZE, HIDDEN_SIZE)
        # torch orders the gate blocks [i, f, g, o]; ours are [f, i, c~, o]
        reorder = [1, 0, 2, 3]
        x_rows, h_rows, bias = (
            torch.cat([m.chunk(4, -1)[k] for k in reorder], -1) for m in (x_rows, h_rows, bias)
        )
    with torch.no_grad():
        module.weight_ih_l0.copy_(x_rows.T)
        module.weight_hh_l0.copy_(h_rows.T)
        module.bias_ih_l0.copy_(bias)
        module.bias_hh_l0.zero_()
        expected, _ = module(inputs)
    assert torch.allclose(expected, hidden, rtol=1e-12, atol=1e-14), kind


def recurrent_cases():
    for kind, (cell, states, blocks, meanings) in RECURRENT.items():
        weights_shape = (INPUT_SIZE + HIDDEN_SIZE + 1, blocks * HIDDEN_SIZE)
        zero_state = tuple(torch.zeros(HIDDEN_SIZE) for _ in range(states))

        rng = rng_for(kind)
        weights = leaf(rng.uniform(-0.6, 0.6, weights_shape))
        inputs = leaf(rng.normal(size=(7, INPUT_SIZE)))
        outputs, hidden, _ = unroll(cell, weights, inputs, zero_state)
        check_against_torch_module(kind, weights.detach(), inputs.detach(), hidden.detach())
        error = rng.normal(size=outputs.shape)
        grad_input, grad_weights = vjp(outputs, (inputs, weights), error)
        yield case(
            kind,
            f"{kind} cell in torch ops (states checked against torch.nn.{kind.upper()}), "
            "one sequence from a zero state; autograd through time",
            "EXACT",
            meanings,
            weights=numpy(weights),
            wy=OUTPUT_WEIGHT,
            by=OUTPUT_BIAS,
            input=numpy(inputs),
            output=numpy(outputs),
            error=error,
            grad_input=grad_input,
            grad_weights=grad_weights,
        )

        for memorize in (True, False):
            name = f"{kind}_memorize" if memorize else f"{kind}_reset"
            rng = rng_for(name)
            weights = leaf(rng.uniform(-0.6, 0.6, weights_shape))
            state, calls = zero_state, {}
            for call, length in ((1, 5), (2, 4)):
                inputs = leaf(rng.normal(size=(length, INPUT_SIZE)))
                outputs, _, last_state = unroll(cell, weights, inputs, state)
                error = rng.normal(size=outputs.shape)
                grad_input, grad_weights = vjp(outputs, (inputs, weights), error)
                calls |= {
                    f"input{call}": numpy(inputs),
                    f"output{call}": numpy(outputs),
                    f"error{call}": error,
                    f"grad_input{call}": grad_input,
                    f"grad_weights{call}": grad_weights,
                }
                # Truncated BPTT: the next call starts from this state but sends no gradient back.
                state = tuple(s.detach() for s in last_state) if memorize else zero_state
            carried = "carries the last state over" if memorize else "restarts from zeros"
            yield case(
                name,
                f"two forward/backward calls of the {kind} cell (torch ops); the second call "
                f"{carried}; autograd through time within each call",
                "EXACT",
                meanings,
                weights=numpy(weights),
                wy=OUTPUT_WEIGHT,
                by=OUTPUT_BIAS,
                memorize=memorize,
                **calls,
            )


# --- LeNet --------------------------------------------------------------------------------

LENET_KEYS = {
    "input": "batch of images (b, 1, 28, 28), values k / 255",
    "conv1_weights": "first Conv weights (6, 1, 5, 5)",
    "conv1_bias": "first Conv bias (6,)",
    "conv2_weights": "second Conv weights (16, 6, 5, 5)",
    "conv2_bias": "second Conv bias (16,)",
    "fc1_weights": "FullyConnected(16*7*7, 120) weights, bias as the last row",
    "fc2_weights": "FullyConnected(120, 84) weights, bias as the last row",
    "fc3_weights": "FullyConnected(84, 10) weights, bias as the last row",
    "logits": "input of the final SoftMax",
    "output": "the network's output: SoftMax probabilities (b, 10)",
}


def lenet_cases():
    name = "lenet_forward"
    rng = rng_for(name)

    def he(shape, fan_in):
        # Multiples of 1/64: exact in float64 and few distinct values, so fc1's 94k weights
        # compress to a small file.
        return np.round(rng.normal(0, np.sqrt(2 / fan_in), shape) * 64) / 64

    def fully_connected(inputs, outputs):
        return np.vstack([he((inputs, outputs), inputs), he((1, outputs), inputs)])

    params = {
        "conv1_weights": he((6, 1, 5, 5), 25),
        "conv1_bias": he(6, 25),
        "conv2_weights": he((16, 6, 5, 5), 150),
        "conv2_bias": he(16, 150),
        "fc1_weights": fully_connected(16 * 7 * 7, 120),
        "fc2_weights": fully_connected(120, 84),
        "fc3_weights": fully_connected(84, 10),
    }
    images = rng.integers(0, 256, (4, 1, 28, 28)) / 255
    p = {key: torch.as_tensor(value) for key, value in params.items()}

    x = torch.as_tensor(images)
    for conv in ("conv1", "conv2"):
        x = same_conv(x, p[f"{conv}_weights"], p[f"{conv}_bias"], (1, 1))
        x = F.max_pool2d(F.relu(x), 2, 2)
    x = x.reshape(len(x), -1)  # row-major (b, c, y, x) flatten
    for fc in ("fc1", "fc2", "fc3"):
        weights = p[f"{fc}_weights"]
        x = x @ weights[:-1] + weights[-1]
        if fc != "fc3":
            x = F.relu(x)
    yield case(
        name,
        "the contract's LeNet forward in torch ops (F.conv2d, F.max_pool2d, matmul) for fixed "
        "He-scaled weights",
        "EXACT",
        LENET_KEYS,
        input=images,
        **params,
        logits=numpy(x),
        output=numpy(torch.softmax(x, dim=1)),
    )


def cases():
    builders = (
        conv_cases,
        pooling_cases,
        softmax_cases,
        optimizer_cases,
        dropout_cases,
        batch_norm_cases,
        recurrent_cases,
        lenet_cases,
    )
    return [made for build in builders for made in build()]
