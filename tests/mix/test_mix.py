import json

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import InputError, MmdataError
from mmdata.importing import import_
from mmdata.inspect import stats
from mmdata.mix import mix
from mmdata.store.lake import Store
from tests.conftest import write_jsonl
from tests.mix.conftest import fill, rows, spec

# Each test that uses the store fixture runs on a local and on a team store (PostgreSQL + S3).
pytestmark = pytest.mark.both_stores


def test_modes_sizes_and_lineage(sources, tmp_path):
    result = mix(
        spec(
            tmp_path,
            """
name: m
seed: 3
sources:
  - {dataset: a, take: 4}
  - {dataset: b, fraction: 0.5}
  - {dataset: c, repeat: 2.5}
""",
        ),
        sources,
    )
    planned = {p["source"]: p["planned"] for p in result.plan}
    assert planned == {"a@1": 4, "b@1": 3, "c@1": 10}
    written = rows(sources, "m")
    assert len(written) == result.rows == 17
    copies = sorted(r["extra"]["mix_copy"] for r in written if r["extra"]["mix_source"] == "c@1")
    assert copies == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]  # 2.5 epochs: two full passes and half of a third
    with sources.reader() as con:
        parents, arguments = con.execute("SELECT parents, arguments FROM lake._versions WHERE dataset = 'm'").fetchone()
    assert parents == ["a@1", "b@1", "c@1"] and len(json.loads(arguments)["spec_hash"]) == 16


def test_weights_share_and_errors_say_how_short(sources, tmp_path):
    result = mix(spec(tmp_path, "name: w\nsources:\n  - {dataset: a, weight: 2}\n  - {dataset: b, weight: 1}\n"), sources)
    # Largest mixture the weights allow without repeats: b (6 rows) caps it at 18 -> a 12 > 10, so a caps: 15 -> 10 + 5.
    assert {p["source"]: p["planned"] for p in result.plan} == {"a@1": 10, "b@1": 5}
    report = {r["value"]: r for r in result.report["by_source"]}
    assert report["a@1"]["share"] == pytest.approx(10 / 15, abs=1e-3) == report["a@1"]["planned_share"]
    with pytest.raises(InputError, match=r"spec.yaml:4: weight 2 of size 30 needs 20 rows from a@1, which has 10 .*short by 10"):
        mix(spec(tmp_path, "name: w\nsize: 30\nsources:\n  - {dataset: a, weight: 2}\n  - {dataset: b, weight: 1}\n"), sources)
    with pytest.raises(InputError, match=r"spec.yaml:3: .*take 12 is short by 2"):
        mix(spec(tmp_path, "name: w\nsources:\n  - {dataset: a, take: 12}\n"), sources)
    with pytest.raises(InputError, match=r"spec.yaml:3: a@1 has no rows after filters, so no mixture can give it weight 1"):
        mix(
            spec(
                tmp_path,
                "name: w\nsources:\n  - {dataset: a, where: \"kind = 'none'\", weight: 1}\n  - {dataset: b, weight: 1}\n",
            ),
            sources,
        )
    with pytest.raises(InputError, match=r"name: a already holds rows made by `import` \(a@1\); a mixture replaces"):
        mix(spec(tmp_path, "name: a\nsources:\n  - {dataset: a, take: 3}\n"), sources)
    # Nothing left to write says why, source by source, instead of committing an empty dataset.
    with pytest.raises(InputError, match=r"mixture would be empty: c@1 has 4 of 4 rows after filters \(no_malay 4 removed\)"):
        mix(spec(tmp_path, "name: w2\nlanguage: ms\nsources:\n  - {dataset: c}\n"), sources)
    assert (
        mix(spec(tmp_path, "name: w2\nlanguage: ms\nsources:\n  - {dataset: c}\n"), sources, dry_run=True).plan[0]["rows_ms"] == 0
    )


@pytest.mark.parametrize(
    "text,message",
    [
        ("name: x\nsources:\n  - {dataset: a, take: 2, weight: 1}\n", "spec.yaml:3: sources.0: give one of"),
        ("name: x\nsources:\n  - dataset: a\n    tkae: 2\n", "spec.yaml:3: sources.0: Additional properties"),
        ("name: x\nlanguage: fr\nsources:\n  - {dataset: a}\n", "spec.yaml:2: language"),
        ("name: x\nsources:\n  - {dataset: nope}\n", "spec.yaml:3: unknown dataset 'nope'"),
        ("name: x\nsources:\n  - {dataset: a@9}\n", "spec.yaml:3: unknown version 'a@9'"),
        ("name: x\nsources:\n  - {dataset: a, where: 'nonsense_column > 1'}\n", "spec.yaml:3: where: Binder Error"),
        ('name: x\nsources:\n  - {dataset: a, where: "true); SELECT 1; SELECT (1"}\n', "spec.yaml:3: where: give exactly one"),
        ("name: x\nsources:\n  - {dataset: a, where: \"write_log('x') IS NULL\"}\n", "spec.yaml:3: where: .*write_log"),
        (
            'name: x\nsources:\n  - {dataset: a, where: "EXISTS (SELECT * FROM checkpoint())"}\n',
            "spec.yaml:3: where: .*checkpoint",
        ),
        ("name: x\nsources: [\n", "not valid YAML"),
    ],
)
def test_spec_errors_name_the_line_and_key(sources, tmp_path, text, message):
    with pytest.raises(MmdataError, match=message):
        mix(spec(tmp_path, text), sources)


def test_language_policies(sources, tmp_path):
    both = mix(spec(tmp_path, "name: l\nlanguage: both\nsources:\n  - {dataset: a}\n  - {dataset: c}\n"), sources)
    languages = [(r["extra"]["mix_source"], r["extra"]["language"]) for r in rows(sources, "l")]
    assert languages.count(("a@1", "en")) == languages.count(("a@1", "ms")) == 10
    assert languages.count(("c@1", "ms")) == 0 and both.plan[1]["removed"] == {"no_malay": 4}
    assert [(p["rows_en"], p["rows_ms"]) for p in both.plan] == [(10, 10), (4, 0)]  # the plan says it before writing
    for r in rows(sources, "l"):
        assert all("content_ms" not in t or t["content_ms"] is None for t in r["chat"])  # one language per row
        if r["extra"]["language"] == "ms":
            assert "Melayu" in r["chat"][0]["content"] and r["chat"][0]["content"].startswith("<audio>")
    mixed = mix(spec(tmp_path, "name: l2\nseed: 5\nlanguage: {mix: {ms: 0.5, en: 0.5}}\nsources:\n  - {dataset: a}\n"), sources)
    counts = {r["value"]: r["rows"] for r in mixed.report["by_language"]}
    assert sum(counts.values()) == 10 and 2 <= counts.get("ms", 0) <= 8
    assert (mixed.plan[0]["rows_en"], mixed.plan[0]["rows_ms"]) == (counts.get("en", 0), counts.get("ms", 0))


def test_filters_and_exact_dedupe_are_counted(sources, tmp_path):
    result = mix(
        spec(tmp_path, "name: f\nmax_turns: 4\ndedupe: {exact: [assistant]}\nsources:\n  - {dataset: a}\n  - {dataset: c}\n"),
        sources,
    )
    removed = {p["source"]: p["removed"] for p in result.plan}
    assert removed == {"a@1": {"max_turns": 2}, "c@1": {"dedupe": 1}}
    assert result.rows == 8 + 3


def test_near_dedupe_drops_close_texts(sources, tmp_path):
    path = tmp_path / "near.jsonl"
    base = "the quick brown fox jumps over the lazy dog near the river bank in the early morning light"
    rows_in = [
        {"kind": "text", "chat": [{"role": "user", "content": f"Q{i}?"}, {"role": "assistant", "content": text}]}
        for i, text in enumerate(
            [
                base,
                base + " today",
                "a completely different answer about nasi lemak and teh tarik",
                base.replace("quick", "quick,"),
            ]
        )
    ]
    import_(write_jsonl(path, rows_in), "n", sources)
    heard = []
    result = mix(
        spec(tmp_path, "name: nd\ndedupe: {near: {threshold: 0.7, fields: [assistant]}}\nsources:\n  - {dataset: n}\n"),
        sources,
        progress=lambda task, done, total=None, note=None: heard.append((task, done, total, note)),
    )
    assert result.plan[0]["removed"] == {"near_dedupe": 2} and result.rows == 2
    # every phase is heard starting and ending; near-dedupe row by row, with its running count
    assert [h[:3] for h in heard if h[0] == "near-dedupe"][-1] == ("near-dedupe", 4, 4)
    assert heard[-1] == ("report", 1, 1, None) and ("near-dedupe", 4, 4, "2 near copies") in heard
    assert {t for t, *_ in heard} >= {"selecting candidates", "writing the mixture", "committing", "report"}
    # The same through the command with a worker process computing the signatures.
    path = spec(tmp_path, "name: nd2\ndedupe: {near: {threshold: 0.7, fields: [assistant]}}\nsources:\n  - {dataset: n}\n")
    shown = CliRunner().invoke(app, ["--store", str(sources.root), "mix", "--spec", str(path), "--workers", "1", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["plan"][0]["removed"] == {"near_dedupe": 2}


def test_split_never_leaks_shared_media(sources, tmp_path):
    result = mix(
        spec(
            tmp_path,
            "name: s\nseed: 11\nsplit: {test: 0.5, group_by: media}\nlanguage: both\n"
            "sources:\n  - {dataset: b}\n  - {dataset: a}\n",
        ),
        sources,
    )
    sides: dict[str, set] = {}
    for r in rows(sources, "s"):
        for m in (r["images"] or []) + (r["audios"] or []):
            sides.setdefault(m, set()).add(r["extra"]["split"])
    assert all(len(s) == 1 for s in sides.values())
    assert {r["value"] for r in result.report["by_split"]} == {"train", "test"}


def test_same_spec_same_rows_in_two_fresh_stores(tmp_path):
    text = (
        "name: r\nseed: 9\nlanguage: {mix: {ms: 0.7, en: 0.3}}\ndedupe: {exact: [chat]}\nsplit: {test: 0.3}\n"
        "sources:\n  - {dataset: a, weight: 1}\n  - {dataset: b, weight: 1}\n  - {dataset: c, repeat: 2}\n"
    )
    ids = []
    for name in ("one", "two"):
        store = fill(Store(tmp_path / name), tmp_path / f"{name}-in")
        mix(spec(tmp_path, text), store)
        ids.append([r["id"] for r in rows(store, "r")])
    assert ids[0] == ids[1] and len(ids[0]) > 10


def test_report_matches_a_hand_count(sources, tmp_path):
    result = mix(
        spec(tmp_path, "name: h\nlanguage: both\nsources:\n  - {dataset: b}\n  - {dataset: c, take: 2, language: en}\n"), sources
    )
    written = rows(sources, "h")
    assert result.report["rows"] == len(written) == 6 * 2 + 2
    kinds = {r["value"]: r["rows"] for r in result.report["by_kind"]}
    assert kinds == {"multi-image": sum(r["kind"] == "multi-image" for r in written), "text": 2}
    images = sum(len(r["images"] or []) for r in written) / len(written)
    assert result.report["shape"]["images_mean"] == pytest.approx(images, abs=1e-3)
    assert stats("h", sources)["mixture"] == result.report  # stats on a mixture gives its report, plan included
    turns = [len(r["chat"]) for r in written]
    assert result.report["shape"]["turns_mean"] == pytest.approx(sum(turns) / len(turns), abs=0.01)
    chars = [len(t["content"]) for r in written for t in r["chat"]]
    assert result.report["shape"]["chars_per_turn_mean"] == pytest.approx(sum(chars) / len(chars), abs=0.1)


def test_report_sets_planned_against_achieved_and_keeps_the_removals(sources, tmp_path):
    # Mostly Malay asked of every source; c has no Malay side, so the achieved Malay share falls short.
    result = mix(
        spec(
            tmp_path,
            "name: p\nseed: 4\ndedupe: {exact: [assistant]}\nlanguage: {mix: {ms: 0.9, en: 0.1}}\n"
            "sources:\n  - {dataset: a}\n  - {dataset: c}\n",
        ),
        sources,
    )
    written = rows(sources, "p")
    languages = {r["value"]: r for r in result.report["by_language"]}
    achieved_ms = sum(r["extra"]["language"] == "ms" for r in written)
    assert languages["ms"]["rows"] == achieved_ms and languages["ms"]["planned_rows"] == round((10 + 3) * 0.9)
    assert languages["ms"]["planned_share"] == 0.9 and languages["ms"]["share"] == round(achieved_ms / len(written), 4) <= 10 / 13
    assert result.report["plan"][1]["removed"] == {"dedupe": 1}  # c's records 0 and 3 repeat an answer
    shown = CliRunner().invoke(app, ["--store", str(sources.root), "stats", "p"])
    assert shown.exit_code == 0 and "planned_share" in shown.output and "dedupe" in shown.output


def test_dry_run_and_command(sources, tmp_path):
    path = spec(tmp_path, "name: d\nsources:\n  - {dataset: a, take: 3}\n")
    planned = mix(path, sources, dry_run=True)
    assert planned.plan[0]["planned"] == 3 and planned.plan[0]["rows_en"] == 3 and planned.rows == 0
    with sources.reader() as con:
        assert con.execute("SELECT count(*) FROM lake._versions WHERE dataset = 'd'").fetchone() == (0,)
    out = tmp_path / "export"
    result = CliRunner().invoke(
        app,
        [
            "--store",
            str(sources.root),
            "mix",
            "--spec",
            str(path),
            "--export",
            str(out),
            "--format",
            "jsonl",
            "--plot",
            str(tmp_path / "charts"),
        ],
    )
    assert result.exit_code == 0, result.output
    from PIL import Image

    for chart in ("lengths.png", "share_by_source.png", "share_by_language_kind.png"):
        assert Image.open(tmp_path / "charts" / chart).size[0] > 300
    assert "d@1: 3 rows from 1 sources" in result.output and len((out / "data.jsonl").read_text().splitlines()) == 3
    chars = sum(len(" ".join(t["content"] for t in r["chat"])) for r in rows(sources, "d"))  # the rows the dry run foresaw
    assert planned.plan[0]["tokens"] == round(chars / 4) and "estimated at 4 characters a token" in planned.message
    shown = CliRunner().invoke(app, ["--store", str(sources.root), "mix", "--spec", str(path), "--dry-run"])
    assert shown.exit_code == 0 and "tokens" in shown.output and "nothing written" in shown.output
    again = CliRunner().invoke(app, ["--store", str(sources.root), "mix", "--spec", str(path), "--json"])
    assert json.loads(again.output)["version"] is None  # same spec, same sources: nothing new


def test_max_tokens_with_a_tokenizer(sources, tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(tmp_path / "tokenizer.json"))  # one token per word or punctuation mark
    result = mix(spec(tmp_path, f"name: t\nmax_tokens: 40\ntokenizer: {tmp_path}\nsources:\n  - {{dataset: a}}\n"), sources)
    # The two six-turn records run past 40 tokens on the Malay side (about 9 a turn); the rest fit.
    assert result.plan[0]["removed"] == {"max_tokens": 2} and result.rows == 8
    assert result.report["shape"]["tokens_max"] <= 40
    dry = mix(
        spec(tmp_path, f"name: t\nmax_tokens: 40\ntokenizer: {tmp_path}\nsources:\n  - {{dataset: a}}\n"), sources, dry_run=True
    )
    by_hand = sum(len(tokenizer.encode(" ".join(t["content"] for t in r["chat"])).ids) for r in rows(sources, "t"))
    assert dry.plan[0]["tokens"] == by_hand and f"{by_hand:,} tokens (counted with" in dry.message
    with pytest.raises(InputError, match="max_tokens needs a tokenizer"):
        mix(spec(tmp_path, "name: t\nmax_tokens: 40\nsources:\n  - {dataset: a}\n"), sources)


def test_without_datasketch_near_dedupe_says_what_to_install(sources, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "datasketch", None)  # what an import finds when the package is missing
    text = "name: n\nsources:\n  - {dataset: a}\ndedupe: {near: {threshold: 0.8}}\n"
    with pytest.raises(MmdataError, match=r"near-dedupe .*pip install 'mmdata\[mix\]'"):
        mix(spec(tmp_path, text), sources)
