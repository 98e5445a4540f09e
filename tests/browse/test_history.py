"""The history page: versions with counts and arguments, and the lineage graph linking parents and children."""

from __future__ import annotations

import pytest

from tests.browse.stores import edited, mixture


@pytest.fixture
def http(store, tmp_path):
    from starlette.testclient import TestClient

    from mmdata.browse import create_app

    mixture(edited(store, tmp_path / "notes"), tmp_path / "mix")
    with TestClient(create_app(store)) as client:
        yield client


def test_versions_with_counts_and_arguments(http):
    page = http.get("/d/notes/history")
    assert page.status_code == 200
    table = page.text.split('class="versions"')[1]
    assert 'href="/d/notes@2"' in table and 'href="/d/notes@1"' in table
    assert "rejected 1" in table and "replace=True" in table
    assert 'href="/diff?a=notes@1&amp;b=notes@2"' in table
    assert 'aria-current="page">history' in page.text  # the dataset nav, this page marked


def test_lineage_links_parents_and_children(http):
    page = http.get("/d/m/history")
    graph = page.text.split("<svg")[1].split("</svg>")[0]
    assert 'href="/d/a@1"' in graph and 'href="/d/b@1"' in graph and 'href="/d/m@1"' in graph
    assert graph.count("<line") == 2  # a@1 -> m@1, b@1 -> m@1
    assert "mmtrain.json" in page.text  # checkpoints are known only to their own folder
    # From a parent: what was made from it
    parent = http.get("/d/a/history").text.split("<svg")[1].split("</svg>")[0]
    assert 'href="/d/m@1"' in parent and 'class="node focus"' in parent


def test_a_version_is_chosen_by_ref_or_query(http):
    first = http.get("/d/notes@1/history").text
    assert 'Lineage of <a href="/d/notes@1">notes@1</a>' in first
    assert 'href="/d/notes@2"' in first.split("<svg")[1]  # its child, the next version
    assert 'Lineage of <a href="/d/notes@2">' in http.get("/d/notes/history", params={"v": 2}).text


def test_unknown_names_are_404(http):
    assert http.get("/d/nope/history").status_code == 404
    assert http.get("/d/notes@9/history").status_code == 404


def test_graph_layout_keeps_edges_left_to_right():
    from mmdata.browse.pages.history import lineage_graph

    def v(ref, command, parents=(), tags=()):
        name, n = ref.split("@")
        return {"dataset": name, "version": int(n), "command": command, "parents": list(parents), "tags": list(tags)}

    versions = [
        v("crawl@1", "crawl"),
        v("talk@1", "transcribe", ["crawl@1"]),
        v("qa@1", "synthesize", ["talk@1", "crawl@stable"]),
        v("m@1", "mix", ["qa@1", "gone@3"]),
    ]
    versions[0]["tags"] = ["stable"]
    graph = lineage_graph(versions, "qa@1")
    x = {n["ref"]: n["x"] for n in graph["nodes"]}
    assert x["crawl@1"] < x["talk@1"] < x["qa@1"] < x["m@1"] and "gone@3" not in x
    assert len(graph["edges"]) == 4 and all(e["x1"] < e["x2"] for e in graph["edges"])
    around_mix = {n["ref"]: n for n in lineage_graph(versions, "m@1")["nodes"]}
    assert not around_mix["gone@3"]["known"] and around_mix["crawl@1"]["known"]
