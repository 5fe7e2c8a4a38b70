"""What each call of the spec costs the reference solution, in busy seconds: the base of the
time limits of the isolated backend (a call may take `Limits.call_multiple` times as long, and
never less than `Limits.call_seconds`).

calibration.json is written by `python scripts/calibrate.py` (the spec run isolated against the
bundled solution, on a quiet machine); it holds only the calls that cost at least THRESHOLD, the
others get the floor. Keys: test node id, then the call as the backend names it in messages.
"""

from __future__ import annotations

import json
from pathlib import Path

FILE = Path(__file__).with_name("calibration.json")
THRESHOLD = 0.01  # seconds: a cheaper call's limit is the floor whatever the multiple


def load(path: Path = FILE) -> dict[str, dict[str, float]]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}


def kept(costs: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """The costs worth writing down, rounded up to milliseconds, in a stable order."""
    chosen = {
        test: {
            call: round(seconds + 0.0005, 3)
            for call, seconds in sorted(calls.items())
            if seconds >= THRESHOLD
        }
        for test, calls in sorted(costs.items())
    }
    return {test: calls for test, calls in chosen.items() if calls}
