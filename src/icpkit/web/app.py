"""The icpkit server: ``create_app(workspace_dir)`` returns the FastAPI application.

Every error, from any route or from the framework itself (404, 405, 413, 422,
500), is answered with one JSON body::

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
from .jobs import Busy, NotAvailable, NotFound, Service, error_items

log = logging.getLogger("icpkit.web")

MAX_BODY = 32 * 1024 * 1024
MAX_UPLOAD = 512 * 1024 * 1024
SESSION_COOKIE = "icp_session"
UPLOAD_PATHS = ("/api/v1/uploads/", "/score")


def error_body(
    status: int, error: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"ok": False, "error": error, "errors": errors or [{"message": error}], "status": status}


def _status(exc: Exception) -> int:
    if isinstance(exc, auth.AuthError):
        return 401
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


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})  # fmt: skip
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
    secure_cookies : bool
        Mark the session cookie ``Secure`` (behind HTTPS).
    """
    service = Service(workspace_dir)
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
    return app
