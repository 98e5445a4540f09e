"""PNG charts of a mixture report, for a person to glance at (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

from mmdata.extras import import_extra


def plot_report(report: dict, lengths: list[int], out: str | Path) -> list[Path]:
    """Write lengths.png, share_by_source.png and share_by_language_kind.png into ``out``; their paths."""
    matplotlib = import_extra("matplotlib", "mix", "--plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    figure, axis = plt.subplots(figsize=(7, 4))
    axis.hist(lengths, bins=min(50, max(5, len(set(lengths)))), color="#2e8b57")
    axis.set(title=f"Characters per row ({report['rows']:,} rows)", xlabel="characters", ylabel="rows")
    written.append(_save(figure, out / "lengths.png"))

    sources = report["by_source"]
    figure, axis = plt.subplots(figsize=(7, 4))
    positions = range(len(sources))
    axis.bar(
        [p - 0.2 for p in positions], [s.get("planned_share", 0) for s in sources], width=0.4, label="planned", color="#bbbbbb"
    )
    axis.bar([p + 0.2 for p in positions], [s["share"] for s in sources], width=0.4, label="achieved", color="#c0392b")
    axis.set_xticks(list(positions), [s["value"] for s in sources], rotation=20, ha="right")
    axis.set(title="Share by source", ylabel="share of rows")
    axis.legend()
    written.append(_save(figure, out / "share_by_source.png"))

    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
    for axis, name, title in ((left, "by_language", "Share by language"), (right, "by_kind", "Share by kind")):
        rows = report[name]
        axis.bar([str(r["value"]) for r in rows], [r["share"] for r in rows], color="#4b0082")
        axis.set(title=title, ylabel="share of rows")
        axis.tick_params(axis="x", labelrotation=20)
    written.append(_save(figure, out / "share_by_language_kind.png"))
    return written


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(figure)
    return path
