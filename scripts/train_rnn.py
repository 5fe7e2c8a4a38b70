"""Train the reference solution's RNN or LSTM to forecast the yearly sunspot number.

The series, 1700-2008, ships inside the statsmodels wheel, so nothing is downloaded. Each year's
value is the input and the next year's the target: one-step-ahead forecasting. Targets up to
1920 train, 1921-1955 validate (early stopping, best.pkl), 1956-2008 are the test, scored once
at the end with best.pkl, against the naive forecast "next year as this year":

    python scripts/train_rnn.py --model lstm

Truncated backpropagation through time: the training years are cut into consecutive windows of
--window years, one update per window. With `memorize = True` a window starts from the hidden
state the one before ended in, while its gradients stop at its first year. --window 0 is full
BPTT: the whole training sequence, one update per epoch.

No optimizer is set on the layer, so its backward leaves the gradients and updates nothing; the
script clips them by their joint norm and hands each to the optimizer of its weight matrix.
"""

import argparse
import copy
import json
import math
import os
import pickle
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import training
from threadpoolctl import threadpool_limits
from tqdm import tqdm

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "solution"))  # the reference layers, imported as students' are
from Layers.Initializers import Constant, Xavier  # noqa: E402
from Layers.LSTM import LSTM  # noqa: E402
from Layers.RNN import RNN  # noqa: E402
from Optimization.Optimizers import Adam, Sgd, SgdWithMomentum  # noqa: E402

LAYERS = {"rnn": RNN, "lstm": LSTM}
OPTIMIZERS = {
    "adam": lambda rate: Adam(rate, 0.9, 0.999),
    "momentum": lambda rate: SgdWithMomentum(rate, 0.9),
    "sgd": Sgd,
}
# The weight matrices of the RNN and the LSTM alike, each with the gradient backward leaves.
PARAMETERS = (("weights", "gradient_weights"), ("output_weights", "gradient_output_weights"))

# Weigend, Huberman and Rumelhart (1990) trained on 1700-1920 and tested on 1921-1955 and
# 1956-1979, the split the sunspot literature has kept; here 1921-1955 validates and the rest of
# statsmodels' series, 1956-2008, is the test.
VALIDATION_FROM, TEST_FROM = 1921, 1956
# The training years' range is mapped onto [0.1, 0.7]: the sigmoid output reaches neither 0 nor
# 1, and later cycles peak higher than any before 1921 (1957: 190, against 154 in 1778).
SCALED_LOW, SCALED_HIGH = 0.1, 0.7


# ----------------------------------------------------------------------------- data
def sunspots_path():
    """statsmodels ships the yearly sunspot numbers 1700-2008 as a CSV inside its wheel."""
    return training.package_file(
        "statsmodels", "datasets", "sunspots", "sunspots.csv", holds="the sunspot numbers"
    )


def load_sunspots():
    """Years (309,) and their yearly mean sunspot numbers (309,)."""
    table = np.loadtxt(sunspots_path(), delimiter=",", skiprows=1)  # "YEAR","SUNACTIVITY"
    return table[:, 0].astype(int), table[:, 1]


@dataclass
class Series:
    """One-step-ahead pairs: inputs[k] is one year's scaled value, targets[k] the next year's.

    parts maps "train", "validation" and "test" to the slice of the pairs whose target year is
    in that part. A scaled value s is the sunspot number offset + factor * s.
    """

    target_years: npt.NDArray[np.int64]  # (steps,)
    inputs: npt.NDArray[np.float64]  # (steps, 1): time on axis 0, one feature, as layers take it
    targets: npt.NDArray[np.float64]  # (steps, 1)
    parts: dict[str, slice]
    offset: float
    factor: float

    def rmse(self, predictions, part):
        """Root mean squared error, in sunspot numbers, over the pairs of `part`."""
        chosen = self.parts[part]
        return float(
            self.factor * np.sqrt(np.mean((predictions[chosen] - self.targets[chosen]) ** 2))
        )

    def naive_rmse(self, part):
        """The error of forecasting each year as the year before."""
        return self.rmse(self.inputs, part)

    def describe(self):
        return {
            part: f"{self.target_years[chosen][0]}-{self.target_years[chosen][-1]}"
            for part, chosen in self.parts.items()
        } | {"sunspot number": f"{self.offset:.4g} + {self.factor:.4g} * scaled value"}


def make_series(years, values, limit=None):
    """The pairs, scaled by the training years' range; `limit` keeps the first training pairs."""
    known = values[years < VALIDATION_FROM]
    factor = (known.max() - known.min()) / (SCALED_HIGH - SCALED_LOW)
    offset = known.min() - SCALED_LOW * factor
    scaled = (values - offset) / factor
    target_years = years[1:]
    train_end = int(np.sum(target_years < VALIDATION_FROM))
    validation_end = int(np.sum(target_years < TEST_FROM))
    parts = {
        "train": slice(0, train_end if limit is None else min(limit, train_end)),
        "validation": slice(train_end, validation_end),
        "test": slice(validation_end, len(target_years)),
    }
    return Series(target_years, scaled[:-1, None], scaled[1:, None], parts, offset, factor)


def windows(steps, length):
    """Consecutive (start, stop) windows over range(steps); length 0: one window of all steps."""
    length = length or steps
    return [(start, min(start + length, steps)) for start in range(0, steps, length)]


# ----------------------------------------------------------------------------- training
def clip_by_norm(gradients, max_norm):
    """Scale the gradients by one factor so that their joint L2 norm is at most max_norm.

    norm = sqrt(sum_i ||g_i||^2); above max_norm each g_i becomes g_i * max_norm / norm, so the
    step keeps its direction and only its length is capped (Pascanu, Mikolov and Bengio 2013).
    Below it the gradients are returned untouched. Returns (gradients, norm before clipping).
    """
    norm = math.sqrt(sum(float(np.sum(gradient**2)) for gradient in gradients))
    if not norm > max_norm:
        return list(gradients), norm
    return [gradient * (max_norm / norm) for gradient in gradients], norm


def build(model, hidden_size, optimizer, learning_rate, seed, mean_target):
    """A fresh layer, one input and one output, and an optimizer for each weight matrix."""
    np.random.seed(seed)  # the initializers draw from np.random
    layer = LAYERS[model](1, hidden_size, 1)
    layer.initialize(Xavier(), Constant(0.0))
    # The output bias (the last row) starts where the sigmoid gives the mean training target:
    # the first forecasts are the mean, not sigmoid(0) = 0.5, above most of the targets.
    layer.output_weights[-1] = np.log(mean_target / (1 - mean_target))
    return layer, [OPTIMIZERS[optimizer](learning_rate) for _ in PARAMETERS]


def train_window(layer, optimizers, inputs, targets, max_norm):
    """One window forward, back through its time steps, clipped, one update; returns the norm.

    The loss is the mean squared error of the window's forecasts, so that a learning rate means
    the same for every window length: d mean(e^2) / d prediction = 2 e / steps.
    """
    errors = layer.forward(inputs) - targets
    layer.backward(2 * errors / len(errors))
    gradients, norm = clip_by_norm([getattr(layer, name) for _, name in PARAMETERS], max_norm)
    for (weights, _), optimizer, gradient in zip(PARAMETERS, optimizers, gradients, strict=True):
        setattr(layer, weights, optimizer.calculate_update(getattr(layer, weights), gradient))
    return norm


def forecast(layer, inputs):
    """One-step forecasts over the whole series, from 1700 and a zero state. A copy of the layer
    makes them, so that the state and the cache of the one in training stay as they are."""
    layer = copy.deepcopy(layer)
    layer.memorize = False
    return layer.forward(inputs)


def fresh_position(epoch):
    """Where training goes on: an epoch, a window in it, and that epoch's gradient norms so far."""
    return {
        "epoch": epoch,
        "window": 0,
        "gradient_norm_sum": 0.0,
        "gradient_norm_max": 0.0,
        "clipped": 0,
        "seconds": 0.0,
    }


def run_epoch(layer, optimizers, series, spans, position, max_norm, ctrl_c):
    """Train from position to the end of its epoch, or until Ctrl-C (then returns False)."""
    started = time.perf_counter()
    try:
        while position["window"] < len(spans):
            start, stop = spans[position["window"]]
            # The first window of an epoch starts in 1700 from a zero state, each later one
            # from the state the window before it ended in: truncated BPTT.
            layer.memorize = position["window"] > 0
            inputs, targets = series.inputs[start:stop], series.targets[start:stop]
            norm = train_window(layer, optimizers, inputs, targets, max_norm)
            position["window"] += 1
            position["gradient_norm_sum"] += norm
            position["gradient_norm_max"] = max(position["gradient_norm_max"], norm)
            position["clipped"] += norm > max_norm
            if ctrl_c.pressed:
                return False
        return True
    finally:
        position["seconds"] += time.perf_counter() - started


def epoch_row(layer, series, position, spans, learning_rate):
    """The row of metrics.json for a finished epoch (epoch 0: the initial network)."""
    predictions = forecast(layer, series.inputs)
    trained = position["window"] > 0
    return {
        "epoch": position["epoch"],
        "learning_rate": learning_rate,
        "train_rmse": series.rmse(predictions, "train"),
        "validation_rmse": series.rmse(predictions, "validation"),
        "gradient_norm_mean": position["gradient_norm_sum"] / len(spans) if trained else None,
        "gradient_norm_max": position["gradient_norm_max"] if trained else None,
        "clipped_fraction": position["clipped"] / len(spans) if trained else None,
        "seconds": position["seconds"],
    }


def save(path, layer, optimizers, metrics):
    """Pickle the layer (weights, hidden state), its optimizers (e.g. Adam's moments) and the
    record of the run, where it goes on included: --resume needs this one file. It is replaced
    whole, so a second Ctrl-C while writing leaves the old checkpoint intact."""
    # A layer keeps its last forward's cache (every step's gates and states) and a pickle holds
    # whatever it holds; the next forward makes a new one, so the copy saved goes without.
    layer = copy.copy(layer)
    layer.cache = None
    checkpoint = {"layer": layer, "optimizers": optimizers, "metrics": metrics}
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(pickle.dumps(checkpoint))
    os.replace(partial, path)


def load(path):
    """(layer, optimizers, metrics) of a checkpoint."""
    checkpoint = pickle.loads(path.read_bytes())
    return checkpoint["layer"], checkpoint["optimizers"], checkpoint["metrics"]


# ----------------------------------------------------------------------------- plots
def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # draws into files, needs no display
    import matplotlib.pyplot as plt

    return plt


def plot_curves(metrics, path):
    """RMSE per epoch, train against validation and the naive forecast; gradient norms."""
    plt = pyplot()
    history, config = metrics["history"], metrics["config"]
    epochs = [row["epoch"] for row in history]
    figure, (rmse_axis, norm_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for part in ("train", "validation"):
        rmse_axis.plot(epochs, [row[f"{part}_rmse"] for row in history], label=part)
    naive = metrics["naive"]["validation_rmse"]
    rmse_axis.axhline(naive, color="grey", ls="--", label=f"naive, validation ({naive:.1f})")
    rmse_axis.set(xlabel="epoch", ylabel="RMSE (sunspot number)", title="one-step forecasts")
    trained = [row for row in history if row["gradient_norm_mean"] is not None]
    for statistic in ("mean", "max"):
        values = [row[f"gradient_norm_{statistic}"] for row in trained]
        norm_axis.plot([row["epoch"] for row in trained], values, label=f"{statistic} per epoch")
    if config["clip_norm"]:
        norm_axis.axhline(config["clip_norm"], color="grey", ls="--", label="clipped above")
    norm_axis.set(
        xlabel="epoch", ylabel="norm before clipping", title="gradient norm", yscale="log"
    )
    for axis in (rmse_axis, norm_axis):
        axis.grid(alpha=0.3)
        axis.legend()
    title = (
        f"{config['model'].upper()}, hidden {config['hidden']}, window {config['window'] or 'full'}"
    )
    if "test" in metrics:
        test = metrics["test"]
        title += f"; test RMSE {test['rmse']:.2f} (epoch {test['epoch']})"
        title += f", naive {test['naive_rmse']:.2f}"
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_comparison(runs, path):
    """The training RMSE per epoch of several runs (folders with a metrics.json), in one plot."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for run in runs:
        metrics = json.loads((run / "metrics.json").read_text())
        config, history = metrics["config"], metrics["history"]
        label = (
            f"{config['model'].upper()}, {config['optimizer']} lr {config['lr']:g}, "
            f"window {config['window'] or 'full'}, clipping {config['clip_norm'] or 'off'}"
        )
        axis.plot(
            [row["epoch"] for row in history], [row["train_rmse"] for row in history], label=label
        )
    naive = metrics["naive"]["train_rmse"]
    axis.axhline(naive, color="grey", ls="--", label=f"naive forecast ({naive:.1f})")
    axis.set(xlabel="epoch (0: the initial network)", ylabel="training RMSE (sunspot number)")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


# ----------------------------------------------------------------------------- command line
EPILOG = """\
outputs (in --out):
  last.pkl      the run after its latest epoch, or where Ctrl-C stopped it: a pickled dict
                {"layer": RNN or LSTM, "optimizers": [for weights, for output_weights],
                "metrics": what metrics.json holds}; --resume goes on from it
  best.pkl      the same for the epoch with the lowest validation RMSE; the test is scored with it
  metrics.json  flags, data and scaling, naive forecast, per epoch (0: the initial network) the
                RMSE of train and validation, gradient norms before clipping, the share of
                clipped updates and seconds of training (without the validation forecast); best
                epoch, test; written every --print-every epochs and when the run ends
  curves.png    RMSE and gradient norms per epoch

examples:
  python scripts/train_rnn.py --model lstm
  python scripts/train_rnn.py --model rnn --window 0 --out runs/rnn-full
  python scripts/train_rnn.py --epochs 600 --resume       # more epochs for the run in runs/lstm
  python scripts/train_rnn.py --compare runs/a runs/b --out docs/comparison.png
"""


def at_least(minimum, kind=int):
    """An argparse type: a number of `kind` that is at least minimum."""

    def parse(text):
        value = kind(text)
        if not value >= minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names it in "invalid int value: 'x'"
    return parse


def build_parser():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--model",
        choices=sorted(LAYERS),
        default="lstm",
        help="the reference solution's RNN (Elman cell) or LSTM (default: %(default)s)",
    )
    model.add_argument(
        "--hidden",
        type=at_least(1),
        default=32,
        metavar="N",
        help="size of the hidden state (default: %(default)s)",
    )

    training_flags = parser.add_argument_group("training")
    training_flags.add_argument(
        "--window",
        type=at_least(0),
        default=20,
        metavar="YEARS",
        help="truncated BPTT: the training years are cut into consecutive windows of YEARS, one "
        "update each, the hidden state carried from one window to the next (memorize); "
        "0 = full BPTT over all 220 training years, one update per epoch (default: %(default)s)",
    )
    training_flags.add_argument(
        "--limit",
        type=at_least(1),
        metavar="N",
        help="train on only the first N training years, for quick checks (default: all 220)",
    )
    training_flags.add_argument(
        "--epochs",
        type=at_least(0),
        default=300,
        metavar="N",
        help="train N epochs, passes over the training years (default: %(default)s)",
    )
    training_flags.add_argument(
        "--optimizer",
        choices=sorted(OPTIMIZERS),
        default="adam",
        help="the solution's Adam (mu 0.9, rho 0.999), SgdWithMomentum (0.9) or Sgd, one for "
        "each weight matrix (default: %(default)s)",
    )
    training_flags.add_argument(
        "--lr",
        type=at_least(0.0, float),
        default=1e-2,
        metavar="LR",
        help="initial learning rate (default: %(default)s)",
    )
    training_flags.add_argument(
        "--lr-step",
        type=at_least(1),
        default=100,
        metavar="N",
        help="step decay: every N epochs the learning rate is multiplied by --lr-gamma "
        "(default: %(default)s)",
    )
    training_flags.add_argument(
        "--lr-gamma",
        type=at_least(0.0, float),
        default=0.5,
        metavar="G",
        help="step decay factor (default: %(default)s; 1 = constant learning rate)",
    )
    training_flags.add_argument(
        "--clip-norm",
        type=at_least(0.0, float),
        default=0.1,
        metavar="C",
        help="gradient clipping: scale the gradients of an update down to a joint L2 norm of C "
        "when it is larger, keeping their direction (default: %(default)s; 0 = off)",
    )
    training_flags.add_argument(
        "--patience",
        type=at_least(1),
        default=50,
        metavar="N",
        help="early stopping: stop when the validation RMSE has not improved for N epochs "
        "(default: %(default)s)",
    )
    training_flags.add_argument(
        "--threads",
        type=at_least(1),
        default=1,
        metavar="N",
        help="threads for NumPy's matrix products (BLAS); one time step's products are tiny, "
        "so more threads only wait for each other (default: %(default)s)",
    )
    training_flags.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the initial weights; the same seed and flags give the same run "
        "(default: %(default)s)",
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="folder for checkpoints, metrics.json and curves.png (default: runs/MODEL); with "
        "--compare, the PNG file to draw",
    )
    output.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from last.pkl (the end of an epoch, or where Ctrl-C "
        "stopped it); raise --epochs to train on after a finished run",
    )
    output.add_argument(
        "--print-every",
        type=at_least(1),
        default=25,
        metavar="N",
        help="print a line for every N-th epoch and rewrite metrics.json (default: %(default)s)",
    )
    output.add_argument(
        "--compare",
        type=Path,
        nargs="+",
        metavar="RUN",
        help="train nothing: draw the training RMSE per epoch of finished runs (their --out "
        "folders) into one plot, the file --out",
    )
    return parser


def start_or_resume(args, series, spans, config):
    """The layer, its optimizers and the record of the run: fresh, or from last.pkl."""
    if args.resume:
        layer, optimizers, saved = load(training.must_exist(args.out / "last.pkl"))
        may_change = ("resume", "epochs", "threads", "print_every")
        metrics = training.resumed(saved, config, may_change)
        print(f"resuming from {args.out / 'last.pkl'} at epoch {metrics['next']['epoch']}")
        return layer, optimizers, metrics

    mean_target = float(series.targets[series.parts["train"]].mean())
    layer, optimizers = build(
        args.model, args.hidden, args.optimizer, args.lr, args.seed, mean_target
    )
    initial = epoch_row(layer, series, fresh_position(0), spans, learning_rate=None)
    metrics = {
        "config": config,
        "data": {"source": str(sunspots_path())} | series.describe(),
        "naive": {f"{part}_rmse": series.naive_rmse(part) for part in series.parts},
        "history": [initial],  # epoch 0, the initial network, then one row per finished epoch
        "best": {"epoch": 0, "validation_rmse": initial["validation_rmse"]},
        "next": fresh_position(1),
        "stopped": None,
        "seconds": 0.0,  # wall time of all invocations together
    }
    args.out.mkdir(parents=True, exist_ok=True)
    save(args.out / "last.pkl", layer, optimizers, metrics)
    shutil.copyfile(args.out / "last.pkl", args.out / "best.pkl")
    return layer, optimizers, metrics


def summary(row, is_best):
    return (
        f"epoch {row['epoch']}: lr {row['learning_rate']:.3g}, "
        f"train RMSE {row['train_rmse']:.2f}, validation RMSE {row['validation_rmse']:.2f}, "
        f"gradient norm {row['gradient_norm_mean']:.3g} (max {row['gradient_norm_max']:.3g}, "
        f"{row['clipped_fraction']:.0%} clipped)" + (", best so far" if is_best else "")
    )


def main(argv=None):
    started = time.perf_counter()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.compare:
        if args.out is None or args.out.suffix != ".png":
            parser.error("--compare draws into the PNG file given with --out")
        missing = [str(run) for run in args.compare if not (run / "metrics.json").is_file()]
        if missing:
            parser.error(f"--compare: no metrics.json in {', '.join(missing)}")
        plot_comparison(args.compare, args.out)
        print(f"wrote {args.out}")
        return 0
    if args.out is None:
        args.out = Path("runs") / args.model
    config = training.run_config(args)
    threadpool_limits(args.threads, user_api="blas")
    years, values = load_sunspots()
    series = make_series(years, values, args.limit)
    spans = windows(series.parts["train"].stop, args.window)
    layer, optimizers, metrics = start_or_resume(args, series, spans, config)
    out, seconds_before = args.out, metrics["seconds"]
    max_norm = args.clip_norm or math.inf

    def checkpoint():
        metrics["seconds"] = seconds_before + time.perf_counter() - started
        save(out / "last.pkl", layer, optimizers, metrics)

    def report():
        metrics["seconds"] = seconds_before + time.perf_counter() - started
        training.write_metrics(out, metrics)
        plot_curves(metrics, out / "curves.png")

    ctrl_c = training.CtrlC()
    position = metrics["next"]
    metrics["stopped"] = "completed"
    progress = tqdm(
        total=args.epochs,
        initial=min(position["epoch"] - 1, args.epochs),
        unit="epoch",
        dynamic_ncols=True,
        disable=None,  # no bar when the output is not a terminal (a log file, CI)
    )
    with progress:
        while position["epoch"] <= args.epochs:
            epoch = position["epoch"]
            learning_rate = training.step_decay(args.lr, epoch, args.lr_step, args.lr_gamma)
            for optimizer in optimizers:
                optimizer.learning_rate = learning_rate
            if not run_epoch(layer, optimizers, series, spans, position, max_norm, ctrl_c):
                metrics["stopped"] = "interrupted"
                checkpoint()
                report()
                break

            row = epoch_row(layer, series, position, spans, learning_rate)
            metrics["history"].append(row)
            is_best = row["validation_rmse"] < metrics["best"]["validation_rmse"]
            if is_best:
                metrics["best"] = {"epoch": epoch, "validation_rmse": row["validation_rmse"]}
            metrics["next"] = position = fresh_position(epoch + 1)
            checkpoint()
            if is_best:
                shutil.copyfile(out / "last.pkl", out / "best.pkl")
            progress.update()
            progress.set_postfix(
                train=f"{row['train_rmse']:.2f}", val=f"{row['validation_rmse']:.2f}"
            )
            if epoch % args.print_every == 0:
                # metrics.json is the report, rewritten whole: every epoch would cost more
                # than the epoch's training. --resume reads last.pkl.
                training.write_metrics(out, metrics)
                progress.write(summary(row, is_best))
            if epoch - metrics["best"]["epoch"] >= args.patience:
                metrics["stopped"] = "early stopping"
                progress.write(
                    f"early stopping: no lower validation RMSE in {args.patience} epochs"
                )
                break
    ctrl_c.restore()
    if metrics["stopped"] == "interrupted":
        print(f"interrupted: saved {out / 'last.pkl'}; --resume goes on from there")
        return 130

    best_layer, _, _ = load(out / "best.pkl")
    best = metrics["best"]["epoch"]
    metrics["test"] = {
        "epoch": best,
        "rmse": series.rmse(forecast(best_layer, series.inputs), "test"),
        "naive_rmse": metrics["naive"]["test_rmse"],
    }
    report()
    naive = metrics["naive"]
    print(
        f"best.pkl (epoch {best}): validation RMSE {metrics['best']['validation_rmse']:.2f} "
        f"(naive {naive['validation_rmse']:.2f}), test RMSE {metrics['test']['rmse']:.2f} "
        f"(naive {naive['test_rmse']:.2f})"
    )
    epoch_seconds = [row["seconds"] for row in metrics["history"][1:]]
    per_epoch = (
        f", {1000 * np.median(epoch_seconds):.1f} ms of training per epoch" if epoch_seconds else ""
    )
    print(f"{metrics['seconds']:.1f} s{per_epoch}; wrote {out}/metrics.json and {out}/curves.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
