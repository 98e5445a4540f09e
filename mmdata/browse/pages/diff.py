"""Diff of two versions: added, removed and changed records, changed turns side by side with the
changed words marked. Words are returned as (mark, text) pieces and the template wraps them in
``<del>``/``<ins>``, so record text is only ever escaped, never marked safe."""

from __future__ import annotations

import difflib
import json
import re

from starlette.routing import Route

from mmdata.browse.view import page
from mmdata.errors import InputError, NotFoundError
from mmdata.history import diff
from mmdata.store.versions import list_versions, resolve

LIMIT, MAX_LIMIT = 20, 500
_WORDS = re.compile(r"\s+|[^\s]+")
_SKIPPED = {"id", "key"}  # a content hash: it differs whenever anything does


def word_diff(old: str, new: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``old`` and ``new`` as (mark, text) pieces: mark "del" on the old side and "ins" on the new
    side for the words that changed, "" for the rest."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    left: list[tuple[str, str]] = []
    right: list[tuple[str, str]] = []

    def put(side: list, mark: str, words: list[str]) -> None:
        if not words:
            return
        if side and side[-1][0] == mark:
            side[-1] = (mark, side[-1][1] + "".join(words))
        else:
            side.append((mark, "".join(words)))

    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            put(left, "", a[i1:i2])
            put(right, "", b[j1:j2])
        else:
            put(left, "del", a[i1:i2])
            put(right, "ins", b[j1:j2])
    return left, right


def _fields(record: dict) -> dict[str, tuple[str, str]]:
    """A record as labelled texts, in order: each turn's content and Malay content, then the other fields."""
    out: dict[str, tuple[str, str]] = {}
    for i, turn in enumerate(record.get("chat") or []):
        role = turn.get("role", "")
        out[f"{i}:content"] = (role, turn.get("content") or "")
        if turn.get("content_ms") is not None:
            out[f"{i}:content_ms"] = (f"{role} (ms)", turn["content_ms"])
    for name, value in record.items():
        if name in _SKIPPED or name == "chat":
            continue
        out[name] = (name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True))
    return out


def compare(before: dict, after: dict) -> list[dict]:
    """The rows of a changed record: every turn (by position) and each changed field, both sides, changed words marked."""
    old, new = _fields(before), _fields(after)
    rows = []
    for label in [*old, *(k for k in new if k not in old)]:
        name = (old.get(label) or new.get(label))[0]
        left, right = old.get(label, (name, ""))[1], new.get(label, (name, ""))[1]
        same = left == right
        if same and ":" not in label:  # an unchanged field other than a turn says nothing
            continue
        pieces = ([("", left)], [("", right)]) if same else word_diff(left, right)
        rows.append({"label": name, "same": same, "left": pieces[0], "right": pieces[1]})
    return rows


def _defaults(con, a: str, b: str, versions: list[dict]) -> tuple[str, str, str]:
    """``a`` and ``b`` with the gaps filled: ``b`` the newest version (of ``a``'s dataset), ``a`` the
    version before ``b``; and a note when there is nothing before it."""
    if not b:
        b = a.partition("@")[0] if a else (versions[0]["dataset"] if versions else "")
    if not b:
        return a, b, "the store holds no datasets yet"
    newer = resolve(con, b, known=versions)
    b = str(newer)
    if not a:
        if newer.version == 1:
            return a, b, f"{b} is the first version of {newer.dataset}: pick another to compare with"
        a = f"{newer.dataset}@{newer.version - 1}"
    return a, b, ""


def diff_page(request):
    """``/diff?a=REF&b=REF``: what changed from ``a`` to ``b`` (defaults: the version before and the newest)."""
    store = request.app.state.store
    params = request.query_params
    a, b = params.get("a", "").strip(), params.get("b", "").strip()
    try:
        limit = min(max(int(params.get("limit", LIMIT)), 1), MAX_LIMIT)
    except ValueError:
        limit = LIMIT
    context = {"a": a, "b": b, "limit": limit, "max_limit": MAX_LIMIT, "result": None, "error": "", "changed": []}
    status = 200
    try:
        with store.reader() as con:
            versions = list_versions(con)  # oldest first, as resolve expects
            context["versions"] = sorted(versions, key=lambda v: (v["dataset"], -v["version"]))
            context["a"], context["b"], context["error"] = _defaults(con, a, b, versions)
        if context["a"] and context["b"] and not context["error"]:
            result = diff(context["a"], context["b"], store, limit=limit)
            context["result"] = result
            context["changed"] = [
                {"before": pair["before"], "after": pair["after"], "rows": compare(pair["before"], pair["after"])}
                for pair in result["samples"]["changed"]
            ]
    except (InputError, NotFoundError) as exc:
        context["error"], status = str(exc), 404 if isinstance(exc, NotFoundError) else 400
    return page(request, "diff.html", status_code=status, **context)


ROUTES = [Route("/diff", diff_page, name="diff")]
