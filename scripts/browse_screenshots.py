"""Regenerate docs/img/browse-*.png: the main pages of ``mmdata browse`` over the demo's store,
shot at 1280x800 by the same server and Chromium the browser tests use (tests/browse/browser.py).

    .venv-test/bin/python scripts/browse_screenshots.py [--out docs/img]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mmdata.store.lake import Store  # noqa: E402
from tests.browse.browser import chromium, missing, serving  # noqa: E402


def build(root: Path) -> Store:
    """The demo's store: every step run, so there are versions, a diff, rejects, a tag and a mixture."""
    from mmdata.demo_store import demo

    store = Store(root)
    for _ in demo(store):
        pass
    return store


def shots(store: Store) -> dict[str, str]:
    """Page name -> path, for the pages the docs show."""
    from urllib.parse import urlencode

    from mmdata.querying import query

    key = query("SELECT key FROM relations WHERE len(images) >= 2 ORDER BY id LIMIT 1", store).table.column(0)[0].as_py()
    sql = "SELECT kind, count(*) AS records, avg(len(chat)) AS turns FROM relations GROUP BY kind ORDER BY records DESC"
    return {
        "datasets": "/",
        "records": "/d/relations",
        "record": f"/d/relations/r/{key}",
        "history": "/d/demo_mix/history",
        "diff": "/diff?" + urlencode({"a": "audio_chat@1", "b": "audio_chat@2"}),
        "rejects": "/d/audio_chat@1/rejects",
        "stats": "/d/audio_chat@stable/stats",
        "sql": "/sql?" + urlencode({"q": sql}),
    }


def main(out: Path) -> None:
    from mmdata.browse import create_app

    if reason := missing():
        sys.exit(reason)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = build(Path(tmp) / "demo")
        with serving(create_app(store, allow_flags=True)) as url, chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            for name, path in shots(store).items():
                response = page.goto(url + path)
                page.wait_for_load_state("networkidle")
                target = out / f"browse-{name}.png"
                page.screenshot(path=str(target))
                status = response.status if response else "?"
                print(
                    f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}: {path} ({status}, {target.stat().st_size // 1024} KiB)"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    main(parser.parse_args().out)
