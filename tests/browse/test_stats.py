"""The stats page: stats' numbers as charts, distributions, and a mixture's planned vs achieved shares."""

from __future__ import annotations

import pytest

from tests.browse.stores import mixture


def test_a_conversation_dataset_as_charts(client):
    page = client.get("/d/chats/stats")
    assert page.status_code == 200
    assert "<h3>Turns</h3>" in page.text and "<h3>Malay fill</h3>" in page.text and "<h3>Kinds</h3>" in page.text
    assert "<h3>Clip durations</h3>" in page.text and "<h3>Images per record</h3>" in page.text
    assert "fully malay records pct" in page.text and page.text.count("<svg") >= 8
    assert 'aria-current="page">stats' in page.text
    assert client.get("/d/chats@9/stats").status_code == 404


def test_a_mixture_shows_planned_against_achieved(store, tmp_path):
    from starlette.testclient import TestClient

    from mmdata.browse import create_app

    mixture(store, tmp_path)
    with TestClient(create_app(store)) as http:
        page = http.get("/d/m/stats")
    assert page.status_code == 200
    sources = page.text.split("<h3>Mixture: sources, planned vs achieved share</h3>")[1].split("</figure>")[0]
    assert "a@1 planned: 60.0%" in sources and "a@1 achieved: 60.0%" in sources and "b@1 achieved: 40.0%" in sources
    assert "Mixture: languages, planned vs achieved share" in page.text
    assert 'href="/d/a@1"' in page.text.split("Mixture plan")[1]


@pytest.mark.parametrize(
    "counts,labels",
    [
        ([(2, 5), (4, 1)], ["2", "3", "4"]),
        ([(0, 1), (100, 1)], ["0–8", "9–17"]),  # whole numbers over a wide range: ranges, empty tail dropped
        ([(0.5, 1), (1.7, 2)], None),
        ([], []),
    ],
)
def test_bins(counts, labels):
    from mmdata.browse.pages.stats import bins

    out = bins(counts)
    assert sum(b["n"] for b in out) == sum(n for _, n in counts)
    if labels is not None:
        assert [b["label"] for b in out][: len(labels)] == labels
