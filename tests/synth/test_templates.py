"""visual-context from page-crawled pictures: the template mode (no model) and the structured context in the model's prompt."""

import json
import sys

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import InputError
from mmdata.importing import import_
from mmdata.querying import query
from mmdata.synth import synthesize
from mmdata.validation import validate
from tests.conftest import make_png, write_jsonl

RECIPE = {
    "name": "Nasi Lemak",
    "description": "Nasi yang dimasak dengan santan.",
    "ingredients": ["2 cawan beras", "1 cawan santan", "daun pandan"],
    "steps": ["Basuh beras.", "Masak beras dengan santan dan pandan.", "Hidangkan dengan sambal."],
    "total_time": "PT1H15M",
    "cuisine": "Malaysian",
}
CAR = {
    "name": "Proton Saga 1.3 Premium",
    "brand": "Proton",
    "model": "Saga",
    "year": 2019,
    "mileage": "45,000 km",
    "price": 32500,
    "currency": "MYR",
    "specs": {"Engine": "1.3 L VVT", "Transmission": "4-speed automatic", "Seats": "5"},
}
# (file, schema.org type, language, fields, title, alt text, description): what crawl-pages writes.
PAGES = [
    ("nasi.png", "Recipe", "ms", RECIPE, "Nasi Lemak", "Sepinggan nasi lemak", "Nasi yang dimasak dengan santan."),
    ("saga.png", "Car", "en", CAR, "Proton Saga 2019", "A white Proton Saga", None),
    ("kuih.png", "Recipe", "ms", {"name": "Kuih Lapis"}, "Kuih Lapis", None, None),  # no ingredients, no steps
    ("kl.png", "TouristAttraction", "en", {"name": "Menara KL", "address": ""}, "Menara KL", "KL Tower at night", None),
    ("batik.png", None, "ms", {}, "Batik", "Kain batik berwarna biru", None),  # generic page
]


def import_pages(store, tmp_path, name: str = "pages"):
    """Image records shaped like ``mmdata crawl-pages`` output, imported as dataset ``name``."""
    folder = tmp_path / name
    rows = []
    for i, (file, schema_type, language, fields, title, alt, description) in enumerate(PAGES):
        make_png(folder / file, colour=(i * 50, 90, 160), size=(32, 24))
        page = f"https://example.my/{file.removesuffix('.png')}"
        rows.append(
            {
                "file": file,
                "title": title,
                "caption": alt,
                "description": description,
                "source_url": page,
                "attributes": {
                    "page_url": page,
                    "image_url": f"{page}/{file}",
                    "schema_type": schema_type,
                    "fields": fields,
                    "alt": alt,
                    "language": language,
                    "crawled_at": "2026-12-01T10:00:00Z",
                },
            }
        )
    write_jsonl(folder / "metadata.jsonl", rows)
    assert import_(folder, name, store).imported == len(PAGES)
    return store


@pytest.fixture
def pages(store, tmp_path):
    return import_pages(store, tmp_path)


@pytest.fixture
def no_model(monkeypatch):
    """Nothing could reach a model: no endpoint configured and the openai client not importable."""
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setitem(sys.modules, "openai", None)


def conversations(store, name) -> dict:
    """title of the source picture -> (chat, generation) of its conversation."""
    got = query(
        f"SELECT p.title, to_json(v.chat) AS chat, v.generation FROM {name} v JOIN pages p ON p.id = v.source[1]", store
    ).table.to_pylist()
    return {r["title"]: (json.loads(r["chat"]), json.loads(r["generation"])) for r in got}


def answers(chat, side="content") -> str:
    return "\n".join(t[side] for t in chat if t["role"] == "assistant")


def test_recipe_and_car_pages_become_bilingual_conversations_without_a_model(pages, no_model):
    result = synthesize("visual-context", ["pages"], "visual", pages, templates=True)
    assert (result.made, result.records, result.rejected) == (5, 5, 0)
    assert validate("visual", pages).ok
    made = conversations(pages, "visual")

    chat, generation = made["Nasi Lemak"]
    assert chat[0]["content"].startswith("<image>\n") and chat[0]["content_ms"].startswith("<image>\n")
    assert chat[0]["content_ms"] in ("<image>\nIni makanan apa?", "<image>\nApakah nama hidangan ini?")
    assert chat[1] == {"role": "assistant", "content": "This is Nasi Lemak.", "content_ms": "Ini ialah Nasi Lemak."}
    for side in ("content", "content_ms"):
        text = answers(chat, side)
        assert all(f"- {i}" in text for i in RECIPE["ingredients"])
        assert "1. Basuh beras.\n2. Masak beras dengan santan dan pandan.\n3. Hidangkan dengan sambal." in text
    assert "1 hour 15 minutes" in answers(chat) and "1 jam 15 minit" in answers(chat, "content_ms")
    assert generation["method"] == "templates" and generation["model"] is None
    assert generation["template_ids"] == ["recipe-name", "recipe-cuisine", "recipe-ingredients", "recipe-steps", "recipe-time"]
    assert len(generation["templates_hash"]) == 16

    chat, generation = made["Proton Saga 2019"]
    assert (
        chat[1]["content"] == "This is a Proton Saga from 2019."
        and chat[1]["content_ms"] == "Ini ialah Proton Saga keluaran tahun 2019."
    )
    for side in ("content", "content_ms"):
        text = answers(chat, side)
        assert "MYR 32500" in text and "45,000 km" in text
        assert all(f"\n- {label}: {value}" in text for label, value in CAR["specs"].items())
    assert generation["template_ids"] == ["car-name", "price", "car-mileage", "specs"]


def test_templates_missing_fields_are_skipped(pages, no_model):
    synthesize("visual-context", ["pages"], "visual", pages, templates=True)
    made = conversations(pages, "visual")
    kuih, _ = made["Kuih Lapis"]  # a recipe with only its name: one exchange, nothing about ingredients or steps
    assert [t["content_ms"] for t in kuih][1:] == ["Ini ialah Kuih Lapis."] and len(kuih) == 2
    tower, generation = made["Menara KL"]  # a blank address: the place's name only
    assert generation["template_ids"] == ["place-name"] and len(tower) == 2
    batik, generation = made["Batik"]  # no schema.org type: the alt text
    assert generation["template_ids"] == ["generic-what"] and batik[1]["content"] == "Kain batik berwarna biru."
    for chat, _ in made.values():
        for turn in chat:
            for side in ("content", "content_ms"):
                assert turn[side].strip() and "{" not in turn[side] and "None" not in turn[side]


def test_templates_are_deterministic_and_a_rerun_changes_nothing(pages, no_model):
    first = synthesize("visual-context", ["pages"], "visual", pages, templates=True)
    again = synthesize("visual-context", ["pages"], "visual", pages, templates=True)
    assert first.version == 1 and (again.already, again.made, again.version) == (5, 0, None)
    assert query("SELECT count(*) AS n FROM _versions WHERE dataset = 'visual'", pages).table.to_pylist() == [{"n": 1}]
    synthesize("visual-context", ["pages"], "visual_again", pages, templates=True)  # a fresh journal, same input
    assert conversations(pages, "visual") == conversations(pages, "visual_again")


def test_templates_command_needs_no_endpoint(pages, no_model):
    args = ["--store", str(pages.root), "synthesize", "--type", "visual-context", "--templates", "--from", "pages"]
    out = CliRunner().invoke(app, [*args, "--into", "visual", "--where", "attributes->>'schema_type' = 'Recipe'"])
    assert out.exit_code == 0, out.output
    assert "visual: 2 items -> 2 conversations from templates" in out.output
    dry = CliRunner().invoke(app, [*args, "--into", "x", "--dry-run"])
    assert dry.exit_code == 0 and "This is Nasi Lemak." in dry.output


def test_templates_refuse_what_they_cannot_do(pages, tmp_path, no_model):
    with pytest.raises(InputError, match="--templates makes visual-context"):
        synthesize("multi-image", ["pages"], "x", pages, templates=True)
    with pytest.raises(InputError, match="--vision"):
        synthesize("visual-context", ["pages"], "x", pages, templates=True, vision=True)
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: t\ntemplates:\n  - id: a\n    types: [Recipe]\n    ask: [[only English]]\n    answer: [x, y]\n")
    with pytest.raises(InputError, match=r"bad.yaml:5: templates.0.ask: .*\[English, Malay\]"):
        synthesize("visual-context", ["pages"], "x", pages, templates=True, recipe=str(bad))


def test_structured_context_reaches_the_model_prompt(pages, endpoint):
    result = synthesize(
        "visual-context", ["pages"], "vc", pages, endpoint=endpoint.url, where="attributes->>'schema_type' = 'Car'"
    )
    assert (result.made, result.rejected) == (1, 0)
    prompt = endpoint.prompts[0]["messages"][0]["content"]
    assert "The page is about a Car (schema.org)." in prompt and "Page language: en" in prompt
    assert "brand: Proton" in prompt and "price: 32500" in prompt and "currency: MYR" in prompt
    assert "specs:\n- Engine: 1.3 L VVT\n" in prompt and "\n- Transmission: 4-speed automatic" in prompt
    assert "example.my" not in prompt and "crawled_at" not in prompt  # crawl bookkeeping stays out
    recipe = synthesize("visual-context", ["pages"], "x", pages, dry_run=True, where="title = 'Nasi Lemak'")
    text = recipe.prompts[0]["messages"][0]["content"]
    assert "ingredients:\n- 2 cawan beras\n- 1 cawan santan" in text and "steps:\n1. Basuh beras.\n2. Masak" in text


def test_images_without_page_context_prompt_as_before(images):
    """A picture not from a page crawl renders the prompt it always did (the request cache still answers it)."""
    result = synthesize("visual-context", ["pics"], "x", images, dry_run=True, where="title = 'Kereta'")
    assert result.prompts[0]["messages"][0]["content"] == (
        "You are looking at a picture of Kereta.\nDescription: A Proton Saga car\nengine: 1.3 L\nyear: 2019\n\n"
        "Write a conversation of 2 exchanges where a user asks about the picture and an\n"
        'assistant answers from the details above. Reply as JSON: [{"user": "...", "assistant": "..."}, ...]'
    )
