"""Who may use the web workspace: login (token or password), first-start setup, logout, settings.

Settings manages API tokens (created, listed, revoked) and the web password.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from . import auth
from .api import SESSION_COOKIE, client_of, require_admin
from .pages import render, svc_of

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def _login(request: Request, subject: str, target: str) -> Response:
    svc = svc_of(request)
    resp = RedirectResponse(_safe_next(target), status_code=303)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        svc.close_session(old)
    resp.set_cookie(
        SESSION_COOKIE,
        svc.open_session(subject),
        max_age=svc.session_seconds,
        httponly=True,
        samesite="strict",
        secure=bool(request.app.state.secure_cookies),
    )
    return resp


# -- login ------------------------------------------------------------------------------


def _login_page(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
    svc = svc_of(request)
    with svc.read() as ws:
        has_pw = auth.has_password(ws)
    tpl = request.app.state.templates.get_template("login.html")
    html = tpl.render(request=request, user=None, voc=False, error=error, has_password=has_pw,
                      next=request.query_params.get("next", "/"), path="/login")  # fmt: skip
    return HTMLResponse(html, status_code=status)


@router.get("/login")
async def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    svc = svc_of(request)
    throttle: auth.Throttle = request.app.state.login_throttle
    client = client_of(request)
    try:
        throttle.check(client)
    except auth.TooManyAttempts as exc:
        resp = _login_page(request, str(exc), 429)
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    target = str(form.get("next") or "/")
    token = str(form.get("token") or "").strip()
    password = str(form.get("password") or "")
    if token:

        def lookup() -> dict[str, Any] | None:
            with svc.read() as ws:
                return auth.token_record(ws, token)

        # scrypt runs outside the workspace lock
        rec = auth.verify_token(await run_in_threadpool(lookup))
        if rec is not None and rec["scope"] == "admin":
            throttle.succeeded(client)
            return _login(request, f"token:{rec['token_id']}", target)
        throttle.failed(client)
        if rec is not None:
            return _login_page(request, "That token may only score accounts (scope 'score'); "
                               "log in with the password or an admin token.", 403)  # fmt: skip
        return _login_page(request, "That token is not valid or has been revoked.", 401)
    if password:

        def stored() -> str | None:
            with svc.read() as ws:
                return auth.password_record(ws)

        if auth.verify_password(await run_in_threadpool(stored), password):
            throttle.succeeded(client)
            return _login(request, "user", target)
    throttle.failed(client)
    return _login_page(request, "Wrong password.", 401)


@router.get("/setup")
async def setup_form(request: Request) -> Response:
    tpl = request.app.state.templates.get_template("setup.html")
    with svc_of(request).read() as ws:
        done = auth.has_password(ws)
    html = tpl.render(request=request, user=None, voc=False, code=request.query_params.get("code", ""),
                      done=done, error=None, path="/setup")  # fmt: skip
    return HTMLResponse(html)


@router.post("/setup")
async def setup(request: Request) -> Response:
    form = await request.form()
    svc = svc_of(request)
    code, pw, pw2 = (str(form.get(k) or "") for k in ("code", "password", "confirm"))
    error = None
    with svc.read() as ws:
        done = auth.has_password(ws)
    if done:
        error = "A password is already set. Log in, then change it under Settings."
    elif not hmac.compare_digest(code.encode(), str(request.app.state.setup_code).encode()):
        error = "The setup code is not right. Use the link `icp serve` printed when it started."
    elif pw != pw2:
        error = "The two passwords differ."
    else:
        try:
            svc.set_password(pw)
        except auth.PasswordError as exc:
            error = str(exc)
    if error is None:
        return _login(request, "user", "/")
    tpl = request.app.state.templates.get_template("setup.html")
    html = tpl.render(
        request=request, user=None, voc=False, code=code, done=False, error=error, path="/setup"
    )
    return HTMLResponse(html, status_code=422)


@router.post("/logout")
async def logout(request: Request) -> Response:
    svc_of(request).close_session(request.cookies.get(SESSION_COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.get("/favicon.ico")
async def favicon() -> Response:
    return RedirectResponse("/static/icon.svg", status_code=301)


# -- settings: tokens and password --------------------------------------------------------


def _settings(request: Request, status: int = 200, **ctx: Any) -> HTMLResponse:
    with svc_of(request).read() as ws:
        tokens = auth.list_tokens(ws)
    return render(request, "settings.html", status=status, tokens=tokens,
                  **{"new_token": None, "message": None, "error": None, **ctx})  # fmt: skip


@router.get("/settings")
async def settings(request: Request) -> Response:
    await require_admin(request)
    return _settings(request)


@router.post("/settings/tokens")
async def token_create(request: Request) -> Response:
    await require_admin(request)
    form = await request.form()
    name = str(form.get("name") or "").strip()[:100]
    scope = str(form.get("scope") or auth.DEFAULT_SCOPE)
    if scope not in auth.SCOPES:
        return _settings(request, 422, error=f"Unknown scope '{scope[:20]}'.")
    svc = svc_of(request)
    with svc.read() as ws:
        token = auth.create_token(ws, name, scope)
    svc._cache.pop("live_tokens", None)
    return _settings(request, new_token=token)


@router.post("/settings/tokens/{token_id}/revoke")
async def token_revoke(token_id: str, request: Request) -> Response:
    await require_admin(request)
    svc = svc_of(request)
    with svc.read() as ws:
        auth.revoke_token(ws, token_id)
    svc.tokens.clear()
    svc._cache.pop("live_tokens", None)
    return RedirectResponse("/settings", status_code=303)


@router.post("/settings/password")
async def password_change(request: Request) -> Response:
    await require_admin(request)
    form = await request.form()
    svc = svc_of(request)
    current = str(form.get("current") or "")
    pw, pw2 = str(form.get("password") or ""), str(form.get("confirm") or "")
    throttle: auth.Throttle = request.app.state.login_throttle
    client = client_of(request)
    try:
        throttle.check(client)
    except auth.TooManyAttempts as exc:
        return _settings(request, 429, error=str(exc))

    def stored() -> str | None:
        with svc.read() as ws:
            return auth.password_record(ws)

    record = await run_in_threadpool(stored)
    if record and not auth.verify_password(record, current):
        throttle.failed(client)
        return _settings(request, 422, error="The current password is not right.")
    if pw != pw2:
        return _settings(request, 422, error="The two passwords differ.")
    try:
        await run_in_threadpool(svc.set_password, pw)
    except auth.PasswordError as exc:
        return _settings(request, 422, error=str(exc))
    # every session ended with the old key; this one continues under the new key
    resp = _settings(request, message="Password changed. Every other session has been logged out.")
    resp.set_cookie(SESSION_COOKIE, svc.open_session("user"), max_age=svc.session_seconds,
                    httponly=True, samesite="strict", secure=bool(request.app.state.secure_cookies))  # fmt: skip
    return resp
