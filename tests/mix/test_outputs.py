"""What a mixture carries beyond its rows: redrawn instructions, the mmtrain export, combined
kinds, re-runs, and the shipped specs."""

import json

import pytest

from mmdata.importing import import_
from mmdata.mix import mix
from tests.conftest import make_png, make_wav, write_jsonl
from tests.mix.conftest import rows, spec

# Each test that uses the store fixture runs on a local and on a team store (PostgreSQL + S3).
pytestmark = pytest.mark.both_stores


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
    files = _data_files(sources, "r")
    # A local store's mixture is written once, in place, and adopted; on object storage it is copied in.
    assert len(files) == 1 and (sources.team or files[0].rsplit("/", 1)[-1].startswith("mix-"))
    again = mix(path, sources)
    assert again.version is None and "unchanged" in again.message
    assert _data_files(sources, "r") == files
    if not sources.team:  # the unused file was removed
        assert [str(f) for f in (sources.root / "data" / "main" / "r").glob("*.parquet")] == files
    assert len(rows(sources, "r")) == 8


def _data_files(store, dataset: str) -> list[str]:
    from mmdata.querying import query

    return query(f"SELECT data_file FROM ducklake_list_files('lake', '{dataset}')", store).table.column(0).to_pylist()


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
