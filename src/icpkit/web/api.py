"""The HTTP API under ``/api/v1``: thin adapters over the library.

- ``POST /score``: one account or up to 10,000; the same numbers as ``icp score``.
- ``GET /icp``, ``GET /icp/versions``, ``GET /icp/versions/{n}``, ``POST /icp/versions/{n}/restore``.
- ``POST /ask``: conversation search, where the voc module is installed (else 501).
- ``POST /webhooks/hubspot``, ``POST /webhooks/salesforce``: score a changed company
  record and answer with the properties to write back.
- ``POST /uploads/{table}``, ``GET /uploads``, ``DELETE /uploads/{table}``,
  ``POST /builds``, ``GET /builds/{id}``: what the web page's data step uses.
- ``GET /health``: the only endpoint without a token.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .. import __version__, crm, icpfile
from ..errors import IcpkitError, InputError, WorkspaceError
from ..schema import TABLES
from . import auth
from .jobs import NotAvailable, NotFound, Service, TooLarge
from .rowscore import frame_records, score_records

MAX_BATCH = 10_000
SESSION_COOKIE = "icp_session"


class UnsupportedMedia(IcpkitError):
    """Send the body as JSON (415)."""


Scalar = str | int | float | bool | None
AttrValue = Scalar | list[Scalar]


def service(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]


def _token_alive(svc: Service, token_id: str) -> bool:
    def build(ws: Any) -> set[str]:
        return {
            t["token_id"]
            for t in auth.list_tokens(ws)
            if not t["revoked"] and t["scope"] == "admin"
        }

    return token_id in svc.cached("live_tokens", build)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def check_bearer(svc: Service, token: str) -> auth.Principal | None:
    """The token's principal: from the cache, else looked up under the lock and verified outside it."""
    who = svc.tokens.get(token)
    if who is not None:
        return who

    def lookup() -> dict[str, Any] | None:
        with svc.read() as ws:
            return auth.token_record(ws, token)

    rec = auth.verify_token(await run_in_threadpool(lookup))
    if rec is None:
        return None
    who = auth.Principal("token", rec["name"], rec["token_id"], rec["scope"])
    svc.tokens.put(token, who)
    return who


async def principal(request: Request) -> auth.Principal | None:
    """Who is calling: a bearer token, or a live session cookie from the web page."""
    svc = service(request)
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        throttle = request.app.state.api_throttle
        client = client_of(request)
        throttle.check(client)
        who = await check_bearer(svc, token)
        if who is None and auth._split(token) is not None:
            throttle.failed(client)  # only guesses that cost a scrypt count
        return who
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        sub = svc.session_subject(cookie)
        if sub == "user":
            return auth.Principal("user", "web user")
        if sub and sub.startswith("token:") and _token_alive(svc, sub[6:]):
            return auth.Principal("user", "web user (token)", sub[6:])
    return None


async def require_auth(request: Request) -> auth.Principal:
    who = await principal(request)
    if who is None:
        if request.headers.get("authorization"):
            raise auth.AuthError("The API token is not valid or has been revoked.")
        raise auth.AuthError()
    return who


async def require_admin(request: Request) -> auth.Principal:
    """Any authenticated caller but a ``score`` token (403 for that one)."""
    who = await require_auth(request)
    if who.scope != "admin":
        raise auth.ScopeError()
    return who


Auth = Annotated[auth.Principal, Depends(require_admin)]
ScoreAuth = Annotated[auth.Principal, Depends(require_auth)]
router = APIRouter(prefix="/api/v1", tags=["api"])


def json_response(data: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False, default=str).encode(),
        status_code=status,
        media_type="application/json",
    )


# -- models (for validation and the OpenAPI schema) ----------------------------------


class ErrorItem(BaseModel):
    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    hint: str | None = None
    loc: str | None = None


class ErrorBody(BaseModel):
    ok: bool = False
    error: str
    errors: list[ErrorItem]
    status: int


ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody, "description": d}
    for s, d in (
        (401, "no valid token"),
        (409, "the workspace has no ICP yet, or a build is running"),
        (413, "request body too large"),
        (422, "the request is not valid"),
    )
}


class ScoreRequest(BaseModel):
    """One account (``account``) or a batch (``accounts``, at most 10,000).

    An account is its attributes by name, as in an accounts CSV: ``account_id``,
    ``industry``, ``employees``, ``tech_stack`` (a list or "a;b") and any
    custom attribute the ICP uses. Common CRM names (``numberofemployees``,
    ``hs_object_id``, ``BillingCountry``) are understood.
    """

    model_config = ConfigDict(extra="forbid")
    account: dict[str, AttrValue] | None = None
    accounts: list[dict[str, AttrValue]] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one(self) -> ScoreRequest:
        if (self.account is None) == (self.accounts is None):
            raise ValueError("send exactly one of 'account' (one object) or 'accounts' (a list)")
        return self


class Scored(BaseModel):
    account_id: str
    score: int = Field(ge=0, le=100)
    tier: str = Field(description="1, 2, 3, none or excluded")
    route: str = Field(description="high_touch, nurture or deprioritize")
    reasons: list[str]
    points: dict[str, int]


class ScoreResponse(BaseModel):
    ok: bool = True
    icp_version: int | None
    result: Scored | None = None
    results: list[Scored] | None = None


def _shape(rec: dict[str, Any]) -> dict[str, Any]:
    reasons = str(rec.get("reasons") or "")
    return {
        "account_id": str(rec["account_id"]),
        "score": int(rec["score"]),
        "tier": str(rec["tier"]),
        "route": str(rec["route"]),
        "reasons": reasons.split("; ") if reasons else [],
        "points": {k[len("points_") :]: int(v) for k, v in rec.items() if k.startswith("points_")},
    }


def _snapshot(svc: Service) -> Any:
    snap = svc.snapshot
    if snap.icp is None:
        raise WorkspaceError(
            "The workspace has no ICP yet. Upload accounts and deals and run a build first."
        )
    return snap


async def score_many(
    svc: Service, records: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], int | None]:
    """Scored records (JSON-ready), through the one-account fast path where it applies."""
    snap = _snapshot(svc)
    if len(records) == 1:
        one = snap.scorer.score(records[0])
        if one is not None:
            return [one], snap.version
    return await run_in_threadpool(score_sync, svc, records)


def score_sync(
    svc: Service, records: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], int | None]:
    """The batch path, for a worker thread."""
    snap = _snapshot(svc)
    return frame_records(score_records(snap.icp, records)), snap.version


# -- endpoints ----------------------------------------------------------------------


@router.get("/health", summary="Liveness and the ICP version being served (no token needed)")
async def health(request: Request) -> dict[str, Any]:
    snap = service(request).snapshot
    return {"ok": True, "status": "ok", "version": __version__, "icp_version": snap.version}


SCORE_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": ScoreRequest.model_json_schema()}}}}  # fmt: skip


@router.post("/score", summary="Score one account or a batch", response_model=ScoreResponse,
             openapi_extra=SCORE_BODY, responses=ERRORS)  # fmt: skip
async def score(request: Request, who: ScoreAuth) -> Response:
    svc = service(request)
    limit = request.app.state.max_accounts
    raw = await _json_body(request)

    def parse() -> ScoreRequest:
        data = parse_json(raw)
        if isinstance(data, dict) and isinstance(data.get("accounts"), list):
            _check_batch(data["accounts"], limit)
        try:
            return ScoreRequest.model_validate(data)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None

    # a large batch is parsed, validated and scored off the event loop
    body = parse() if len(raw) < 8192 else await run_in_threadpool(parse)
    records = [body.account] if body.account is not None else list(body.accounts or [])
    if len(records) == 1:
        scored, version = await score_many(svc, records)
        shaped = [_shape(r) for r in scored]
    else:

        def work() -> tuple[list[dict[str, Any]], int | None]:
            scored, version = score_sync(svc, records)
            return [_shape(r) for r in scored], version

        shaped, version = await run_in_threadpool(work)
    if body.account is not None:
        return json_response({"ok": True, "icp_version": version, "result": shaped[0]})
    return json_response({"ok": True, "icp_version": version, "results": shaped})


@router.get("/icp", summary="The current icp.yaml as JSON", responses=ERRORS)
async def get_icp(request: Request, who: Auth) -> dict[str, Any]:
    snap = _snapshot(service(request))
    return {"ok": True, "version": snap.version, "icp": icpfile.to_dict(snap.icp)}


def _versions(svc: Service) -> list[dict[str, Any]]:
    def build(ws: Any) -> list[dict[str, Any]]:
        if not ws.file.exists():
            return []
        df = ws.icp_versions()
        return [
            {"version": int(r.version), "created_at": str(r.created_at)[:19], "note": r.note or ""}
            for r in df.itertuples()
        ]

    return svc.cached("versions", build)  # type: ignore[no-any-return]


@router.get("/icp/versions", summary="Every saved version of icp.yaml", responses=ERRORS)
async def icp_versions(request: Request, who: Auth) -> dict[str, Any]:
    svc = service(request)
    current = svc.snapshot.version
    return {
        "ok": True,
        "current": current,
        "versions": [{**v, "current": v["version"] == current} for v in _versions(svc)],
    }


def version_text(svc: Service, n: int) -> str:
    with svc.read() as ws:
        text = ws.icp_version(n) if ws.file.exists() else None
    if text is None:
        raise NotFound(f"There is no ICP version {n}.")
    return text


@router.get(
    "/icp/versions/{version}",
    summary="One saved version of icp.yaml",
    responses={**ERRORS, 404: ERRORS[401]},
)
async def icp_version(version: int, request: Request, who: Auth) -> dict[str, Any]:
    text = version_text(service(request), version)
    return {
        "ok": True,
        "version": version,
        "icp": icpfile.to_dict(icpfile.loads(text)),
        "yaml": text,
    }


@router.post("/icp/versions/{version}/restore", summary="Make an earlier version current (as a new version)",
             responses={**ERRORS, 404: ERRORS[401]})  # fmt: skip
async def restore_version(version: int, request: Request, who: Auth) -> dict[str, Any]:
    svc = service(request)
    icp = icpfile.loads(version_text(svc, version), f"icp.yaml version {version}")
    new = await run_in_threadpool(svc.save_icp, icp, f"restored version {version}")
    return {"ok": True, "version": new, "restored": version}


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=2000)
    limit: int = Field(default=20, ge=1, le=100)
    speaker: Literal["customer", "us", "all"] = Field(
        default="customer", description="customer: what customers said; us: our reps and support"
    )
    as_of: date | None = Field(
        default=None,
        description="the day 'last month' counts from (default: the archive's latest date)",
    )

    @field_validator("question")
    @classmethod
    def _text(cls, v: str) -> str:
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                "the question holds a lone UTF-16 surrogate, which is not text"
            ) from None
        return v


def voc_module() -> Any:
    from .. import voc

    return voc


@router.post("/ask", summary="Answer a question from the conversations, with quotes and sources",
             responses={**ERRORS, 501: ERRORS[401]})  # fmt: skip
async def ask(body: AskRequest, request: Request, who: Auth) -> Response:
    answer = await run_in_threadpool(
        run_ask, service(request), body.question, body.limit, body.speaker, body.as_of
    )
    return json_response({"ok": True, **answer.as_dict()})


def run_ask(
    svc: Service,
    question: str,
    limit: int = 20,
    speaker: str = "customer",
    as_of: date | None = None,
) -> Any:
    voc = voc_module()
    if voc is None:
        raise NotAvailable("Conversation search (icp ask) is not available on this server.")
    with svc.read() as ws:
        if not ws.file.exists() or not ws.has("accounts"):
            raise WorkspaceError("The workspace has no data yet. Upload accounts and deals first.")
        return voc.ask(ws, question, limit=limit, speaker=speaker, as_of=as_of)


def is_json_type(content_type: str | None) -> bool:
    """The body may be read as JSON: no Content-Type (as curl sends) or a JSON media type."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def _json_body(request: Request) -> bytes:
    if not is_json_type(request.headers.get("content-type")):
        raise UnsupportedMedia(
            f"send the body as JSON (Content-Type: application/json), not {request.headers['content-type'][:80]}"
        )
    return await request.body()


_SURROGATE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


def parse_json(raw: bytes) -> Any:
    """The request body as JSON, or a 4xx error: not JSON, nested too deeply, or a lone surrogate."""
    try:
        data = json.loads(raw or b"null")
    except RecursionError:
        raise InputError(
            "the request body is nested too deeply", hint="Send accounts as flat objects"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"the request body is not valid JSON ({exc})") from None
    if _SURROGATE.search(raw):
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(
                "the request body holds a lone UTF-16 surrogate (such as \\ud800), which is not text",
                hint="Send valid Unicode text",
            ) from None
        except RecursionError:
            raise InputError("the request body is nested too deeply") from None
    return data


async def _records(request: Request, extract: Any) -> Any:
    """The webhook's records: parsed and mapped on the event loop when small, else in a worker thread."""
    raw = await _json_body(request)
    if len(raw) < 8192:
        return extract(parse_json(raw))
    return await run_in_threadpool(lambda: extract(parse_json(raw)))


WEBHOOK_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}, "maxItems": MAX_BATCH}]}}}}}  # fmt: skip


def _coverage(svc: Service, records: list[dict[str, Any]]) -> list[str]:
    icp = svc.snapshot.icp
    used = set(icp.used_attributes()) if icp else set()
    from .rowscore import column_names

    warnings = []
    for r in records:
        names = column_names(tuple(str(k) for k in r)) or ()
        have = used & set(names)
        if used and len(have) < len(used) / 2:
            warnings.append(
                f"record {r.get('account_id')}: only {len(have)} of the {len(used)} attributes the ICP uses "
                "were sent; the others score neutral (0 points). Send the whole record, not only the changed property."
            )
    return warnings[:20]


@router.post("/webhooks/hubspot", summary="Score HubSpot company records; answer with the properties to write back",
             openapi_extra=WEBHOOK_BODY, responses=ERRORS)  # fmt: skip
async def hubspot_webhook(request: Request, who: ScoreAuth) -> Response:
    svc = service(request)
    records = await _records(request, crm.hubspot_records)
    _check_batch(records, request.app.state.max_accounts)
    scored, version = await score_many(svc, records)
    return json_response({"ok": True, "icp_version": version, **crm.hubspot_answer(scored),
                          "warnings": _coverage(svc, records)})  # fmt: skip


@router.post("/webhooks/salesforce", summary="Score Salesforce Account records; answer with the fields to write back",
             openapi_extra=WEBHOOK_BODY, responses=ERRORS)  # fmt: skip
async def salesforce_webhook(request: Request, who: ScoreAuth) -> Response:
    svc = service(request)
    records, kind = await _records(request, crm.salesforce_records)
    _check_batch(records, request.app.state.max_accounts)
    scored, version = await score_many(svc, records)
    return json_response({"ok": True, "icp_version": version, **crm.salesforce_answer(scored, kind),
                          "warnings": _coverage(svc, records)})  # fmt: skip


def _check_batch(records: list[Any], limit: int = MAX_BATCH) -> None:
    if not records:
        raise InputError("the payload holds no records")
    if len(records) > limit:
        raise TooLarge(
            f"at most {limit:,} accounts per request; got {len(records):,}. Score large lists "
            "in bulk: `icp score --accounts FILE` (or --engine duckdb), the Score page's file "
            f"upload, or batches of at most {limit:,}"
        )


# -- data and builds (used by the web page; scriptable too) ---------------------------


def _table(table: str) -> str:
    if table not in TABLES:
        raise InputError(f"unknown table '{table}'", hint=f"Use one of {', '.join(TABLES)}")
    return table


@router.get("/uploads", summary="Files uploaded for the next build", responses=ERRORS)
async def list_uploads(request: Request, who: Auth) -> dict[str, Any]:
    staged = service(request).staged()
    return {
        "ok": True,
        "uploads": {k: {"file": v["file"], "bytes": v["bytes"]} for k, v in staged.items()},
    }


@router.post("/uploads/{table}", summary="Upload and validate one input file (CSV, TSV, Parquet or JSON lines)",
             responses=ERRORS)  # fmt: skip
async def upload(
    table: str, request: Request, who: Auth, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    svc = service(request)
    _table(table)
    info = await run_in_threadpool(svc.stage_upload, table, file.filename or "", file.file)
    return {"ok": True, **info}


@router.delete(
    "/uploads/{table}", summary="Remove an uploaded file", responses={**ERRORS, 404: ERRORS[401]}
)
async def remove_upload(table: str, request: Request, who: Auth) -> dict[str, Any]:
    _table(table)
    if not service(request).remove_upload(table):
        raise NotFound(f"No file is uploaded for '{table}'.")
    return {"ok": True, "table": table}


@router.post("/builds", summary="Ingest the uploads and build the ICP (in the background)", status_code=202,
             responses=ERRORS)  # fmt: skip
async def start_build(request: Request, who: Auth) -> dict[str, Any]:
    job = service(request).start_build()
    return {"ok": True, **job.as_dict()}


@router.get(
    "/builds/{job_id}",
    summary="Progress and outcome of a build",
    responses={**ERRORS, 404: ERRORS[401]},
)
async def get_build(job_id: str, request: Request, who: Auth) -> dict[str, Any]:
    job = service(request).jobs.get(job_id)
    if job is None:
        raise NotFound(f"There is no build '{job_id}' (builds are kept until the server restarts).")
    return {"ok": True, **job.as_dict()}
