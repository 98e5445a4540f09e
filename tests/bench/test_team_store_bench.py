import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_team_store_benchmark_runs_and_prints_its_figures():
    """The benchmark at a toy size (no transcription: that needs torch), so it cannot rot between runs."""
    from tests.servers import postgres_bin

    if postgres_bin() is None:
        pytest.skip("no PostgreSQL for the team-store benchmark")
    pytest.importorskip("moto.server")
    pytest.importorskip("psycopg")
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "team_store.py"),
            *("--n", "50", "--query-n", "500", "--writers", "1", "--commits", "1", "--rows", "3"),
            *("--sections", "import,query,writers"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "team / local:" in out.stdout and out.stdout.count("x   rows ") == 3
    assert "one shared dataset" in out.stdout and "a dataset per writer" in out.stdout
