"""Synthesis throughput against the loopback chat-completions server: achieved requests/s vs the limit.

The limit of a run is concurrency / mean latency (requests/s if every slot were always busy).
Runs: (a) latency jittered uniformly in 0.5-2.5 s at concurrency 64 and 256 (target >= 0.9 of the
limit at both), (b) a fixed 0.2 s at concurrency 64 (shows the client's own overhead), and the
resume figure: requests sent when a finished run is run again (target 0). Items are
``--type translate`` of one assistant turn: one request each. The server runs in its own process.

    python bench/synth_throughput.py [--items 2000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import machine  # noqa: E402


def serve(latency: tuple, pipe) -> None:
    from tests.synth.endpoint import FakeEndpoint, jitter

    server = FakeEndpoint(latency=jitter(*latency) if latency[0] != latency[1] else latency[0])
    pipe.send(server.url)
    pipe.recv()  # until told to stop
    server.close()


def run(store, items: int, latency: tuple[float, float], concurrency: int, seed: int, into: str) -> dict:
    from mmdata.synth import synthesize

    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=serve, args=(latency, child), daemon=True)
    process.start()
    url = parent.recv()
    try:
        result = synthesize(
            "translate", ["chats"], into, store, endpoint=url, concurrency=concurrency, seed=seed, limit=items, checkpoint=0
        )
    finally:
        parent.send("stop")
        process.join()
    mean = sum(latency) / 2
    limit = concurrency / mean
    achieved = result.requests_sent / result.seconds if result.seconds else 0.0
    return {
        "sent": result.requests_sent,
        "seconds": result.seconds,
        "achieved": achieved,
        "limit": limit,
        "ratio": achieved / limit,
        "made": result.made,
    }


def ideal_ratio(items: int, concurrency: int, latency: tuple[float, float], runs: int = 20) -> float:
    """What a perfect client (zero overhead, a slot refilled the instant it frees) reaches against the
    same limit: the last wave's drain alone keeps short runs below 1.0."""
    import heapq
    import random

    ratios = []
    for seed in range(runs):
        rng = random.Random(seed)
        slots = [0.0] * concurrency
        for _ in range(items):
            heapq.heappush(slots, heapq.heappop(slots) + rng.uniform(*latency))
        ratios.append(items / max(slots) / (concurrency / (sum(latency) / 2)))
    return sum(ratios) / runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--long-items", type=int, default=8000, help="a longer run at 256, where the final drain matters less")
    args = parser.parse_args()
    from mmdata.importing import import_
    from mmdata.store.lake import Store

    print(f"# synthesis throughput on {machine()}, {args.items} items (one request each)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store = Store(tmp / "store")
        rows = [
            {
                "kind": "text",
                "chat": [
                    {
                        "role": "user",
                        "content": f"Question number {i} about Malaysia?",
                        "content_ms": f"Soalan nombor {i} tentang Malaysia?",
                    },
                    {"role": "assistant", "content": f"This is the answer number {i} and it is about Malaysia."},
                ],
            }
            for i in range(max(args.items, args.long_items))
        ]
        (tmp / "chats.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        import_(tmp / "chats.jsonl", "chats", store)
        runs = [
            ("jittered 0.5-2.5 s", (0.5, 2.5), 64, args.items),
            ("jittered 0.5-2.5 s", (0.5, 2.5), 256, args.items),
            ("fixed 0.2 s", (0.2, 0.2), 64, args.items),
            ("jittered 0.5-2.5 s", (0.5, 2.5), 256, args.long_items),
        ]
        first = None
        for seed, (name, latency, concurrency, items) in enumerate(runs):
            figures = run(store, items, latency, concurrency, seed, f"out{seed}")
            first = first or (latency, concurrency, seed)
            ideal = ideal_ratio(items, concurrency, latency)
            print(
                f"{name:20s} concurrency {concurrency:3d}, {items} items: {figures['sent']} requests in {figures['seconds']:.1f} s = "
                f"{figures['achieved']:.1f} req/s; limit {figures['limit']:.1f} req/s; ratio {figures['ratio']:.2f}"
                + ("  (target >= 0.9)" if latency[0] != latency[1] else "  (client overhead)")
                + f"; a perfect client: {ideal:.2f}, so ours reaches {figures['ratio'] / ideal:.2f} of that"
            )
        again = run(store, args.items, first[0], first[1], first[2], "out0")
        print(f"resume: re-running the first finished run sent {again['sent']} requests (target 0)")


if __name__ == "__main__":
    main()
