"""``demo``: build a store from the bundled samples and walk through import, validate, query, diff, export.

The walk-through is a generator of steps, so the library prints nothing: the CLI renders each.
Training on the demo mixture is mmtrain's part (``mmtrain.demo``): the CLI appends its steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mmdata.errors import MmdataError
from mmdata.store.lake import Store

SAMPLES = Path(__file__).parent / "samples"


@dataclass
class DemoStep:
    title: str
    command: str  # the CLI command a user would type for the same thing
    text: str = ""
    rows: list[dict] | None = None
    fields: dict | None = None


def _import_step(store: Store, source: str, into: str, what: str, replace: bool = False) -> DemoStep:
    from mmdata.importing import import_

    result = import_(SAMPLES / source, into=into, store=store, replace=replace)
    return DemoStep(
        f"Import {what}",
        f"mmdata import {source} --into {into}" + (" --replace" if replace else ""),
        f"{result.message} (detected format: {result.format})",
        [{k: v for k, v in s.items() if k != "file"} for s in result.reject_samples] or None,
    )


def _crawl_step(store: Store) -> DemoStep:
    """yt-dlp over the bundled clips as file:// URLs: the same path a YouTube crawl takes, offline."""
    urls = [f"file://{path}" for path in sorted((SAMPLES / "audio").glob("*.wav"))]
    command = "mmdata crawl file:///.../azan-tone.wav ... --into crawled   (or YouTube URLs, playlists, ytsearch10:...)"
    try:
        from mmdata.crawl import crawl

        result = crawl(urls, into="crawled", store=store)
    except ImportError:
        return DemoStep("Crawl audio with yt-dlp", command, "skipped: needs the crawl extra (pip install 'mmdata[crawl]')")
    return DemoStep(
        "Crawl audio with yt-dlp",
        command,
        f"{result.message}. Stored as 16 kHz mono Opus with provenance; transcribe them with "
        "`mmdata transcribe crawled --into crawled_tx` (downloads a Whisper model; see docs/crawl.md).",
    )


DEMO_PORT = 47816  # the pages' URLs are the crawl's keys: the same port makes a re-run find them done


def _pages_steps(store: Store) -> Iterator[DemoStep]:
    """The bundled pages (two recipes, a car listing, a noai page) served on loopback, crawled with
    Scrapy into image records with their structured context, then made into bilingual conversations
    by the shipped templates: web pages to a visual dataset with no network and no model."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):  # the demo prints its own steps
            pass

        def end_headers(self):
            self.send_header("Connection", "close")  # lets the server shut down without waiting on keep-alive
            super().end_headers()

    handler = functools.partial(Quiet, directory=str(SAMPLES / "pages"))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", DEMO_PORT), handler)
    except OSError:  # the port is taken: any free one (a re-run then fetches the pages again, adding nothing)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    command = f"mmdata crawl-pages {base}/index.html --into pages --depth 1 --delay 0 --contact you@example.org"
    title = "Crawl web pages for pictures with structured context"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        from mmdata.crawl.pages import crawl_pages

        # delay 0: our own loopback server; a real site gets the default 1 s (docs/crawl.md)
        result = crawl_pages([f"{base}/index.html"], into="pages", store=store, depth=1, delay=0, contact="you@example.org")
    except ImportError:  # MissingExtra is one too
        yield DemoStep(title, command, "skipped: needs the pages extra (pip install 'mmdata[pages]')")
        return
    finally:
        server.shutdown()
        server.server_close()
    from mmdata.querying import query

    rows = query(
        "SELECT title, attributes->>'schema_type' AS type, attributes->>'language' AS language, license, "
        "width || 'x' || height AS size FROM pages ORDER BY title",
        store=store,
    ).table.to_pylist()
    yield DemoStep(
        title,
        command,
        f"{result.message}. The failures are rejects with a rule: the index page has no picture (no-usable-image), "
        "the noai page refuses AI use (noai). robots.txt, a user agent with a contact, per-host delays and no "
        "cookies are always on (docs/crawl.md).",
        rows,
    )

    command = "mmdata synthesize --type visual-context --from pages --into pages_chat --templates"
    try:
        from mmdata.synth import synthesize

        made = synthesize("visual-context", sources=["pages"], into="pages_chat", store=store, templates=True)
    except ImportError:  # MissingExtra is one too
        yield DemoStep("Turn them into conversations", command, "skipped: needs the synth extra (pip install 'mmdata[synth]')")
        return
    # the conversation about the Malay recipe's photo, turn by turn, in Malay
    turns = query(
        "SELECT t.role, t.content_ms FROM (SELECT unnest(chat) AS t FROM (SELECT c.chat FROM pages_chat c JOIN pages p "
        "ON list_contains(c.images, p.media_id) WHERE p.attributes->>'language' = 'ms' ORDER BY c.id LIMIT 1))",
        store=store,
    ).table.to_pylist()
    yield DemoStep("Turn them into bilingual conversations (templates: no model)", command, f"{made.message}.", turns or None)


def _synth_step(store: Store) -> DemoStep:
    """A dry run of relationship synthesis: the prompts it would send, with no endpoint needed."""
    command = "mmdata synthesize --type multi-image --from images --into multi_image --dry-run"
    try:
        from mmdata.synth import synthesize

        result = synthesize("multi-image", sources=["images"], into="multi_image", store=store, dry_run=True)
    except ImportError:
        return DemoStep("Plan a synthesis run", command, "skipped: needs the synth extra (pip install 'mmdata[synth]')")
    first = result.prompts[0]["messages"][0]["content"]
    return DemoStep(
        "Plan a synthesis run (dry run: nothing sent)",
        command,
        f"{result.message}. First prompt:\n{first}\nWith a server: add --endpoint URL --model NAME (docs/synthesize.md).",
    )


def _mix_step(store: Store) -> DemoStep:
    from mmdata.mix import mix
    from mmdata.records import specs_dir

    result = mix(specs_dir() / "mixes" / "demo.yaml", store=store)
    rows = [
        {"source": r["value"], "rows": r["rows"], "share": r["share"], "planned_share": r.get("planned_share")}
        for r in result.report["by_source"]
    ]
    languages = ", ".join(f"{r['value']} {r['share']:.0%}" for r in result.report["by_language"])
    splits = ", ".join(f"{r['value']} {r['rows']}" for r in result.report["by_split"])
    return DemoStep(
        "Mix datasets by a reviewed spec",
        "mmdata mix --spec specs/mixes/demo.yaml",
        f"{result.message}; languages: {languages}; split: {splits}",
        rows,
    )


def demo(store: Store | str | None = None) -> Iterator[DemoStep]:
    """Run the demo against ``store`` step by step; safe to run again (re-imports add nothing)."""
    from mmdata.exporters import export
    from mmdata.history import diff, tag
    from mmdata.inspect import ls, stats
    from mmdata.querying import query
    from mmdata.validation import validate

    store = Store.of(store)
    yield DemoStep("Store", f"mmdata --store {store.root} ...", f"Using the store at {store.root.resolve()}")
    yield _import_step(store, "audio_instructions.jsonl", "audio_chat", "the reference audio-instruction JSONL")
    yield _import_step(store, "relationships.jsonl", "relations", "the reference multi-image / multi-audio / image-audio JSONL")
    yield _import_step(store, "llava.json", "llava_chat", "LLaVA JSON")
    yield _import_step(store, "sharegpt.json", "sharegpt_chat", "LLaMA-Factory sharegpt")
    yield _import_step(store, "images", "images", "a folder of images with metadata.csv")

    yield _crawl_step(store)
    yield from _pages_steps(store)

    report = validate(SAMPLES / "relationships.jsonl", store=store)
    yield DemoStep(
        "Validate a file before importing it",
        "mmdata validate relationships.jsonl",
        f"{report.checked} records, {report.invalid} invalid: exit code {0 if report.ok else 1}",
        report.samples,
    )
    report = validate("audio_chat", store=store)
    yield DemoStep(
        "Validate a stored dataset",
        "mmdata validate audio_chat",
        f"{report.checked} records, {'clean' if report.ok else f'{report.invalid} invalid'}",
    )

    yield _synth_step(store)
    yield DemoStep("Datasets in the store", "mmdata ls", rows=ls(store=store))
    union = " UNION ALL ".join(
        f"SELECT kind, len(chat) AS turns FROM {n}" for n in ("audio_chat", "relations", "llava_chat", "sharegpt_chat")
    )
    for title, sql in [
        (
            "Query: conversations by kind",
            f"SELECT kind, count(*) AS records, sum(turns) AS turns FROM ({union}) GROUP BY kind ORDER BY kind",
        ),
        (
            "Query: turns by role, with Malay fill",
            "SELECT t.role, count(*) AS turns, count(t.content_ms) AS with_malay "
            "FROM (SELECT unnest(chat) AS t FROM audio_chat) GROUP BY t.role ORDER BY t.role",
        ),
        (
            "Query: every conversation that uses one image",
            "SELECT r.kind, r.chat[1].content AS first_turn FROM relations r "
            "JOIN images i ON list_contains(r.images, i.media_id) WHERE i.title = 'Teh tarik'",
        ),
    ]:
        yield DemoStep(title, f'mmdata query "{sql}"', rows=query(sql, store=store).table.to_pylist())

    yield _import_step(
        store,
        "audio_instructions_fix.jsonl",
        "audio_chat",
        "a corrected file in place of the first (fixes a translation, edits an answer)",
        replace=True,
    )
    changes = diff("audio_chat@1", "audio_chat@2", store=store)
    yield DemoStep("What changed between two versions", "mmdata diff audio_chat@1 audio_chat@2", rows=[changes["counts"]])
    tag("audio_chat@2", name="stable", store=store)
    yield DemoStep("Tag the version you trust", "mmdata tag audio_chat@2 stable", "audio_chat@stable -> audio_chat@2")
    yield DemoStep("Shape of the data", "mmdata stats audio_chat@stable", fields=stats("audio_chat@stable", store=store))

    yield _mix_step(store)

    for format in ("sharegpt", "llava", "hf"):
        out = store.root / "exports" / f"audio_chat@2-{format}"
        command = f"mmdata export audio_chat@stable --format {format} --out {out}"
        if out.exists():
            yield DemoStep(f"Export as {format}", command, f"already exported to {out}")
            continue
        try:
            result = export("audio_chat@stable", format=format, out=out, store=store)
        except MmdataError as exc:  # the hf export needs the optional extra
            yield DemoStep(f"Export as {format}", command, f"skipped: {exc}")
            continue
        yield DemoStep(f"Export as {format}", command, f"{result['records']} records -> {out}")

    yield DemoStep(
        "Look at and listen to the data",
        f"mmdata --store {store.root} browse audio_chat@stable --open",
        "A local web page over this store: the records with their pictures and clips, history and "
        "lineage, diffs, stats and SQL (pip install 'mmdata[web]'; see docs/browse.md).",
    )
