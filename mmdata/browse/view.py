"""Rendering: the Jinja2 environment (autoescaping on: every string from a record is text), the
page helper every route uses, and the error pages."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
STATIC = HERE / "static"
_templates = None


def templates():
    global _templates
    if _templates is None:
        from starlette.templating import Jinja2Templates

        # Jinja2Templates turns autoescape on for .html: a record's "<script>" is shown, never run.
        _templates = Jinja2Templates(directory=str(HERE / "templates"))
    return _templates


def page(request, template: str, status_code: int = 200, **context):
    """Render ``template`` with ``context``, the store and the request."""
    store = request.app.state.store
    return templates().TemplateResponse(
        request,
        template,
        {"store": store, "allow_flags": request.app.state.allow_flags, **context},
        status_code=status_code,
    )


def error_handlers() -> dict:
    """Our errors become a page with their one line (404 for unknown names), never a traceback."""
    from mmdata.errors import InputError, MmdataError, NotFoundError, QueryError

    async def handle(request, exc: MmdataError):
        status = 404 if isinstance(exc, NotFoundError) else 400 if isinstance(exc, InputError | QueryError) else 500
        return page(request, "error.html", status_code=status, message=str(exc))

    async def not_found(request, exc):
        return page(request, "error.html", status_code=exc.status_code, message=exc.detail or "not found")

    from starlette.exceptions import HTTPException

    return {MmdataError: handle, HTTPException: not_found}
