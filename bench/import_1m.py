"""Import throughput and peak memory: N generated conversations (default 1,000,000) through `mmdata import`.

Each size runs in a fresh subprocess so its peak RSS is its own. The baseline is reading and
parsing the same JSONL with json.loads in the same way (no validation, media, or store), so the
ratio says what validation + media resolution + staging + the DuckLake commit cost on top.

    python bench/import_1m.py [N ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, make_media, write_conversations  # noqa: E402

RUN_IMPORT = """
import json, resource, sys, time
from mmdata.importing import import_
start = time.perf_counter()
r = import_(sys.argv[1], "bench", sys.argv[2], format="mmdata")
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "imported": r.imported, "rejected": r.rejected,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

RUN_BASELINE = """
import json, resource, sys, time
start = time.perf_counter()
n = 0
with open(sys.argv[1]) as fh:
    for line in fh:
        json.loads(line); n += 1
print(json.dumps({"seconds": time.perf_counter() - start, "rows": n,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(sizes: list[int]) -> None:
    print(f"# import benchmark on {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        images, audios = make_media(tmp)
        for n in sizes:
            data = tmp / f"conversations-{n}.jsonl"
            start = time.perf_counter()
            write_conversations(data, n, images, audios)
            size_mib = data.stat().st_size / 2**20
            print(f"generated {n:,} conversations ({size_mib:,.0f} MiB) in {time.perf_counter() - start:.1f} s")
            base = run(RUN_BASELINE, str(data))
            result = run(RUN_IMPORT, str(data), str(tmp / f"store-{n}"))
            assert result["imported"] == n and result["rejected"] == 0, result
            rate, base_rate = n / result["seconds"], n / base["seconds"]
            print(
                f"n={n:,}: mmdata import {result['seconds']:.1f} s = {rate:,.0f} rows/s, peak RSS {result['rss_mib']:,.0f} MiB | "
                f"baseline json.loads {base['seconds']:.1f} s = {base_rate:,.0f} rows/s, peak RSS {base['rss_mib']:,.0f} MiB | "
                f"time ratio {result['seconds'] / base['seconds']:.1f}x | RSS under 2 GiB: {result['rss_mib'] < 2048}"
            )
            data.unlink()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])
