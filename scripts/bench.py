"""How fast is the reference solution? Times it against PyTorch (float64, CPU) on the same work.

    python scripts/bench.py [--solution PATH] [--repeats N] [--threads N [N ...]]

For each work the two sides take turns, N turns each, alternating which goes first, so a load
that comes and goes hits both alike. A turn waits until the other side's idle threads have
stopped spinning, runs the work once untimed and then once timed. Per side: the median of the N
timed runs in milliseconds and, in brackets, the 10th-90th percentile; ours/PyTorch is the
ratio of the medians.
  LeNet step  one training step of Models.LeNet.build() on a batch of 50 28x28 images
  Conv        Conv forward + backward, input (50, 6, 14, 14), 16 kernels 6x5x5, stride 1
  RNN, LSTM   forward + backward through 1000 time steps, input 64, hidden 128, output 64
--threads sets NumPy's BLAS threads and PyTorch's threads alike (default: as many as BLAS has);
several values give one table each. Without torch only our times are printed.

Timings mean something only on a quiet machine: the load average is printed before and after
(after includes this bench's own threads), with the CPU that other processes used meanwhile
where /proc/stat tells it, and a warning when either is above half the cores.
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

REPO = Path(__file__).resolve().parents[1]
BATCH, IMAGE, CLASSES = 50, (1, 28, 28), 10
CONV_INPUT, CONV_KERNELS = (50, 6, 14, 14), (16, 6, 5, 5)
STEPS, N_INPUT, N_HIDDEN, N_OUTPUT = 1000, 64, 128, 64
LEARNING_RATE, MU, RHO, L2_ALPHA = 5e-4, 0.9, 0.999, 4e-4  # as Models.LeNet.build()
EPS = np.finfo(float).eps

# (work, target ratio ours / PyTorch or None for informational)
TARGETS = {
    "LeNet step": 1.5,
    "Conv fwd+bwd": None,
    "RNN fwd+bwd": 1.0,
    "LSTM fwd+bwd": 1.0,
}


def settle(longest=0.5):
    """Wait until this process's idle threads have stopped spinning.

    After a parallel region, OpenBLAS's threads keep polling for new work for about 0.1 s and
    PyTorch's OpenMP threads for a few ms; meanwhile they hold cores the other side's threads
    need. Settled means under 10 % of a CPU for 10 ms.
    """
    deadline = time.perf_counter() + longest
    while time.perf_counter() < deadline:
        cpu = time.process_time()
        time.sleep(0.01)
        if time.process_time() - cpu < 0.001:
            return


def seconds(work):
    """One timed run of work, from the steady state: settled, then one run untimed."""
    settle()
    work()
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def take_turns(sides, repeats):
    """Times of each side's work in ms, one run per side per round, the order alternating."""
    times: list[list[float]] = [[] for _ in sides]
    for round_ in range(repeats):
        order = range(len(sides)) if round_ % 2 == 0 else reversed(range(len(sides)))
        for side in order:
            times[side].append(1e3 * seconds(sides[side]))
    return times


def summary(times):
    """'median [p10-p90]' of a list of ms."""
    p10, median, p90 = np.percentile(times, [10, 50, 90])
    return f"{median:.1f} [{p10:.1f}-{p90:.1f}]"


def numpy_blas():
    """NumPy's BLAS library as threadpoolctl sees it (scikit-learn brings threadpoolctl)."""
    (blas,) = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    return blas


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


# --- how quiet the machine was ------------------------------------------------------------


def busy_cpu_seconds():
    """CPU seconds all processes on the machine have used since boot (Linux), else None."""
    try:
        first_line = Path("/proc/stat").read_text().splitlines()[0]
    except OSError:
        return None
    # "cpu  user nice system idle iowait irq softirq steal ...", in clock ticks; steal is time
    # the hypervisor gave to other machines
    user, nice, system, _, _, irq, softirq, steal = map(int, first_line.split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class Quietness:
    """Load average before and after a measurement, and the CPU others used during it."""

    def __init__(self):
        self.cpus = os.cpu_count() or 1
        self.load_before = os.getloadavg()[0]
        self.wall, self.own = time.perf_counter(), time.process_time()
        self.busy = busy_cpu_seconds()

    def report(self):
        """Lines saying how loaded the machine was, a warning last if it was not quiet."""
        load_after = os.getloadavg()[0]
        wall = time.perf_counter() - self.wall
        own = (time.process_time() - self.own) / wall  # CPUs this bench kept busy
        lines = [
            f"load average (1 min): before {self.load_before:.2f}, after {load_after:.2f} "
            f"(after includes this bench, which kept {own:.2f} CPUs busy)"
        ]
        half = self.cpus / 2
        too_busy = (
            [f"load average {self.load_before:.2f} before"] if self.load_before > half else []
        )
        busy = busy_cpu_seconds()
        if busy is not None and self.busy is not None:
            others = max(0.0, (busy - self.busy) / wall - own)
            lines.append(f"other processes kept {others:.2f} of {self.cpus} CPUs busy meanwhile")
            if others > half:
                too_busy.append(f"other processes on {others:.2f} CPUs")
        if too_busy:
            lines.append(
                f"WARNING: the machine was not quiet ({', '.join(too_busy)}; quiet is at most "
                f"{half:g}, half the CPUs): these times are not comparable, rerun when it is idle"
            )
        return lines


# --- report -------------------------------------------------------------------------------


def table(rows):
    header = ("work", "ours ms [p10-p90]", "PyTorch ms [p10-p90]", "ours/PyTorch", "target", "met")
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in (header, *rows)
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def row(name, ours_ms, torch_ms):
    ratio = np.median(ours_ms) / np.median(torch_ms)
    target = TARGETS[name]
    if target is None:
        goal, met = "informational", "-"
    else:
        goal, met = f"<= {target:g}x", "met" if ratio <= target else "not met"
    return (name, summary(ours_ms), summary(torch_ms), f"{ratio:.2f}", goal, met)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solution", type=Path, default=REPO / "solution")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per side (default 10)")
    parser.add_argument(
        "--threads", type=int, nargs="+", help="BLAS and PyTorch threads (default: BLAS's)"
    )
    args = parser.parse_args()
    if args.repeats < 1 or any(threads < 1 for threads in args.threads or []):
        parser.error("--repeats and --threads must be at least 1")
    sys.path.insert(0, str(args.solution.resolve()))
    try:
        import torch
    except ImportError:
        torch = None  # type: ignore[assignment, unused-ignore]  # (needed only with torch)

    data = make_inputs()
    blas = numpy_blas()
    print(f"command: python {' '.join(sys.argv)}")
    print(f"solution: {args.solution}")
    print(
        f"Python {platform.python_version()}, NumPy {np.__version__} ({blas['internal_api']} "
        f"{blas.get('architecture', '')}), "
        f"PyTorch {torch.__version__ if torch else 'not installed'}, {os.cpu_count()} CPUs"
    )
    ours_work = ours(data)
    torch_work = pytorch(data, torch) if torch else None

    for threads in args.threads or [blas["num_threads"]]:
        threadpool_limits(threads, user_api="blas")
        quietness = Quietness()
        print(f"\n{threads} thread(s) for BLAS and PyTorch, {args.repeats} timed runs per side")
        if torch_work is None:
            for name, work in ours_work.items():
                (ms,) = take_turns([work], args.repeats)
                print(f"{name:<14} {summary(ms)} ms")
        else:
            torch.set_num_threads(threads)
            rows = []
            for name, work in ours_work.items():
                ours_ms, torch_ms = take_turns([work, torch_work[name]], args.repeats)
                rows.append(row(name, ours_ms, torch_ms))
            print(table(rows))
        print("\n".join(quietness.report()))


if __name__ == "__main__":
    main()
