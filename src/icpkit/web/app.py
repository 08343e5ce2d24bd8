"""The icpkit server: ``create_app(workspace_dir)`` returns the FastAPI application.

Every error, from any route or from the framework itself (401, 403, 404, 405,
413, 415, 422, 429, 500), is answered with one JSON body::

    {"ok": false, "error": "message", "errors": [{"message": ...}], "status": 422}

(browser pages get the same message as an HTML page). No stack trace ever
reaches a client: unexpected errors are logged and answered with a 500.

Example
-------
>>> from icpkit.web import create_app
>>> app = create_app("ws")            # doctest: +SKIP
>>> # uvicorn.run(app, host="127.0.0.1", port=8765)
"""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..errors import IcpFileError, IcpkitError, InputError, InputErrors, WorkspaceError
from . import auth
from .jobs import MAX_CELLS, MAX_ROWS, Busy, NotAvailable, NotFound, Service, error_items

log = logging.getLogger("icpkit.web")

MAX_BODY = 32 * 1024 * 1024
MAX_UPLOAD = 512 * 1024 * 1024
MAX_UPLOAD_ROWS = MAX_ROWS
MAX_UPLOAD_CELLS = MAX_CELLS
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self' "
     b"'unsafe-inline'; script-src 'self'; object-src 'none'; base-uri 'none'; "
     b"form-action 'self'; frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]  # fmt: skip
SESSION_COOKIE = "icp_session"
UPLOAD_PATHS = ("/api/v1/uploads/", "/score")


def error_body(
    status: int, error: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"ok": False, "error": error, "errors": errors or [{"message": error}], "status": status}


def _status(exc: Exception) -> int:
    from .api import UnsupportedMedia
    from .jobs import TooLarge

    if isinstance(exc, auth.AuthError):
        return 401
    if isinstance(exc, auth.ScopeError):
        return 403
    if isinstance(exc, auth.TooManyAttempts):
        return 429
    if isinstance(exc, TooLarge):
        return 413
    if isinstance(exc, UnsupportedMedia):
        return 415
    if isinstance(exc, NotAvailable):
        return 501
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Busy):
        return 409
    if isinstance(exc, (InputError, InputErrors, IcpFileError, ValueError)):
        return 422
    if isinstance(exc, WorkspaceError):
        return 409
    return 400


class BodyLimit:
    """Refuse request bodies over a size limit (413), by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.max_upload if path.startswith(UPLOAD_PATHS) else self.max_body
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    size = int(v)
                except ValueError:
                    size = 0
                if size > limit:
                    body = error_body(
                        413,
                        f"The request body is {size:,} bytes; this server accepts at most {limit:,}.",
                    )
                    await _send_json(send, 413, body)
                    return
        seen = 0
        answered = False
        started = False

        async def guarded_send(msg: Message) -> None:
            nonlocal started
            if answered:
                return
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        async def limited() -> Message:
            nonlocal seen, answered
            msg = await receive()
            seen += len(msg.get("body", b""))
            if seen > limit and not answered:
                if not started:
                    await _send_json(
                        send,
                        413,
                        error_body(
                            413,
                            f"The request body is larger than {limit:,} bytes, the most this server accepts.",
                        ),
                    )
                answered = True
                return {"type": "http.disconnect"}
            return msg

        try:
            await self.app(scope, limited, guarded_send)
        except Exception:
            if not answered:
                raise


class Guard:
    """Security headers on every response; a same-origin check on state-changing browser requests.

    A POST, PUT, PATCH or DELETE without a bearer token (so: the session
    cookie, or a login form) must come from a page of this server: its
    ``Origin`` (else its ``Referer``) must name this host (the ``Host`` or,
    behind a proxy, ``X-Forwarded-Host`` header). Browsers send ``Origin`` on
    every cross-site form or script request, so a page on another port or
    host cannot act with the user's session (SameSite alone treats every
    port of a host as the same site). Requests without either header do not
    come from a browser page and pass.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k: v for k, v in scope.get("headers", [])}
        if scope["method"] in ("POST", "PUT", "PATCH", "DELETE") and not _same_origin(headers):
            await _send_json(send, 403, error_body(
                403, "Cross-site request refused: the Origin of this request is not this server."))  # fmt: skip
            return

        async def with_headers(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                have = {k.lower() for k, _ in msg.get("headers", [])}
                msg["headers"] = list(msg.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in have
                ]
            await send(msg)

        await self.app(scope, receive, with_headers)


def _same_origin(headers: dict[bytes, bytes]) -> bool:
    if b"authorization" in headers:
        return True  # another site's page cannot send a bearer token
    source = headers.get(b"origin") or headers.get(b"referer")
    if source is None:
        return True
    hosts = {
        headers[h].decode("latin-1").split(",")[0].strip().lower()
        for h in (b"host", b"x-forwarded-host")
        if h in headers
    }
    try:
        parts = urlsplit(source.decode("latin-1"))
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.netloc.lower() in hosts - {""}


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *SECURITY_HEADERS]})  # fmt: skip
    await send({"type": "http.response.body", "body": data})


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def create_app(
    workspace_dir: str | Path,
    *,
    setup_code: str | None = None,
    max_body: int = MAX_BODY,
    max_upload: int = MAX_UPLOAD,
    max_upload_rows: int = MAX_UPLOAD_ROWS,
    max_upload_cells: int = MAX_UPLOAD_CELLS,
    max_accounts: int = 10_000,
    session_hours: float = auth.SESSION_SECONDS / 3600,
    secure_cookies: bool = False,
) -> FastAPI:
    """The server for one workspace folder (created if missing).

    Parameters
    ----------
    workspace_dir : str or Path
        The folder holding ``workspace.duckdb`` (as ``icp run --out`` or ``icp ingest`` make it).
    setup_code : str, optional
        One-time code that allows setting the web password on first start
        (``icp serve`` prints it). Generated when not given.
    max_body, max_upload : int
        Largest accepted request body, for JSON requests and for file uploads.
    max_upload_rows, max_upload_cells : int
        Most rows, and most cells (rows times columns), in one uploaded file.
    max_accounts : int
        Most accounts in one JSON scoring request or webhook call.
    session_hours : float
        Lifetime of a web session, enforced by the server.
    secure_cookies : bool
        Mark the session cookie ``Secure`` (behind HTTPS).
    """
    service = Service(workspace_dir)
    service.session_seconds = int(session_hours * 3600)
    service.max_rows, service.max_cells = max_upload_rows, max_upload_cells
    app = FastAPI(
        title="icpkit",
        version=__version__,
        description="Score accounts against the Ideal Customer Profile, read the ICP and its versions, "
        "and answer CRM webhooks. Every endpoint but /api/v1/health needs "
        "`Authorization: Bearer <token>` (create one with `icp token create`).",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # the bundled pages load from a CDN; /api/v1/docs is served locally instead
        redoc_url=None,
    )
    app.state.service = service
    app.state.setup_code = setup_code or secrets.token_urlsafe(9)
    app.state.secure_cookies = secure_cookies
    app.state.max_accounts = max_accounts
    app.state.login_throttle = auth.Throttle(free=5)
    app.state.api_throttle = auth.Throttle(free=30)
    app.state.templates = Environment(
        loader=PackageLoader("icpkit", "web/templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def respond(request: Request, status: int, error: str, errors: list[dict[str, Any]] | None = None,
                headers: dict[str, str] | None = None) -> Response:  # fmt: skip
        if wants_html(request):
            if status == 401:
                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            tpl = app.state.templates.get_template("error.html")
            html = tpl.render(
                status=status,
                error=error,
                errors=errors or [],
                request=request,
                user=None,
                voc=False,
            )
            return HTMLResponse(html, status_code=status, headers=headers)
        return JSONResponse(error_body(status, error, errors), status_code=status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"Not found: {request.url.path}"
        if exc.status_code == 405:
            detail = f"Method {request.method} is not allowed on {request.url.path}"
        return respond(request, exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for e in exc.errors()[:50]:
            loc = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body",))
            errors.append({"message": f"{loc or 'body'}: {e.get('msg', 'invalid')}", "loc": loc})
        return respond(
            request,
            422,
            "The request is not valid: " + "; ".join(e["message"] for e in errors[:3]),
            errors,
        )

    @app.exception_handler(IcpkitError)
    async def icpkit_error(request: Request, exc: IcpkitError) -> Response:
        status = _status(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, auth.TooManyAttempts):
            headers = {"Retry-After": str(exc.retry_after)}
        msg = str(exc).splitlines()[0] if isinstance(exc, InputErrors) else str(exc)
        return respond(request, status, msg, error_items(exc), headers)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return respond(request, 500, "Internal server error. The details are in the server log.")

    from .api import router as api_router
    from .login import router as login_router
    from .pages import router as pages_router

    app.include_router(api_router)
    app.include_router(login_router)
    app.include_router(pages_router)
    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"
    )
    from .fastlane import FastLane

    app.add_middleware(FastLane, service=service)
    app.add_middleware(BodyLimit, max_body=max_body, max_upload=max_upload)
    app.add_middleware(Guard)
    return app
