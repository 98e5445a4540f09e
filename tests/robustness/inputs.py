"""Generators of bad input, one class each: what users' files really look like when they go wrong.

Every generator writes into a folder and returns ``{case name: (path, expect)}``; ``expect`` is
``"refused"`` (one ``error:`` line or a reject with a rule), or ``"ok"`` for inputs that must be
accepted as they are (a byte-order mark).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import make_mp3, make_png, make_wav

BOM = b"\xef\xbb\xbf"

# One valid row per reader, using media beside the file (made by ``media``).
TEMPLATES = {
    "audio-instruction": {
        "context": "c",
        "filename": "a.wav",
        "chat": [{"role": "user", "content": "What is said?"}, {"role": "assistant", "content": "Hello."}],
    },
    "relationship": {
        "filename": ["i.png", "a.wav"],
        "filename_description": ["a red square", "a tone"],
        "instruction": "What links them?",
        "answer": "Nothing.",
    },
    "llava": {
        "id": "1",
        "image": "i.png",
        "conversations": [{"from": "human", "value": "<image>\nWhat colour?"}, {"from": "gpt", "value": "Red."}],
    },
    "sharegpt": {
        "messages": [{"role": "user", "content": "<image>What colour?"}, {"role": "assistant", "content": "Red."}],
        "images": ["i.png"],
    },
    "mmdata": {"kind": "text", "chat": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."}]},
}
# Where each reader keeps its turns and its media, and what one turn's text is called.
FIELDS = {
    "audio-instruction": ("chat", "filename", "content"),
    "relationship": (None, "filename", None),
    "llava": ("conversations", "image", "value"),
    "sharegpt": ("messages", "images", "content"),
    "mmdata": ("chat", "images", "content"),
}


def media(folder: Path) -> None:
    make_png(folder / "i.png")
    make_wav(folder / "a.wav", 0.2)


def _line(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def _with(obj: dict, key: str, value) -> dict:
    return {**obj, key: value}


def json_inputs(folder: Path, format: str) -> dict[str, tuple[Path, str]]:
    """Bad JSON/JSONL files for one reader (``format``), plus the byte-order-mark file it must accept."""
    folder.mkdir(parents=True, exist_ok=True)
    media(folder)
    good = TEMPLATES[format]
    turns, media_field, text = FIELDS[format]
    cases: dict[str, tuple[bytes, str]] = {}

    def add(name: str, data: bytes, expect: str = "refused"):
        cases[name] = (data, expect)

    add("bom", BOM + _line(good) + b"\n" + _line(good) + b"\n", "ok")
    add("bom-json-array", BOM + b"[" + _line(good) + b"]", "ok")
    add("not-utf8-line", _line(good)[:-1] + b', "note": "caf\xe9 cr\xe8me"}\n')
    add("not-utf8-array", b"[" + _line(good)[:-1] + b', "note": "\xff\xfe"}]')
    add("utf16", ("\ufeff" + json.dumps(good)).encode("utf-16-le"))
    add("nul-bytes", _line(good)[:10] + b"\x00\x00" + _line(good)[10:] + b"\n")
    add("deep-nesting-recursion", _line(good)[:-1] + b', "deep": ' + b"[" * 200_000 + b"]" * 200_000 + b"}\n")
    add("deep-nesting-moderate", _line(good)[:-1] + b', "deep": ' + b"[" * 500 + b"]" * 500 + b"}\n")
    add("deep-array-file", b"[" + b"[" * 100_000 + b"]" * 100_000 + b"]")
    add("row-is-string", b'"just a string"\n')
    add("row-is-number", b"42\n")
    add("row-is-list", b"[1, 2, 3]\n" + _line(good) + b"\n")
    add("row-is-null", b"null\n")
    add("array-of-strings", b'["a", "b"]')
    add("top-level-scalar-file", b"3.5")
    add("empty-file", b"")
    add("whitespace-only", b"  \n\t\n   \n")
    add("truncated-array", b"[" + _line(good) + b', {"id": ')
    add("huge-garbage-line", b"x" * 3_000_000 + b"\n")
    add("nan-unknown-field", _line(good)[:-1] + b', "score": NaN}\n')
    add("infinity-unknown-field", _line(good)[:-1] + b', "stats": {"loss": -Infinity}}\n')
    add("nan-in-array-file", b"[" + _line(good)[:-1] + b', "score": NaN}]')
    add("lone-surrogate", _line(good)[:-1] + b', "note": "\\ud800 alone"}\n')
    add("lone-surrogate-array", b"[" + _line(good)[:-1] + b', "\\udc00": 1}]')
    add("duplicate-keys", _line(good)[:-1] + b', "note": 1, "note": 2}\n')
    add("pretty-printed-object", json.dumps(good, indent=2).encode())
    if turns:
        add("turns-are-strings", _line(_with(good, turns, ["hello", "there"])) + b"\n")
        add("turns-is-string", _line(_with(good, turns, "hello")) + b"\n")
        add("turns-is-object", _line(_with(good, turns, {"role": "user"})) + b"\n")
        bad_turn = [dict(good[turns][0], **{text: 5}), good[turns][1]]
        add("turn-text-is-number", _line(_with(good, turns, bad_turn)) + b"\n")
        add("turn-text-is-list", _line(_with(good, turns, [dict(good[turns][0], **{text: ["a"]}), good[turns][1]])) + b"\n")
    else:
        add("instruction-is-number", _line(_with(good, "instruction", 5)) + b"\n")
        add("instruction-is-object", _line(_with(good, "instruction", {"a": 1})) + b"\n")
    add("media-is-number", _line(_with(good, media_field, 5)) + b"\n")
    add("media-is-nested-list", _line(_with(good, media_field, [[1, 2]])) + b"\n")
    add("media-is-object", _line(_with(good, media_field, {"foo": 1})) + b"\n")
    add("media-is-list-of-objects", _line(_with(good, media_field, [{"bytes": "not bytes", "path": 3}])) + b"\n")
    add("media-is-folder", _line(_with(good, media_field, ".")) + b"\n")
    add("media-is-empty-string", _line(_with(good, media_field, "")) + b"\n", "ok-or-refused")  # "" is "no media"
    if format == "mmdata":
        add("extra-not-json", _line(_with(good, "extra", "{not json")) + b"\n")
        add("extra-is-list", _line(_with(good, "extra", "[1, 2]")) + b"\n")
        add("extra-has-nan", _line(_with(good, "extra", '{"score": NaN}')) + b"\n")
        add("generation-not-json", _line(_with(good, "generation", "{oops")) + b"\n")
        add("kind-is-number", _line(_with(good, "kind", 7)) + b"\n")
        add("audios-is-string", _line(_with(good, "audios", "a.wav")) + b"\n")
    out = {}
    for name, (data, expect) in cases.items():
        suffix = ".json" if data.lstrip(BOM).lstrip()[:1] == b"[" or name.endswith("file") else ".jsonl"
        path = folder / f"{name}{suffix}"
        path.write_bytes(data)
        out[name] = (path, expect)
    if format == "mmdata":  # an export's manifest beside the file
        for name, manifest in (
            ("manifest-not-json", b"{oops"),
            ("manifest-a-list", b"[1]"),
            ("manifest-bad-kind", b'{"record_kind": "movie"}'),
        ):
            (folder / name).mkdir(exist_ok=True)
            (folder / name / "mmdata.json").write_bytes(manifest)
            (folder / name / "data.jsonl").write_bytes(_line(good) + b"\n")
            out[name] = (folder / name / "data.jsonl", "refused")
    (folder / "a-folder.jsonl").mkdir(exist_ok=True)
    out["folder-where-a-file-belongs"] = (folder / "a-folder.jsonl", "refused")
    wrong = folder / "rows.parquet"  # JSONL under a Parquet name
    wrong.write_bytes(_line(good) + b"\n")
    out["wrong-extension"] = (wrong, "refused")
    return out


def parquet_inputs(folder: Path) -> dict[str, tuple[Path, str]]:
    """Parquet and saved-Hugging-Face-dataset folders that are broken, cut, or hold what JSON cannot."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    rows = [{"kind": "text", "chat": json.dumps(TEMPLATES["mmdata"]["chat"]), "score": float(i)} for i in range(2000)]
    table = pa.Table.from_pylist(rows)
    whole = folder / "whole.parquet"
    pq.write_table(table, whole, row_group_size=500)
    data = whole.read_bytes()
    (folder / "truncated.parquet").write_bytes(data[: len(data) // 2])
    out["truncated-parquet"] = (folder / "truncated.parquet", "refused")
    (folder / "garbage.parquet").write_bytes(b"PAR1" + b"\x00" * 100)
    out["garbage-parquet"] = (folder / "garbage.parquet", "refused")
    (folder / "empty.parquet").write_bytes(b"")
    out["empty-parquet"] = (folder / "empty.parquet", "refused")
    nan = pa.Table.from_pylist(
        [
            {"kind": "text", "chat": TEMPLATES["mmdata"]["chat"], "score": float("nan")},
            {"kind": "text", "chat": TEMPLATES["mmdata"]["chat"], "score": float("inf")},
        ]
    )
    pq.write_table(nan, folder / "nan.parquet")
    out["nan-unknown-float-parquet"] = (folder / "nan.parquet", "refused")
    odd = pa.Table.from_pylist([{"kind": "text", "chat": TEMPLATES["mmdata"]["chat"], "blob": b"\x00\x01", "extra": "{broken"}])
    pq.write_table(odd, folder / "odd.parquet")
    out["bytes-and-bad-extra-parquet"] = (folder / "odd.parquet", "refused")

    def hf(name: str) -> Path:
        path = folder / name
        path.mkdir()
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        (path / "data-00000-of-00001.arrow").write_bytes(sink.getvalue().to_pybytes())
        (path / "state.json").write_text(json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}))
        (path / "dataset_info.json").write_text("{}")
        return path

    out["hf-state-not-json"] = (hf("hf-state-not-json"), "refused")
    (folder / "hf-state-not-json" / "state.json").write_text("{oops")
    out["hf-state-not-utf8"] = (hf("hf-state-not-utf8"), "refused")
    (folder / "hf-state-not-utf8" / "state.json").write_bytes(b'{"_data_files": "\xff"}')
    out["hf-state-wrong-shape"] = (hf("hf-state-wrong-shape"), "refused")
    (folder / "hf-state-wrong-shape" / "state.json").write_text('{"_data_files": "data.arrow"}')
    out["hf-arrow-missing"] = (hf("hf-arrow-missing"), "refused")
    (folder / "hf-arrow-missing" / "data-00000-of-00001.arrow").unlink()
    out["hf-arrow-truncated"] = (hf("hf-arrow-truncated"), "refused")
    arrow = folder / "hf-arrow-truncated" / "data-00000-of-00001.arrow"
    arrow.write_bytes(arrow.read_bytes()[: arrow.stat().st_size // 2])
    out["hf-arrow-garbage"] = (hf("hf-arrow-garbage"), "refused")
    (folder / "hf-arrow-garbage" / "data-00000-of-00001.arrow").write_bytes(b"not arrow at all")
    dd = folder / "hf-dict-split-missing"
    dd.mkdir()
    (dd / "dataset_dict.json").write_text('{"splits": ["train"]}')
    out["hf-dict-split-missing"] = (dd, "refused")
    dd2 = folder / "hf-dict-not-json"
    dd2.mkdir()
    (dd2 / "dataset_dict.json").write_text("[")
    out["hf-dict-not-json"] = (dd2, "refused")
    return out


def folder_inputs(folder: Path) -> dict[str, tuple[Path, str]]:
    """Media folders (the ``folder`` format) with broken metadata, odd names and loops."""
    out = {}

    def media_folder(name: str) -> Path:
        path = folder / name
        make_png(path / "x.png")
        make_png(path / "y.png", "blue")
        return path

    def csv(name: str, data: bytes, expect: str = "refused"):
        path = media_folder(name)
        (path / "metadata.csv").write_bytes(data)
        out[name] = (path, expect)

    def jsonl(name: str, data: bytes, expect: str = "refused"):
        path = media_folder(name)
        (path / "metadata.jsonl").write_bytes(data)
        out[name] = (path, expect)

    csv("csv-bom", BOM + b"file,caption\nx.png,red\ny.png,blue\n", "ok")
    csv("csv-not-utf8", b"file,caption\nx.png,caf\xe9\ny.png,blue\n")
    csv("csv-header-not-utf8", b"fi\xffle,caption\nx.png,red\n")
    csv("csv-nul", b"file,caption\nx.png,r\x00ed\ny.png,blue\n", "ok-or-refused")  # Python's csv reads NUL as text
    csv("csv-extra-values", b"file,caption\nx.png,red,surplus,more\n")
    csv("csv-repeated-column", b"file,caption,caption\nx.png,red,blue\n")
    csv("csv-nan-duration", b"file,width\nx.png,nan\n")
    csv("csv-not-a-number", b"file,width\nx.png,wide\n")
    csv("csv-huge-field", b"file,caption\nx.png," + b"a" * 200_000 + b"\n")
    csv("csv-empty", b"", "ok-or-refused")  # no metadata: the files with their measured facts
    jsonl("jsonl-bom", BOM + b'{"file": "x.png", "caption": "red"}\n', "ok")
    jsonl("jsonl-not-utf8", b'{"file": "x.png", "caption": "caf\xe9"}\n')
    jsonl("jsonl-row-is-string", b'"x.png"\n')
    jsonl("jsonl-file-is-number", b'{"file": 5}\n')
    jsonl("jsonl-file-is-list", b'{"file": ["x.png"]}\n')
    jsonl("jsonl-nan", b'{"file": "x.png", "score": NaN}\n')
    jsonl("jsonl-caption-is-object", b'{"file": "x.png", "caption": {"en": "red"}}\n')
    loop = media_folder("symlink-loop")
    (loop / "sub").mkdir()
    (loop / "sub" / "again").symlink_to(loop, target_is_directory=True)
    (loop / "self.png").symlink_to(loop / "self.png")  # a link to itself: is_file() fails with ELOOP
    out["symlink-loop"] = (loop, "ok-or-refused")
    dangling = media_folder("dangling-link")
    (dangling / "gone.png").symlink_to(dangling / "nowhere.png")
    out["dangling-link"] = (dangling, "ok-or-refused")
    odd = media_folder("name-not-utf8")
    make_png(odd / b"caf\xe9.png".decode("utf-8", "surrogateescape"))
    out["name-not-utf8"] = (odd, "ok-or-refused")
    mixed = media_folder("mixed-kinds")
    make_wav(mixed / "z.wav", 0.1)
    out["mixed-kinds"] = (mixed, "refused")
    empty = folder / "no-media"
    empty.mkdir()
    (empty / "notes.txt").write_text("nothing here")
    out["no-media"] = (empty, "refused")
    cut = folder / "cut-mp3"
    whole = make_mp3(cut / "whole.mp3", seconds=1.0)
    (cut / "stub.mp3").write_bytes(whole.read_bytes()[:200])
    (cut / "empty.mp3").write_bytes(b"")
    out["cut-and-empty-mp3"] = (cut, "refused")
    return out


# --- YAML: mix specs, recipes, train configs -----------------------------------------------------

ALIAS_BOMB = "".join(
    [
        "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n",
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
        "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n",
        "i: [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n",
    ]
)


def _yaml_common(add) -> None:
    """Classes every YAML reader must refuse, whatever it reads."""
    add("not-utf8", b"name: caf\xe9\n")
    add("utf16", "name: x\n".encode("utf-16"))
    add("nul-bytes", b"name: x\x00\n")
    add("alias-bomb", ALIAS_BOMB.encode())
    add("recursive-alias", b"a: &a [1, *a]\n")
    add("deep-nesting", b"a: " + b"[" * 50_000 + b"]" * 50_000 + b"\n")
    add("empty", b"")
    add("whitespace-only", b"  \n\n\t\n")
    add("top-level-list", b"- a\n- b\n")
    add("top-level-scalar", b"42\n")
    add("not-yaml", b"a: [\n")
    add("tabs", b"a:\n\t- b\n")
    add("duplicate-keys", b"name: a\nname: b\n")


def spec_inputs(folder: Path, dataset: str) -> dict[str, tuple[Path, str]]:
    cases: dict[str, tuple[bytes, str]] = {}

    def add(name: str, data: bytes, expect: str = "refused"):
        cases[name] = (data, expect)

    _yaml_common(add)
    ok = f"name: mixed\nsources:\n  - {{dataset: {dataset}, weight: 1}}\n"
    add("bom", BOM + ok.encode(), "ok")
    add("weight-nan", f"name: m\nsources:\n  - {{dataset: {dataset}, weight: .nan}}\n".encode())
    add("weight-inf", f"name: m\nsources:\n  - {{dataset: {dataset}, weight: .inf}}\n".encode())
    add("language-mix-nan", f"name: m\nlanguage: {{mix: {{en: .nan}}}}\nsources:\n  - {{dataset: {dataset}}}\n".encode())
    add("weight-is-string", f"name: m\nsources:\n  - {{dataset: {dataset}, weight: heavy}}\n".encode())
    add("sources-is-string", b"name: m\nsources: everything\n")
    add("source-is-number", b"name: m\nsources: [1, 2]\n")
    add("dataset-is-list", b"name: m\nsources:\n  - {dataset: [a, b]}\n")
    add("name-is-number", f"name: 5\nsources:\n  - {{dataset: {dataset}}}\n".encode())
    add(
        "tokenizer-not-a-tokenizer",
        f"name: m\nmax_tokens: 5\ntokenizer: {folder / 'junk.json'}\nsources:\n  - {{dataset: {dataset}}}\n".encode(),
    )
    add(
        "tokenizer-missing",
        f"name: m\nmax_tokens: 5\ntokenizer: {folder / 'nope'}\nsources:\n  - {{dataset: {dataset}}}\n".encode(),
    )
    add("unknown-dataset", b"name: m\nsources:\n  - {dataset: nosuch}\n")
    add("bad-where", f"name: m\nsources:\n  - {{dataset: {dataset}, where: 'kind = = 1'}}\n".encode())
    out = _write_all(folder, cases, ".yaml")
    (folder / "junk.json").write_text('{"not": "a tokenizer"}')
    (folder / "a-folder.yaml").mkdir(exist_ok=True)
    out["folder-where-a-file-belongs"] = (folder / "a-folder.yaml", "refused")
    out["missing-file"] = (folder / "missing.yaml", "refused")
    return out


def recipe_inputs(folder: Path) -> dict[str, tuple[Path, str]]:
    cases: dict[str, tuple[bytes, str]] = {}

    def add(name: str, data: bytes, expect: str = "refused"):
        cases[name] = (data, expect)

    _yaml_common(add)
    prompts = "prompts:\n  dialogue: 'Talk about {{ caption }} in {{ turns }} turns'\n"
    add("prompt-is-list", b"prompts:\n  dialogue: [a, b]\n")
    add("prompts-is-list", b"prompts: [a, b]\n")
    add("sampling-is-string", ("sampling: hot\n" + prompts).encode())
    add("sampling-value-is-mapping", ("sampling: {temperature: {a: 1}}\n" + prompts).encode())
    add("sampling-nan", ("sampling: {temperature: .nan}\n" + prompts).encode())
    add("turns-is-string", ("turns: two\n" + prompts).encode())
    add("turns-has-zero", ("turns: [0]\n" + prompts).encode())
    add("questions-per-item-string", ("questions_per_item: many\n" + prompts).encode())
    add("instructions-not-pairs", ("instructions: [[1, 2]]\n" + prompts).encode())
    add("instructions-unknown-placeholder", ("instructions: [['{x}', '{y}']]\n" + prompts).encode())
    add("id-is-list", ("id: [a]\n" + prompts).encode())
    out = _write_all(folder, cases, ".yaml")
    (folder / "a-folder.yaml").mkdir(exist_ok=True)
    out["folder-where-a-file-belongs"] = (folder / "a-folder.yaml", "refused")
    out["missing-file"] = (folder / "missing.yaml", "refused")
    return out


def config_inputs(folder: Path, model_dir: Path, mixture_dir: Path) -> dict[str, tuple[Path, str]]:
    cases: dict[str, tuple[bytes, str]] = {}

    def add(name: str, data: bytes, expect: str = "refused"):
        cases[name] = (data, expect)

    def config(
        model: str = f"{{from: {model_dir}}}",
        stage: str = "finetune",
        data: str = f"{{mixture: {mixture_dir}}}",
        training: str = "{max_steps: 1}",
        output: str | None = None,
    ) -> bytes:
        return (
            f"stage: {stage}\nmodel: {model}\ndata: {data}\noutput_dir: {output or folder / 'out'}\ntraining: {training}\n"
        ).encode()

    _yaml_common(add)
    add("model-is-string", config(model="Qwen/Qwen1.5-0.5B"))
    add("model-is-list", config(model="[a, b]"))
    add("stage-is-list", config(stage="[finetune]"))
    add("stage-is-mapping", config(stage="{a: 1}"))
    add("data-is-string", config(data="stage2@3"))
    add("mixture-is-number", config(data="{mixture: 3}"))
    add("max-length-is-string", config(data=f"{{mixture: {mixture_dir}, max_length: long}}"))
    add("max-length-nan", config(data=f"{{mixture: {mixture_dir}, max_length: .nan}}"))
    add("learning-rate-nan", config(training="{learning_rate: .nan, max_steps: 1}"))
    add("learning-rate-inf", config(training="{learning_rate: .inf, max_steps: 1}"))
    add("training-is-list", config(training="[1, 2]"))
    add("trainable-has-list", config(training="{max_steps: 1}") + b"trainable: [[llm]]\n")
    add("projectors-from-number", config(model=f"{{from: {model_dir}, projectors_from: {{vision_projector: 5}}}}"))
    add("from-not-a-model", config(model=f"{{from: {folder}}}"))
    junk = folder / "junk-model"
    add("llm-is-not-a-tokenizer", config(model=f"{{llm: {junk}, vision: {junk}, audio: {junk}}}"))
    out = _write_all(folder, cases, ".yaml")
    junk.mkdir(exist_ok=True)
    (junk / "config.json").write_text('{"model_type": "qwen2"}')
    (junk / "tokenizer.json").write_text("this is not a tokenizer")
    (junk / "tokenizer_config.json").write_text("{also not json")
    shaped = folder / "tokenizer-shaped-junk"
    shaped.mkdir(exist_ok=True)
    (shaped / "config.json").write_text('{"model_type": "qwen2"}')
    (shaped / "tokenizer.json").write_text('{"version": "1.0", "model": {"type": "BPE"}}')  # JSON, not a tokenizer
    (shaped / "tokenizer_config.json").write_text("{}")
    path = folder / "llm-tokenizer-shaped-junk.yaml"
    path.write_bytes(config(model=f"{{llm: {shaped}, vision: {shaped}, audio: {shaped}}}"))
    out["llm-tokenizer-shaped-junk"] = (path, "refused")
    (folder / "a-folder").mkdir(exist_ok=True)
    out["folder-where-a-file-belongs"] = (folder / "a-folder", "refused")
    return out


def _write_all(folder: Path, cases: dict[str, tuple[bytes, str]], suffix: str) -> dict[str, tuple[Path, str]]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, (data, expect) in cases.items():
        path = folder / f"{name}{suffix}"
        path.write_bytes(data)
        out[name] = (path, expect)
    return out
