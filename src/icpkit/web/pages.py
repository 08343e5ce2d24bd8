"""The web workspace: server-rendered pages over the same library calls as the CLI.

Login (token or password), data upload and build, the report by section,
the ICP editor with preview and versions, scoring with CRM downloads, Ask
(where the voc module exists) and token management.
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import crm, edit, icpfile
from ..errors import IcpkitError, InputError, InputErrors
from ..ingest import read_table
from ..report import collect, render_html
from ..schema import TABLES
from ..scoring.scorer import score_accounts
from . import auth
from .api import (
    _versions,
    principal,
    run_ask,
    version_text,
    voc_module,
)
from .jobs import REQUIRED, NotFound, Service, TooLarge, error_items, short_name

router = APIRouter(include_in_schema=False)
MAX_RESULTS = 30
SHOWN_ROWS = 200
_SECTION = re.compile(r'<section id="([^"]+)">(.*?)</section>', re.S)
_TITLE = re.compile(r"<h[12][^>]*>(.*?)</h[12]>", re.S)
_TAGS = re.compile(r"<[^>]+>")


def svc_of(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]


async def user(request: Request) -> auth.Principal:
    """The web user (a session, the password or an admin token); a ``score`` token gets 403."""
    who = await principal(request)
    if who is None:
        raise auth.AuthError()
    if who.scope != "admin":
        raise auth.ScopeError()
    return who


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    svc = svc_of(request)
    tpl = request.app.state.templates.get_template(name)
    html = tpl.render(
        request=request,
        user=True,
        voc=voc_module() is not None,
        snap=svc.snapshot,
        path=request.url.path,
        **ctx,
    )
    return HTMLResponse(html, status_code=status)


# -- overview and data ------------------------------------------------------------------


def _last_job(svc: Service) -> Any:
    return next(reversed(svc.jobs.values()), None)


@router.get("/")
async def overview(request: Request) -> Response:
    await user(request)
    svc = svc_of(request)
    return render(request, "overview.html", tables=svc.tables(), staged=svc.staged(),
                  versions=_versions(svc)[-5:], job=_last_job(svc), required=REQUIRED)  # fmt: skip


@router.get("/data")
async def data(request: Request) -> Response:
    await user(request)
    svc = svc_of(request)
    return render(request, "data.html", TABLES=TABLES, required=REQUIRED, tables=svc.tables(),
                  staged=svc.staged(), job=_last_job(svc))  # fmt: skip


# -- report -----------------------------------------------------------------------------


def split_report(html: str) -> list[dict[str, str]]:
    """The report's sections as (id, title, html), in order."""
    out = []
    for sid, body in _SECTION.findall(html):
        m = _TITLE.search(body)
        title = _TAGS.sub("", m.group(1)).strip() if m else sid
        if sid == "summary":
            title = "Summary"
        out.append({"id": sid, "title": title.split(":")[0], "html": body})
    return out


def report_sections(svc: Service) -> list[dict[str, str]]:
    return svc.cached("report", lambda ws: split_report(render_html(collect(ws))))  # type: ignore[no-any-return]


@router.get("/report")
async def report_index(request: Request) -> Response:
    await user(request)
    if svc_of(request).snapshot.icp is None:
        return render(request, "report.html", sections=[], section=None)
    return RedirectResponse("/report/summary", status_code=303)


@router.get("/report/full.html")
async def report_full(request: Request) -> Response:
    await user(request)
    svc = svc_of(request)
    if svc.snapshot.icp is None:
        raise NotFound("There is no report yet: run a build first.")
    html = await run_in_threadpool(svc.cached, "report_html", lambda ws: render_html(collect(ws)))
    return HTMLResponse(html, headers={"Content-Disposition": 'inline; filename="report.html"'})


@router.get("/report/{section}")
async def report_section(section: str, request: Request) -> Response:
    await user(request)
    svc = svc_of(request)
    if svc.snapshot.icp is None:
        return render(request, "report.html", sections=[], section=None)
    sections = await run_in_threadpool(report_sections, svc)
    found = next((s for s in sections if s["id"] == section), None)
    if found is None:
        raise NotFound(f"The report has no section '{section}'.")
    i = sections.index(found)
    return render(request, "report.html", sections=sections, section=found,
                  prev=sections[i - 1] if i else None, next=sections[i + 1] if i + 1 < len(sections) else None)  # fmt: skip


# -- ICP editor and versions ------------------------------------------------------------


def _frames(svc: Service) -> tuple[Any, Any]:
    def build(ws: Any) -> tuple[Any, Any]:
        acc = ws.table("accounts") if ws.has("accounts") else None
        deals = ws.table("deals") if ws.has("deals") else None
        return acc, deals

    return svc.cached("frames", build)  # type: ignore[no-any-return]


@router.get("/icp")
async def icp_page(request: Request) -> Response:
    await user(request)
    snap = svc_of(request).snapshot
    return render(request, "icp.html", icp=snap.icp, form={}, preview=None, diff=None, changes=[],
                  error=None, ops=edit.OPS, yaml_text=icpfile.dumps(snap.icp) if snap.icp else "")  # fmt: skip


@router.post("/icp")
async def icp_edit(request: Request) -> Response:
    await user(request)
    svc = svc_of(request)
    snap = svc.snapshot
    if snap.icp is None:
        raise NotFound("There is no ICP yet: run a build first.")
    form = {k: str(v) for k, v in (await request.form()).items()}
    action = form.get("action", "preview")
    ctx: dict[str, Any] = {"icp": snap.icp, "form": form, "preview": None, "diff": None, "changes": [],
                           "error": None, "ops": edit.OPS, "yaml_text": form.get("yaml", "")}  # fmt: skip
    try:
        if form.get("base_version") and str(snap.version) != form["base_version"]:
            raise InputError(
                f"the ICP changed since this page was opened (now version {snap.version})",
                hint="Reload the page and make the edit again",
            )
        if form.get("mode") == "yaml":
            edited = icpfile.loads(form.get("yaml", ""), "the edited icp.yaml")
            changes = ["edited icp.yaml by hand"]
        else:
            edited, changes = edit.apply_edits(snap.icp, form)
        ctx["changes"] = changes
        old_text, new_text = icpfile.dumps(snap.icp), icpfile.dumps(edited)
        ctx["diff"] = edit.diff(old_text, new_text, f"version {snap.version}", "edited")
        if action == "save":
            if old_text == new_text:
                raise InputError("nothing changed", hint="Change a value, then save")
            note = form.get("note", "").strip() or "; ".join(changes)[:300]
            version = await run_in_threadpool(svc.save_icp, edited, note)
            return RedirectResponse(f"/icp/versions/{version}?saved=1", status_code=303)
        acc, deals = await run_in_threadpool(_frames, svc)
        if acc is not None:
            ctx["preview"] = await run_in_threadpool(edit.preview, snap.icp, edited, acc, deals)
    except (InputError, InputErrors, icpfile.IcpFileError) as exc:
        ctx["error"] = str(exc)
        return render(request, "icp.html", status=422, **ctx)
    return render(request, "icp.html", **ctx)


@router.get("/icp/versions")
async def versions_page(request: Request) -> Response:
    await user(request)
    svc = svc_of(request)
    return render(request, "versions.html", versions=list(reversed(_versions(svc))))


@router.get("/icp/versions/{version}")
async def version_page(version: int, request: Request) -> Response:
    await user(request)
    svc = svc_of(request)
    text = version_text(svc, version)
    prev = None
    earlier = [v["version"] for v in _versions(svc) if v["version"] < version]
    if earlier:
        prev = version_text(svc, earlier[-1])
    lines = edit.diff(prev, text, f"version {earlier[-1]}", f"version {version}") if prev else []
    meta = next((v for v in _versions(svc) if v["version"] == version), {})
    return render(request, "version.html", version=version, meta=meta, text=text, diff=lines,
                  prev=earlier[-1] if earlier else None, saved=request.query_params.get("saved"))  # fmt: skip


@router.post("/icp/versions/{version}/restore")
async def restore_page(version: int, request: Request) -> Response:
    await user(request)
    svc = svc_of(request)
    icp = icpfile.loads(version_text(svc, version), f"icp.yaml version {version}")
    new = await run_in_threadpool(svc.save_icp, icp, f"restored version {version}")
    return RedirectResponse(f"/icp/versions/{new}?saved=1", status_code=303)


# -- scoring ----------------------------------------------------------------------------


def _results(request: Request) -> OrderedDict[str, Any]:
    store = getattr(request.app.state, "results", None)
    if store is None:
        store = request.app.state.results = OrderedDict()
    return store  # type: ignore[no-any-return]


def score_text_or_file(
    svc: Service, name: str, data: bytes
) -> tuple[Any, dict[str, Any], list[str]]:
    """Score pasted text or an uploaded file exactly as ``icp score`` scores a file."""
    icp = svc.snapshot.icp
    if icp is None:
        raise InputError(
            "there is no ICP yet", hint="Upload accounts and deals and run a build first"
        )
    svc.uploads.mkdir(mode=0o700, exist_ok=True)
    tmp = svc.uploads / f".score-{secrets.token_hex(6)}"
    tmp.mkdir()
    try:
        name = short_name(Path(name.replace("\x00", "")).name or "pasted.csv")
        path = tmp / name
        path.write_bytes(data)
        svc.check_shape(path, name)
        try:
            frame, _kinds, warnings = read_table("market", path)
        except (InputError, InputErrors) as exc:
            raise svc._clean_exc(exc, tmp) from None
        res = score_accounts(icp, frame)
        domains = {}
        if "domain" in frame.columns:
            domains = dict(zip(frame["account_id"].astype(str), frame["domain"], strict=True))
        return res.frame, domains, [svc._clean(w, tmp) for w in warnings + res.warnings]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def changed_since_upload(svc: Service, name: str, data: bytes, scored: Any) -> Any:
    """Which scored rows changed tier or route since an uploaded previous export."""
    tmp = svc.uploads / f".previous-{secrets.token_hex(6)}"
    tmp.mkdir(parents=True)
    try:
        path = tmp / (Path(name).name or "previous.csv")
        path.write_bytes(data)
        try:
            previous = crm.read_export(path)
        except (InputError, InputErrors) as exc:
            raise svc._clean_exc(exc, tmp) from None
        return crm.changed_rows(scored, previous).to_numpy()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _example(svc: Service) -> str:
    icp = svc.snapshot.icp
    if icp is None:
        return ""
    acc, _ = _frames(svc)
    if acc is None or not len(acc):
        return ""
    cols = ["account_id"] + [c for c in ("name", "domain") if c in acc.columns]
    cols += [a for a in icp.used_attributes() if a in acc.columns and a not in cols]
    rows = acc[cols].head(2).copy()
    for c in cols:
        rows[c] = rows[c].map(
            lambda v: ";".join(v) if isinstance(v, (list, tuple)) or hasattr(v, "tolist") else v
        )
    return rows.to_csv(index=False, lineterminator="\n")


@router.get("/score")
async def score_page(request: Request) -> Response:
    await user(request)
    svc = svc_of(request)
    example = await run_in_threadpool(_example, svc)
    return render(request, "score.html", text=example, result=None, error=None, errors=[])


@router.post("/score")
async def score_submit(request: Request) -> Response:
    await user(request)
    svc = svc_of(request)
    form = await request.form()
    upload = form.get("file")
    text = str(form.get("text") or "")
    if upload is not None and not isinstance(upload, str) and upload.filename:
        name, data = upload.filename, await upload.read()
    else:
        name, data = "pasted.csv", text.encode("utf-8")
    previous = form.get("previous")
    changed = since = None
    try:
        if not data.strip():
            raise InputError(
                "paste accounts (a header row, then one row per account) or choose a file"
            )
        frame, domains, warnings = await run_in_threadpool(score_text_or_file, svc, name, data)
        if previous is not None and not isinstance(previous, str) and previous.filename:
            since = Path(previous.filename).name
            changed = await run_in_threadpool(
                changed_since_upload, svc, since, await previous.read(), frame
            )
    except IcpkitError as exc:
        return render(request, "score.html", status=413 if isinstance(exc, TooLarge) else 422, text=text, result=None, error=str(exc).splitlines()[0],
                      errors=error_items(exc))  # fmt: skip
    rid = secrets.token_hex(8)
    store = _results(request)
    icp = svc.snapshot.icp
    version = crm.icp_fingerprint(icp) if icp is not None else ""
    store[rid] = (time.time(), frame, domains, version, changed)
    while len(store) > MAX_RESULTS:
        store.popitem(last=False)
    rows = frame.head(SHOWN_ROWS).to_dict("records")
    tiers = frame["tier"].astype(str).value_counts().to_dict()
    return render(request, "score.html", text=text, error=None, errors=[], warnings=warnings,
                  result={"id": rid, "rows": rows, "n": len(frame), "tiers": tiers,
                          "changed": None if changed is None else int(changed.sum()), "since": since})  # fmt: skip


@router.get("/score/results/{rid}.csv")
async def score_download(rid: str, request: Request) -> Response:
    await user(request)
    hit = _results(request).get(rid)
    if hit is None:
        raise NotFound("Those results have expired. Score the accounts again.")
    fmt = request.query_params.get("format", "csv")
    scored_at, frame, domains, version, changed = hit
    if request.query_params.get("changed"):
        if changed is None:
            raise InputError(
                "these results were scored without a previous export",
                hint="Score again and choose the previous export to write only what changed",
            )
        frame = frame[changed]
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(scored_at))
    body = crm.to_csv(crm.export_frame(frame, fmt, domains, version=version, scored_at=when))
    name = {
        "csv": "icp-scores.csv",
        "hubspot": "icp-scores-hubspot.csv",
        "salesforce": "icp-scores-salesforce.csv",
    }[fmt]
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.get("/score/crm/{name}")
async def crm_definitions(name: str, request: Request) -> Response:
    """The ICP properties to create in the CRM before the first import."""
    await user(request)
    files = {crm.property_definitions(f)[0]: f for f in crm.CRMS}
    if name not in files:
        raise NotFound(f"No such file: {name}. There are {', '.join(sorted(files))}.")
    _, text = crm.property_definitions(files[name])
    kind = "application/json" if name.endswith(".json") else "text/csv; charset=utf-8"
    return Response(text, media_type=kind,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


# -- API reference (served locally: no CDN) ---------------------------------------------


def _ref(schema: Any, components: dict[str, Any]) -> Any:
    """The schema with local ``$ref``s to components inlined (one level of names kept)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            name = str(schema["$ref"]).rsplit("/", 1)[-1]
            return {"title": name, **_ref(components.get(name, {}), {})}
        return {k: _ref(v, components) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_ref(v, components) for v in schema]
    return schema


@router.get("/api/v1/docs")
async def api_docs(request: Request) -> Response:
    """A readable reference of the OpenAPI schema, rendered on the server."""
    import json

    spec: dict[str, Any] = request.app.openapi()
    comps = spec.get("components", {}).get("schemas", {})
    ops = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            body: dict[str, Any] = op.get("requestBody", {}).get("content", {})
            first: dict[str, Any] = next(iter(body.values()), {}) if body else {}
            body_schema = first.get("schema")
            ops.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "params": op.get("parameters", []),
                    "body": json.dumps(_ref(body_schema, comps), indent=2) if body_schema else None,
                    "responses": sorted(op.get("responses", {})),
                }
            )
    who = await principal(request)
    tpl = request.app.state.templates.get_template("api_docs.html")
    html = tpl.render(request=request, user=who is not None, voc=voc_module() is not None,
                      snap=svc_of(request).snapshot, path=request.url.path, spec=spec, ops=ops)  # fmt: skip
    return HTMLResponse(html)


# -- ask ----------------------------------------------------------------------------------


@router.get("/ask")
async def ask_page(request: Request) -> Response:
    await user(request)
    if voc_module() is None:
        raise NotFound("Conversation search is not available on this server.")
    return render(request, "ask.html", question="", answer=None, error=None)


@router.post("/ask")
async def ask_submit(request: Request) -> Response:
    await user(request)
    form = await request.form()
    question = str(form.get("question") or "").strip()[:2000]
    try:
        if not question:
            raise InputError("type a question, e.g. what do our best customers say about pricing?")
        answer = await run_in_threadpool(run_ask, svc_of(request), question)
    except IcpkitError as exc:
        return render(
            request, "ask.html", status=422, question=question, answer=None, error=str(exc)
        )
    return render(request, "ask.html", question=question, answer=answer, error=None)


@router.get("/ask/source/{source_id}")
async def ask_source(source_id: str, request: Request) -> Response:
    await user(request)
    svc = svc_of(request)
    with svc.read() as ws:
        if not ws.file.exists() or not ws.has("conversations"):
            raise NotFound("There are no conversations in this workspace.")
        if source_id.startswith("h:"):
            where = ("'h:' || md5(coalesce(CAST(account_id AS VARCHAR), '') || '|' || coalesce(CAST(occurred_at AS VARCHAR), '')"
                     " || '|' || coalesce(CAST(text AS VARCHAR), '')) = ?")  # fmt: skip
        else:
            where = "CAST(id AS VARCHAR) = ?"
        df = ws.query(f"SELECT * FROM conversations WHERE {where} LIMIT 1", [source_id])
    if not len(df):
        raise NotFound(f"There is no conversation '{source_id}'.")
    row = {k: v for k, v in df.iloc[0].to_dict().items()}
    text = str(row.pop("text", "") or "")
    try:
        start = max(0, int(request.query_params.get("start", 0)))
        end = min(len(text), int(request.query_params.get("end", 0)))
    except ValueError:
        start = end = 0
    parts = (text[:start], text[start:end], text[end:]) if end > start else (text, "", "")
    return render(request, "source.html", source_id=source_id, meta=row, parts=parts)
