import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mix_benchmark_runs_and_prints_its_figures():
    """The benchmark at a toy size, so it cannot rot between the runs that record figures."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "mix.py"), "3000"], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "median: mmdata mix" in out.stdout and "| ratio " in out.stdout
    assert "near-dedupe of 3,000 short texts" in out.stdout and "peak RSS" in out.stdout
