"""A version's stats as charts: the numbers ``mmdata stats`` gives (turns, lengths, media per record,
Malay fill, kinds; durations for audio), the distributions behind them, and for a mixture its
planned against achieved shares. Charts are inline SVG drawn by the macros in ``_charts.html``."""

from __future__ import annotations

from starlette.routing import Route

from mmdata.browse.view import page
from mmdata.inspect import stats
from mmdata.store.lake import Store
from mmdata.store.versions import resolve

BINS = 12

# Per record kind: (title, unit, SQL giving one value ``v`` per record or clip, over {rel}).
_DISTRIBUTIONS = {
    "conversation": [
        ("Turns per record", "turns", "SELECT len(chat) AS v FROM {rel}"),
        ("Characters per record", "chars", "SELECT list_sum(list_transform(chat, lambda t: len(t.content))) AS v FROM {rel}"),
        ("Images per record", "images", "SELECT len(images) AS v FROM {rel}"),
        ("Clips per record", "clips", "SELECT len(audios) AS v FROM {rel}"),
        (
            "Clip durations",
            "s",
            "SELECT round(m.duration_s, 1) AS v FROM (SELECT unnest(audios) AS a FROM {rel}) JOIN lake._media m ON m.id = a",
        ),
    ],
    "audio": [("Durations", "s", "SELECT round(duration, 1) AS v FROM {rel}")],
    "transcript": [
        ("Segment durations", "s", 'SELECT round("end" - start, 1) AS v FROM {rel}'),
        ("Characters of Malay text", "chars", "SELECT len(text_ms) AS v FROM {rel}"),
    ],
    "image": [("Widths", "px", "SELECT width AS v FROM {rel}"), ("Heights", "px", "SELECT height AS v FROM {rel}")],
}


def bins(counts: list[tuple[float, int]], most: int = BINS) -> list[dict]:
    """(value, count) pairs as at most ``most`` bars: one per value when they are few whole
    numbers, else equal-width ranges."""
    counts = sorted((v, n) for v, n in counts if v is not None)
    if not counts:
        return []
    low, high = counts[0][0], counts[-1][0]
    if low == high:
        return [{"label": f"{low:g}", "n": sum(n for _, n in counts)}]
    whole = all(float(v).is_integer() for v, _ in counts)
    if whole and high - low < most:
        found = dict(counts)
        return [{"label": f"{int(v)}", "n": found.get(v, 0)} for v in range(int(low), int(high) + 1)]
    width = (high - low) / most or 1
    if whole:
        width = max(int(-(-width // 1)), 1)
    out = [{"low": low + i * width, "n": 0} for i in range(most)]
    for v, n in counts:
        out[min(int((v - low) / width), most - 1)]["n"] += n
    for b in out:
        b["label"] = f"{b['low']:g}–{b['low'] + width:g}" if not whole else f"{int(b['low'])}–{int(b['low'] + width) - 1}"
    while out and out[-1]["n"] == 0:
        out.pop()
    return out


def distributions(ref: str, store: Store) -> list[dict]:
    """Histograms of version ``ref``: per record (turns, characters, media) and per clip (durations)."""
    with store.reader() as con:
        version = resolve(con, ref)
        out = []
        for title, unit, sql in _DISTRIBUTIONS.get(version.record_kind, []):
            rows = con.execute(f"SELECT v, count(*) FROM ({sql.format(rel=version.relation)}) GROUP BY v").fetchall()
            out.append({"title": title, "unit": unit, "bins": bins([(float(v), n) for v, n in rows if v is not None])})
    return [d for d in out if d["bins"]]


def _bars(title: str, items: list[tuple[str, list]], series: list[str] | None = None, unit: str = "", top=None) -> dict:
    items = [{"label": str(label), "values": [v or 0 for v in values]} for label, values in items]
    return {"title": title, "items": items, "series": series or [], "unit": unit, "top": top}


def charts(numbers: dict) -> list[dict]:
    """The numbers of ``stats`` as bar charts."""
    kind = numbers["record_kind"]
    if kind == "conversation":
        out = [
            _bars("Turns", [("min", [numbers["turns_min"]]), ("mean", [numbers["turns_mean"]]), ("max", [numbers["turns_max"]])]),
            _bars(
                "Characters per turn (mean)",
                [("user", [numbers["user_chars_mean"]]), ("assistant", [numbers["assistant_chars_mean"]])],
            ),
            _bars(
                "Media per record",
                [
                    ("images", [numbers["images_mean"], numbers["images_max"]]),
                    ("clips", [numbers["audios_mean"], numbers["audios_max"]]),
                ],
                ["mean", "max"],
            ),
            _bars(
                "Malay fill",
                [
                    ("turns with Malay", [numbers["content_ms_turns_pct"]]),
                    ("records all Malay", [numbers["fully_malay_records_pct"]]),
                ],
                unit="%",
                top=100,
            ),
            _bars("Kinds", [(k, [n]) for k, n in numbers["kinds"].items()], unit=" records"),
        ]
    else:
        filled = [k for k in numbers if k.startswith("with_") or k == "repeated_ngram"]
        out = [_bars("Fields filled", [(k, [numbers[k]]) for k in filled], unit=" records", top=numbers["records"])]
    mixture = numbers.get("mixture")
    if mixture:
        for title, key in (("Sources", "by_source"), ("Languages", "by_language"), ("Splits", "by_split")):
            rows = mixture[key]
            planned = any("planned_share" in r for r in rows)
            out.append(
                _bars(
                    f"Mixture: {title.lower()}, {'planned vs achieved ' if planned else ''}share",
                    [
                        (
                            r["value"] or "(none)",
                            [r.get("planned_share", 0) * 100, r["share"] * 100] if planned else [r["share"] * 100],
                        )
                        for r in rows
                    ],
                    ["planned", "achieved"] if planned else None,
                    unit="%",
                    top=100,
                )
            )
    return out


def stats_page(request):
    """``/d/{ref}/stats``: the numbers, the distributions, and a mixture's planned vs achieved shares."""
    ref, store = request.path_params["ref"], request.app.state.store
    numbers = stats(ref, store)
    plain = {k: v for k, v in numbers.items() if not isinstance(v, dict | list) and k not in ("version", "record_kind")}
    return page(
        request,
        "stats.html",
        ref=ref,
        numbers=numbers,
        plain=plain,
        charts=charts(numbers),
        distributions=distributions(ref, store),
        mixture=numbers.get("mixture"),
    )


ROUTES = [Route("/d/{ref}/stats", stats_page, name="stats")]
