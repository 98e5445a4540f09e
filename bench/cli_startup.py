"""`mmdata --help` cold start vs `python -c pass` (target: under 0.3 s), median of 10 runs each."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402


def median_seconds(command: list[str], runs: int = 10) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    beside = Path(sys.executable).parent / "mmdata"  # the mmdata of this interpreter's environment
    mmdata = str(beside) if beside.exists() else shutil.which("mmdata")
    base = median_seconds([sys.executable, "-c", "pass"])
    ours = median_seconds([mmdata, "--help"])
    print(f"# CLI start-up on {machine()}")
    print(
        f"python -c pass {base * 1000:.0f} ms | mmdata --help {ours * 1000:.0f} ms | ratio {ours / base:.1f}x | "
        f"overhead {(ours - base) * 1000:.0f} ms | under 0.3 s: {ours < 0.3}"
    )


if __name__ == "__main__":
    main()
