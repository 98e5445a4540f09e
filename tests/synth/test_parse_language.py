import pytest

from mmdata.synth import parse
from mmdata.synth.language import is_language, language_of


def test_questions_tolerate_numbering_bullets_quotes_fences_and_json():
    text = '```\n1. What is the speaker explaining here?\n- "Which city does the speaker name?"\n* short?\nNo question\n```'
    assert parse.questions(text) == ["What is the speaker explaining here?", "Which city does the speaker name?"]
    assert parse.questions('["Why is the sky blue over the sea?", {"question": "Where do durians grow best?"}]') == [
        "Why is the sky blue over the sea?",
        "Where do durians grow best?",
    ]
    assert len(parse.questions("\n".join(f"{i}) Is this question number {i} long enough?" for i in range(9)))) == 5
    with pytest.raises(parse.ParseError):
        parse.questions("nothing to ask")


def test_dialogue_from_json_or_lines():
    assert parse.dialogue('```json\n[{"user": "Hi?", "assistant": "Hello."}]\n```') == [("Hi?", "Hello.")]
    assert parse.dialogue('{"dialogue": [{"role": "user", "content": "A?"}, {"role": "assistant", "content": "B."}]}') == [
        ("A?", "B.")
    ]
    lines = "User: What is it?\nAssistant: Nasi lemak.\nIt is tasty.\n**User**: And the drink?\nAssistant: Teh tarik."
    assert parse.dialogue(lines) == [("What is it?", "Nasi lemak.\nIt is tasty."), ("And the drink?", "Teh tarik.")]
    with pytest.raises(parse.ParseError):
        parse.dialogue("just prose")


def test_single_answers():
    assert parse.first_question("User: What else is there?\nmore") == "What else is there?"
    assert parse.text('  "Quoted answer."  ') == "Quoted answer."
    with pytest.raises(parse.ParseError):
        parse.text("```\n```")


@pytest.mark.parametrize(
    "text,language",
    [
        ("Ini ialah terjemahan yang jelas untuk ayat itu.", "ms"),
        ("Apakah yang diterangkan oleh penceramah dalam rakaman ini?", "ms"),
        ("This is the answer to the question that was asked.", "en"),
        ("Nasi lemak", None),
    ],
)
def test_language_of(text, language):
    assert language_of(text) == language


def test_is_language_lets_short_texts_pass():
    assert is_language("Kuala Lumpur.", "ms") and not is_language("This is English, not Malay.", "ms")
