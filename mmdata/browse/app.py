"""The app: one Starlette application over one store, its pages gathered from ``pages``."""

from __future__ import annotations

import hmac
import os

from mmdata.errors import InputError
from mmdata.extras import import_extra
from mmdata.store.lake import Store

TOKEN_ENV = "MMDATA_BROWSE_TOKEN"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def check_binding(host: str, token: str | None) -> None:
    """Anything but loopback is reachable by others: then every request must carry a token."""
    if host not in _LOOPBACK and not token:
        raise InputError(f"--host {host} lets other machines in: give --token (or set {TOKEN_ENV}) so each request must carry it")


def create_app(store: Store | str | None = None, *, token: str | None = None, allow_flags: bool = False):
    """The ASGI app over ``store``. ``token``: every request must carry it (``?token=``, then a
    cookie, or ``Authorization: Bearer``). ``allow_flags``: review flags may be written."""
    import_extra("starlette", "web", "mmdata browse")
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    from mmdata.browse.pages import routes
    from mmdata.browse.view import STATIC, error_handlers

    middleware = [Middleware(TokenGate, token=token)] if token else []
    app = Starlette(
        routes=[*routes(), Mount("/static", StaticFiles(directory=STATIC), name="static")],
        middleware=middleware,
        exception_handlers=error_handlers(),
    )
    app.state.store = Store.of(store)
    app.state.allow_flags = allow_flags
    app.state.token = token
    return app


class TokenGate:
    """Refuses every request without the token (403), whatever its path; a request with
    ``?token=`` gets it as a cookie, so links inside the app need not carry it."""

    def __init__(self, app, token: str):
        self.app, self.token = app, token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from starlette.requests import Request
        from starlette.responses import PlainTextResponse

        request = Request(scope)
        given = request.query_params.get("token") or request.cookies.get("mmdata_token") or ""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:]
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return await PlainTextResponse("a token is needed (?token=...)", status_code=403)(scope, receive, send)
        if request.query_params.get("token"):

            async def send_with_cookie(message):
                if message["type"] == "http.response.start":
                    cookie = f"mmdata_token={self.token}; HttpOnly; SameSite=Strict; Path=/"
                    message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
                await send(message)

            return await self.app(scope, receive, send_with_cookie)
        return await self.app(scope, receive, send)


def token_from_env(token: str | None) -> str | None:
    return token or os.environ.get(TOKEN_ENV) or None


def url(host: str, port: int, path: str = "/", token: str | None = None) -> str:
    """The address to open (with the token the first time, so the browser keeps it as a cookie)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{path}" + (f"?token={token}" if token else "")


def browse(
    store: Store | str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    allow_flags: bool = False,
) -> None:
    """Serve the app on ``host``:``port`` until interrupted (loopback only unless a ``token`` is given)."""
    token = token_from_env(token)
    check_binding(host, token)
    uvicorn = import_extra("uvicorn", "web", "mmdata browse")
    app = create_app(store, token=token, allow_flags=allow_flags)
    uvicorn.run(app, host=host, port=port, log_level="warning")
