"""Review flags from the browser: ``POST /flag`` adds or clears a record's flag (only in an app made
with ``allow_flags``), and the helpers the ``_flags.html`` partial calls.

The form carries a key made once per app: a page on another site can make the browser post a
form to 127.0.0.1, but it cannot read the key out of our pages, so its post is refused.
"""

from __future__ import annotations

import hmac
import re
import secrets
from urllib.parse import quote

from jinja2 import pass_context
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse
from starlette.routing import Route

from mmdata import review
from mmdata.browse.view import page, templates
from mmdata.errors import InputError

FORM_KEY_FIELD = "form_key"
REVIEWER_COOKIE = "mmdata_reviewer"
# A path of this app: "/" then printable ASCII, never "//" or a backslash (browsers read "//host"
# and "/\host" as another site) nor spaces (browsers drop tabs and newlines, making "/\t/host" "//host").
_LOCAL_PATH = re.compile(r"/(?!/)[!-\[\]-~]*")
_WAIT_S = 10  # a reviewer's click should not hang on a long import holding the write lock


def form_key(app) -> str:
    """This app's form key (made on first use)."""
    if not getattr(app.state, "flag_form_key", None):
        app.state.flag_form_key = secrets.token_urlsafe(24)
    return app.state.flag_form_key


async def post_flag(request):
    if not request.app.state.allow_flags:
        message = "flags are read-only here: start the app with mmdata browse --allow-flags"
        return page(request, "error.html", status_code=403, message=message)
    form = await request.form()
    given = str(form.get(FORM_KEY_FIELD, ""))
    if not hmac.compare_digest(given.encode(), form_key(request.app).encode()):
        message = "this form is stale or came from another page: reload the record and try again"
        return page(request, "error.html", status_code=403, message=message)
    dataset, key = str(form.get("dataset", "")), str(form.get("key", ""))
    if not dataset or not key:
        raise InputError("a flag needs the record's dataset and key")
    store, name = request.app.state.store, str(form.get("flag", ""))
    if form.get("action", "add") == "clear":
        await run_in_threadpool(review.clear_flag, store, dataset, key, name or None, _WAIT_S)
    else:
        note, who = str(form.get("note", "")), str(form.get("who", ""))
        await run_in_threadpool(review.flag, store, dataset, key, name, note, who or None, _WAIT_S)
    response = RedirectResponse(_back(str(form.get("next", "")), dataset, key), status_code=303)
    if form.get("who"):  # the form offers the same name next time
        response.set_cookie(REVIEWER_COOKIE, str(form["who"])[:100], httponly=True, samesite="strict")
    return response


def _back(given: str, dataset: str, key: str) -> str:
    """Where the form came from when that is a path of this app, else the record's own page
    (never another site: ``//host`` and ``/\\host`` are addresses elsewhere to a browser)."""
    if _LOCAL_PATH.fullmatch(given):
        return given
    return f"/d/{quote(dataset, safe='@')}/r/{quote(key, safe='')}"


@pass_context
def record_flags(context, dataset, key: str) -> list[dict]:
    """The record's active flags: from ``flags`` (``review.flags_for`` of the whole page) when the
    page passed it, else one query."""
    page_flags = context.get("flags")
    if isinstance(page_flags, dict):
        return page_flags.get(key, [])
    return review.flags(context["store"], str(dataset), key)


@pass_context
def flag_form_key(context) -> str:
    return form_key(context["request"].app)


# The partial is included by other pages' templates: it finds these without their page's help.
templates().env.globals.update(record_flags=record_flags, flag_form_key=flag_form_key, flag_names=review.FLAGS)

ROUTES = [Route("/flag", post_flag, methods=["POST"], name="flag")]
