"""How fast is the reference solution? Times it against PyTorch (float64, CPU) on the same work.

    python scripts/bench.py [--solution PATH] [--repeats N] [--threads N]

Each number is the median of N timed runs after a warm-up, in milliseconds:
  LeNet step  one training step of Models.LeNet.build() on a batch of 50 28x28 images
  Conv        Conv forward + backward, input (50, 6, 14, 14), 16 kernels 6x5x5, stride 1
  RNN, LSTM   forward + backward through 1000 time steps, input 64, hidden 128, output 64
PyTorch gets as many threads as NumPy's BLAS (--threads sets both; on a busy machine, 1 keeps
thread synchronization from dominating). Without torch only our times are printed.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BATCH, IMAGE, CLASSES = 50, (1, 28, 28), 10
CONV_INPUT, CONV_KERNELS = (50, 6, 14, 14), (16, 6, 5, 5)
STEPS, N_INPUT, N_HIDDEN, N_OUTPUT = 1000, 64, 128, 64
LEARNING_RATE, MU, RHO, L2_ALPHA = 5e-4, 0.9, 0.999, 4e-4  # as Models.LeNet.build()
EPS = np.finfo(float).eps

# (work, target ratio ours / PyTorch or None for informational)
TARGETS = {
    "LeNet step": 2.0,
    "Conv fwd+bwd": None,
    "RNN fwd+bwd": 1.0,
    "LSTM fwd+bwd": 1.0,
}


def median_ms(work, repeats, warmup=2):
    for _ in range(warmup):
        work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def numpy_threads():
    """Threads NumPy's BLAS runs matrix products on."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return len(os.sched_getaffinity(0))
    blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return blas[0] if blas else 1


def make_inputs(seed=0):
    """One set of random arrays that both implementations work on."""
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((BATCH, *IMAGE))
    labels = np.eye(CLASSES)[rng.integers(0, CLASSES, BATCH)]  # one-hot
    conv_input = rng.standard_normal(CONV_INPUT)
    conv_weights = rng.standard_normal(CONV_KERNELS)
    conv_bias = rng.standard_normal(CONV_KERNELS[0])
    batch, _, height, width = CONV_INPUT
    conv_error = rng.standard_normal((batch, CONV_KERNELS[0], height, width))
    sequence = rng.standard_normal((STEPS, N_INPUT))
    sequence_error = rng.standard_normal((STEPS, N_OUTPUT))
    return {
        "images": images,
        "labels": labels,
        "conv_input": conv_input,
        "conv_weights": conv_weights,
        "conv_bias": conv_bias,
        "conv_error": conv_error,
        "sequence": sequence,
        "sequence_error": sequence_error,
    }


class FixedBatch:
    """A data layer that hands out the same batch every time."""

    def __init__(self, inputs, labels):
        self.inputs, self.labels = inputs, labels

    def next(self):
        return self.inputs, self.labels

    def get_test_set(self):
        return self.inputs, self.labels


# --- ours ---------------------------------------------------------------------------------


def ours(data):
    """Name -> a function doing one unit of work with the solution on sys.path."""
    from Layers.Conv import Conv
    from Layers.Initializers import Xavier
    from Layers.LSTM import LSTM
    from Layers.RNN import RNN
    from Models import LeNet

    np.random.seed(0)
    net = LeNet.build()
    net.data_layer = FixedBatch(data["images"], data["labels"])

    def lenet_step():
        loss = net.forward()
        net.backward()
        return loss

    conv = Conv((1, 1), CONV_KERNELS[1:], CONV_KERNELS[0])
    conv.weights, conv.bias = data["conv_weights"], data["conv_bias"]

    def conv_step():
        conv.forward(data["conv_input"])
        conv.backward(data["conv_error"])

    def recurrent_step(layer):
        layer.initialize(Xavier(), Xavier())  # small weights: tanh and sigmoid not saturated

        def step():
            layer.forward(data["sequence"])
            layer.backward(data["sequence_error"])

        return step

    return {
        "LeNet step": lenet_step,
        "Conv fwd+bwd": conv_step,
        "RNN fwd+bwd": recurrent_step(RNN(N_INPUT, N_HIDDEN, N_OUTPUT)),
        "LSTM fwd+bwd": recurrent_step(LSTM(N_INPUT, N_HIDDEN, N_OUTPUT)),
    }


# --- PyTorch ------------------------------------------------------------------------------


def pytorch(data, torch):
    """The same work in PyTorch with autograd, written as a PyTorch user would."""
    from torch import nn
    from torch.nn import functional

    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)
    as_tensor = {name: torch.tensor(array) for name, array in data.items()}

    lenet = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 7 * 7, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
        nn.Softmax(dim=1),
    )
    # The L2 regularizer shrinks w by learning_rate * alpha * w before the Adam step: AdamW.
    adam = torch.optim.AdamW(
        lenet.parameters(),
        lr=LEARNING_RATE,
        betas=(MU, RHO),
        eps=1e-8,
        weight_decay=L2_ALPHA,
    )

    def lenet_step():
        adam.zero_grad()
        prediction = lenet(as_tensor["images"])
        loss = -(as_tensor["labels"] * torch.log(prediction + EPS)).sum()
        loss.backward()
        adam.step()
        with torch.no_grad():  # NeuralNetwork.forward adds the regularization loss too
            weights = [p for p in lenet.parameters() if p.dim() > 1]
            return loss.item() + L2_ALPHA * sum(w.square().sum().item() for w in weights)

    conv_input = as_tensor["conv_input"].requires_grad_()
    conv_weights = as_tensor["conv_weights"].requires_grad_()
    conv_bias = as_tensor["conv_bias"].requires_grad_()

    def conv_step():
        conv_input.grad = conv_weights.grad = conv_bias.grad = None
        output = functional.conv2d(
            functional.pad(conv_input, (2, 2, 2, 2)), conv_weights, conv_bias
        )
        output.backward(as_tensor["conv_error"])

    sequence = as_tensor["sequence"].requires_grad_()

    # Elman cell from the contract: h_t = tanh(W_h [x_t, h_{t-1}, 1]), y_t = sigmoid(W_y [h_t, 1])
    hidden_weights = (0.1 * torch.randn(N_INPUT + N_HIDDEN + 1, N_HIDDEN)).requires_grad_()
    rnn_output_layer = nn.Linear(N_HIDDEN, N_OUTPUT)

    def rnn_step():
        hidden, one, hiddens = torch.zeros(N_HIDDEN), torch.ones(1), []
        for x in sequence.unbind(0):
            hidden = torch.tanh(torch.cat([x, hidden, one]) @ hidden_weights)
            hiddens.append(hidden)
        output = torch.sigmoid(rnn_output_layer(torch.stack(hiddens)))
        output.backward(as_tensor["sequence_error"])

    lstm_cell = nn.LSTMCell(N_INPUT, N_HIDDEN)
    lstm_output_layer = nn.Linear(N_HIDDEN, N_OUTPUT)

    def lstm_step():
        hidden, cell, hiddens = torch.zeros(N_HIDDEN), torch.zeros(N_HIDDEN), []
        for x in sequence.unbind(0):
            hidden, cell = lstm_cell(x, (hidden, cell))
            hiddens.append(hidden)
        output = torch.sigmoid(lstm_output_layer(torch.stack(hiddens)))
        output.backward(as_tensor["sequence_error"])

    return {
        "LeNet step": lenet_step,
        "Conv fwd+bwd": conv_step,
        "RNN fwd+bwd": rnn_step,
        "LSTM fwd+bwd": lstm_step,
    }


# --- report -------------------------------------------------------------------------------


def table(rows):
    header = ("work", "ours (ms)", "PyTorch (ms)", "ours/PyTorch", "target", "met")
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    rule = "  ".join("-" * width for width in widths)
    head = "  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True))
    return "\n".join([head, rule, *lines])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solution", type=Path, default=REPO / "solution")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, help="BLAS and PyTorch threads (default: BLAS's)")
    args = parser.parse_args()
    sys.path.insert(0, str(args.solution.resolve()))
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)

    data = make_inputs()
    threads = numpy_threads()
    print(f"solution: {args.solution}")
    print(
        f"Python {platform.python_version()}, NumPy {np.__version__} ({threads} BLAS threads), "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    # ours first, then PyTorch: the two thread pools would otherwise compete for the cores
    ours_ms = {name: median_ms(work, args.repeats) for name, work in ours(data).items()}

    try:
        import torch
    except ImportError:
        print("PyTorch not installed: our times only\n")
        for name, ms in ours_ms.items():
            print(f"{name:<14} {ms:8.1f} ms")
        return

    torch.set_num_threads(threads)
    print(f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads)\n")
    torch_ms = {name: median_ms(work, args.repeats) for name, work in pytorch(data, torch).items()}

    rows = []
    for name, ms in ours_ms.items():
        ratio = ms / torch_ms[name]
        target = TARGETS[name]
        if target is None:
            goal, met = "informational", "-"
        else:
            goal, met = f"<= {target:g}x", "met" if ratio <= target else "not met"
        rows.append((name, f"{ms:.1f}", f"{torch_ms[name]:.1f}", f"{ratio:.2f}", goal, met))
    print(table(rows))


if __name__ == "__main__":
    main()
