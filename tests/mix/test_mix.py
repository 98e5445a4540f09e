import json

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import InputError, MmdataError
from mmdata.importing import import_
from mmdata.inspect import stats
from mmdata.mix import mix
from mmdata.querying import query
from mmdata.store.lake import Store
from tests.conftest import make_png, make_wav, write_jsonl


def fill(store, root):
    """a: 10 bilingual audio chats (two of them 6 turns long); b: 6 image pairs sharing pictures; c: 4 English-only chats."""
    for i in range(4):
        make_png(root / f"img{i}.png", colour=(i * 60, 20, 20))
    for i in range(10):
        make_wav(root / f"a{i}.wav", 0.3, 200 + 20 * i)

    def turns(n, i, ms=True):
        out = []
        for t in range(n):
            role = "user" if t % 2 == 0 else "assistant"
            turn = {"role": role, "content": ("<audio>\n" if t == 0 else "") + f"{role} says thing {i}.{t} in English"}
            if ms:
                turn["content_ms"] = ("<audio>\n" if t == 0 else "") + f"{role} berkata perkara {i}.{t} dalam bahasa Melayu"
            out.append(turn)
        return out

    a = [{"kind": "audio-instruction", "chat": turns(6 if i < 2 else 2, i), "audios": [f"a{i}.wav"]} for i in range(10)]
    b = [
        {
            "kind": "multi-image",
            "images": [f"img{i % 4}.png", f"img{(i + 1) % 4}.png"],
            "chat": [
                {
                    "role": "user",
                    "content": f"<image>\n<image>\nWhat links them, case {i}?",
                    "content_ms": f"<image>\n<image>\nApa kaitannya, kes {i}?",
                },
                {"role": "assistant", "content": f"They are related, case {i}.", "content_ms": f"Ia berkaitan, kes {i}."},
            ],
        }
        for i in range(6)
    ]
    c = [
        {
            "kind": "text",
            "chat": [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": f"Answer  {i % 3}."}],
        }
        for i in range(4)
    ]  # records 0 and 3 give the same answer (up to spacing and case)
    for name, rows in (("a", a), ("b", b), ("c", c)):
        assert import_(write_jsonl(root / f"{name}.jsonl", rows), name, store, format="mmdata").imported == len(rows)
    return store


@pytest.fixture
def sources(store, tmp_path):
    return fill(store, tmp_path / "in")


def spec(tmp_path, text: str):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def rows(store, name):
    out = []
    for r in query(
        f"SELECT kind, to_json(chat) AS chat, images, audios, extra, id FROM {name} "
        f"ORDER BY json_extract(extra, '$.mix_index')::INT",
        store,
    ).table.to_pylist():
        out.append({**r, "chat": json.loads(r["chat"]), "extra": json.loads(r["extra"])})
    return out


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


def test_instruction_pools_redraw_the_question_and_keep_placeholders(sources, tmp_path):
    result = mix(
        spec(
            tmp_path,
            """
name: i
seed: 2
language: both
instructions:
  multi-image:
    - ["What is related between picture 1 and picture 2?", "Apakah yang berkaitan antara gambar 1 dan gambar 2?"]
    - ["what is related for both pictures?", "apa kaitan 2 gambar ni?"]
sources:
  - {dataset: b}
""",
        ),
        sources,
    )
    questions = {(r["extra"]["language"], r["chat"][0]["content"]) for r in rows(sources, "i")}
    assert result.rows == 12 and {q for _, q in questions} <= {
        "<image>\n<image>\nWhat is related between picture 1 and picture 2?",
        "<image>\n<image>\nwhat is related for both pictures?",
        "<image>\n<image>\nApakah yang berkaitan antara gambar 1 dan gambar 2?",
        "<image>\n<image>\napa kaitan 2 gambar ni?",
    }
    assert all(("gambar" in q or "kaitan" in q) == (lang == "ms") for lang, q in questions)


def test_mmtrain_export_has_splits_and_media_files(sources, tmp_path):
    mix(spec(tmp_path, "name: e\nseed: 4\nsplit: {test: 0.5}\nlanguage: both\nsources:\n  - {dataset: b}\n"), sources)
    from mmdata.exporters import export

    result = export("e", "mmtrain", tmp_path / "out", sources)
    lines = {
        split: [json.loads(x) for x in (tmp_path / "out" / f"{split}.jsonl").read_text().splitlines()]
        for split in ("train", "test")
    }
    assert result["splits"] == {k: len(v) for k, v in lines.items()} and sum(result["splits"].values()) == 12
    import jsonschema

    from mmdata.records import specs_dir

    schema = json.loads((specs_dir() / "schemas" / "training-record.json").read_text())
    for row in lines["train"] + lines["test"]:
        jsonschema.validate(row, schema)
        assert all((tmp_path / "out" / path).is_file() for path in row["images"])
        assert row["messages"][0]["content"].count("<image>") == len(row["images"])


def test_combine_joins_kinds_and_renumbers_media_mentions(sources, tmp_path):
    from mmdata.mix.combine import join, renumber

    assert (
        renumber("What is related between picture 1 and picture 2?", 2, 0) == "What is related between picture 3 and picture 4?"
    )
    assert renumber("Apakah kaitan gambar 1 dengan audio 1?", 1, 1) == "Apakah kaitan gambar 2 dengan audio 2?"
    joined = join(
        [
            {
                "chat": [
                    {"role": "system", "content": "Be kind."},
                    {"role": "user", "content": "<image>\nPicture 1?"},
                    {"role": "assistant", "content": "A cat."},
                ],
                "images": ["i1"],
                "audios": [],
            },
            {
                "chat": [
                    {"role": "system", "content": "x"},
                    {"role": "user", "content": "<image>\nWhat is in picture 1?"},
                    {"role": "assistant", "content": "A dog."},
                ],
                "images": ["i2"],
                "audios": [],
            },
        ]
    )
    assert [t["role"] for t in joined["chat"]] == ["system", "user", "assistant", "user", "assistant"]
    assert joined["chat"][3]["content"] == "<image>\nWhat is in picture 2?" and joined["images"] == ["i1", "i2"]
    result = mix(
        spec(
            tmp_path,
            "name: cb\nseed: 3\nlanguage: both\ncombine: {rows: 5, parts: [2, 2]}\n"
            "sources:\n  - {dataset: a}\n  - {dataset: b}\n",
        ),
        sources,
    )
    combined = [r for r in rows(sources, "cb") if r["kind"] == "combined"]
    assert len(combined) == 5 and result.rows == 20 + 12 + 5
    for r in combined:
        text = " ".join(t["content"] for t in r["chat"])
        assert text.count("<image>") == len(r["images"]) == 2 and text.count("<audio>") == len(r["audios"]) == 1
        assert r["extra"]["mix_source"] == "combine"
    from mmdata.validation import validate

    report = validate("cb", sources)
    assert report.ok, report.samples
    # Asking for more combinations than small pools hold makes each at most once, every row distinct.
    many = mix(
        spec(
            tmp_path,
            "name: cb2\nseed: 3\nlanguage: both\ncombine: {rows: 200, parts: [2, 2]}\n"
            "sources:\n  - {dataset: a}\n  - {dataset: b}\n",
        ),
        sources,
    )
    made = [r for r in rows(sources, "cb2") if r["kind"] == "combined"]
    combos = {(r["extra"]["language"], json.dumps(r["chat"])) for r in made}
    assert 5 < len(made) == len(combos) < 200 and many.rows == 20 + 12 + len(made)
    assert len({r["id"] for r in rows(sources, "cb2")}) == many.rows


def test_rerun_adopts_no_second_file_and_same_dataset_twice_keeps_both_rows(sources, tmp_path):
    path = spec(
        tmp_path, "name: r\nseed: 1\nsources:\n  - {dataset: c, take: 4}\n  - {dataset: c, where: \"kind = 'text'\", take: 4}\n"
    )
    first = mix(path, sources)
    assert first.version == 1 and first.rows == 8  # the same record picked by two entries is two rows (distinct keys)
    files = sorted((sources.root / "data" / "main" / "r").glob("*.parquet"))
    assert len(files) == 1 and files[0].name.startswith("mix-")  # written once, in place, and adopted
    again = mix(path, sources)
    assert again.version is None and "unchanged" in again.message
    assert sorted((sources.root / "data" / "main" / "r").glob("*.parquet")) == files  # the unused file was removed
    assert len(rows(sources, "r")) == 8


def test_shipped_specs_load_and_the_reference_recipe_runs(store, tmp_path):
    from pathlib import Path

    from mmdata.history import tag
    from mmdata.mix.spec import load_spec

    shipped = sorted((Path(__file__).resolve().parents[2] / "specs" / "mixes").glob("*.yaml"))
    assert len(shipped) >= 2 and all(load_spec(path).sources for path in shipped)
    reference = next(path for path in shipped if path.name == "reference-stage2.yaml")
    # The reference recipe's six datasets, tiny, each tagged stable as the spec names them.
    root = tmp_path / "in"
    make_png(root / "p0.png", colour=(200, 10, 10))
    make_png(root / "p1.png", colour=(10, 200, 10))
    make_wav(root / "w0.wav", 0.3, 300)
    make_wav(root / "w1.wav", 0.3, 500)
    turn = lambda role, en, ms: {"role": role, "content": en, "content_ms": ms}  # noqa: E731
    shapes = {
        "audio_instruct": ("audio-instruction", [], ["w0.wav"], "<audio>\nWhat is said?"),
        "visual_ctx": ("visual-context", ["p0.png"], [], "<image>\nWhere is this?"),
        "multi_image": ("multi-image", ["p0.png", "p1.png"], [], "<image>\n<image>\nHow are they linked?"),
        "multi_audio": ("multi-audio", [], ["w0.wav", "w1.wav"], "<audio>\n<audio>\nCompare audio 1 and audio 2."),
        "image_audio": ("image-audio", ["p1.png"], ["w1.wav"], "<image>\n<audio>\nDoes the sound fit picture 1?"),
        "llava_instruct_ms": ("visual-context", ["p1.png"], [], "<image>\nDescribe it."),
    }
    for name, (kind, images, audios, question) in shapes.items():
        records = [
            {
                "kind": kind,
                "images": images,
                "audios": audios,
                "chat": [
                    turn("user", f"{question} ({name} {i})", f"{question} ({name} {i}) ms"),
                    turn("assistant", f"Answer {name} {i}.", f"Jawapan {name} {i}."),
                ],
            }
            for i in range(6)
        ]
        import_(write_jsonl(root / f"{name}.jsonl", records), name, store, format="mmdata")
        tag(f"{name}@1", "stable", store)
    small = tmp_path / "stage2.yaml"
    small.write_text(reference.read_text().replace("rows: 20000", "rows: 3"))
    result = mix(small, store)
    assert result.rows > 0 and {r["value"] for r in result.report["by_source"]} >= {"audio_instruct@1", "combine"}
    assert result.plan[-1]["planned"] == round(6 * 0.3) and result.plan[-1]["rows_ms"] == result.plan[-1]["rows_en"]
    from mmdata.validation import validate

    assert validate("stage2", store).ok


def test_without_datasketch_near_dedupe_says_what_to_install(sources, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "datasketch", None)  # what an import finds when the package is missing
    text = "name: n\nsources:\n  - {dataset: a}\ndedupe: {near: {threshold: 0.8}}\n"
    with pytest.raises(MmdataError, match=r"near-dedupe .*pip install 'mmdata\[mix\]'"):
        mix(spec(tmp_path, text), sources)
