import pytest

from mmdata.importing import import_
from tests.conftest import make_png, make_speech, write_jsonl
from tests.synth.endpoint import FakeEndpoint


@pytest.fixture
def endpoint():
    server = FakeEndpoint()
    yield server
    server.close()


@pytest.fixture
def images(store, tmp_path):
    """Six image records with captions (and one with structured context)."""
    folder = tmp_path / "pics"
    rows = []
    for i, (name, caption) in enumerate(
        [
            ("nasi", "A plate of nasi lemak"),
            ("teh", "A glass of teh tarik"),
            ("wau", "A red wau kite"),
            ("batik", "A batik cloth"),
            ("durian", "A durian cut open"),
            ("kereta", "A Proton Saga car"),
        ]
    ):
        make_png(folder / f"{name}.png", colour=(i * 40, 100, 200))
        rows.append({"file": f"{name}.png", "caption": caption, "title": name.title()})
    rows[-1]["attributes"] = {"engine": "1.3 L", "year": 2019}
    write_jsonl(folder / "metadata.jsonl", rows)
    assert import_(folder, "pics", store).imported == 6
    return store


@pytest.fixture
def conversations(store, tmp_path):
    path = write_jsonl(
        tmp_path / "chats.jsonl",
        [
            {
                "kind": "text",
                "chat": [
                    {"role": "user", "content": "What is the capital of Malaysia and why is it important?"},
                    {"role": "assistant", "content": "Kuala Lumpur is the capital and it is the biggest city."},
                ],
            },
            {
                "kind": "text",
                "chat": [
                    {"role": "user", "content": "Apakah makanan yang paling popular di Malaysia?"},
                    {"role": "assistant", "content": "Nasi lemak ialah makanan yang paling popular."},
                ],
            },
        ],
    )
    assert import_(path, "chats", store).imported == 2
    return store


@pytest.fixture
def transcripts(store, tmp_path):
    """Transcript records that pass the default quality filter, with real speech clips."""
    folder = tmp_path / "tx"
    texts = [
        (
            "Hari ini kita akan belajar tentang sejarah Malaysia dan bagaimana negara ini mencapai kemerdekaan pada tahun 1957",
            "Today we will learn about the history of Malaysia and how the country became independent in 1957 with many leaders",
        ),
        (
            "Cuaca di Kuala Lumpur sangat panas dan lembap pada hari ini jadi minum banyak air dan duduk di tempat teduh",
            "The weather in Kuala Lumpur is very hot and humid today so drink a lot of water and sit in the shade please",
        ),
        (
            "Harga durian di pasar malam naik lagi minggu ini kerana musim hujan membuat buah kurang dan peniaga risau",
            "The price of durian at the night market went up again this week because the rainy season means less fruit",
        ),
    ]
    rows = []
    for i, (ms, en) in enumerate(texts):
        make_speech(folder / f"clip{i}.wav", en[:60])
        rows.append(
            {
                "media_id": f"clip{i}.wav",
                "start": 0.0,
                "end": 3.0,
                "text_ms": ms,
                "text_en": en,
                "language": "ms",
                "language_prob": 0.9,
                "avg_logprob": -0.3,
                "no_speech_prob": 0.01,
                "compression_ratio": 1.4,
                "repeated_ngram": False,
                "avg_logprob_ms": -0.3,
                "avg_logprob_en": -0.4,
                "compression_ratio_ms": 1.4,
                "compression_ratio_en": 1.3,
                "repeated_ngram_ms": False,
                "repeated_ngram_en": False,
                "model": "large-v3",
            }
        )
    assert import_(write_jsonl(folder / "tx.jsonl", rows), "tx", store, format="mmdata").imported == 3
    return store
