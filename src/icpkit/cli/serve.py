"""Server commands: ``icp serve`` and ``icp token create|list|revoke``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import IcpkitError
from .common import console, handle_errors, out, writing

WorkspaceOpt = Annotated[
    Path, typer.Option("--workspace", "-w", help="workspace folder (holds workspace.duckdb)")
]


class ServerMissing(IcpkitError):
    """The server needs the `server` extra: pip install 'icpkit[server]'."""


class UnknownToken(IcpkitError):
    """No such active token."""


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def serve(
        workspace: WorkspaceOpt,
        host: Annotated[
            str, typer.Option(help="address to listen on; loopback by default")
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8765,
        secure_cookies: Annotated[
            bool | None,
            typer.Option(
                "--secure-cookies/--no-secure-cookies",
                help="mark the session cookie Secure (HTTPS only); on by default unless "
                "the host is loopback",
            ),
        ] = None,
        max_upload_rows: Annotated[
            int | None,
            typer.Option(min=1, help="most rows in one uploaded file [default: 1,000,000]"),
        ] = None,
        max_upload_cells: Annotated[
            int | None,
            typer.Option(
                min=1, help="most cells (rows x columns) in one uploaded file [default: 20,000,000]"
            ),
        ] = None,
        max_accounts: Annotated[
            int | None,
            typer.Option(min=1, help="most accounts in one JSON scoring request [default: 10,000]"),
        ] = None,
        session_hours: Annotated[
            float | None, typer.Option(min=0.1, help="how long a web login lasts [default: 12]")
        ] = None,
    ) -> None:
        """Start the web workspace and the scoring API (FastAPI on uvicorn) for one workspace.

        Every endpoint but /api/v1/health needs a token from `icp token create`
        (scope `score` scores and answers webhooks; `admin` does everything); the
        web page logs in with an admin token or with a password set on first
        start (the setup link is printed below). The API schema is at
        /api/v1/docs; docs/security.md covers scopes, limits and HTTPS.

        Example:

            icp token create --workspace ws --name hubspot && icp serve --workspace ws --port 8765
        """
        try:
            import uvicorn

            from ..web import create_app
            from ..web.auth import has_password
        except ImportError as exc:
            raise ServerMissing() from exc
        loopback = host in ("127.0.0.1", "localhost", "::1")
        secure = (not loopback) if secure_cookies is None else secure_cookies
        limits = {"max_upload_rows": max_upload_rows, "max_upload_cells": max_upload_cells,
                  "max_accounts": max_accounts, "session_hours": session_hours}  # fmt: skip
        app_ = create_app(
            workspace, secure_cookies=secure, **{k: v for k, v in limits.items() if v is not None}
        )
        base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
        with app_.state.service.read() as ws:
            first = not has_password(ws)
        console.print(f"icpkit serving {workspace} at {base}/ (API schema: {base}/api/v1/docs)")
        if first:
            console.print(
                f"Set the web password once at {base}/setup?code={app_.state.setup_code}",
                soft_wrap=True,
            )
        if not loopback:
            console.print(
                f"[yellow]warning:[/] listening on {host}: put it behind HTTPS before exposing it"
                + (" (the session cookie is HTTPS-only)" if secure else ""),
                soft_wrap=True,
            )
        uvicorn.run(app_, host=host, port=port, log_level="warning", access_log=False)
        app_.state.service.close()

    token_app = typer.Typer(no_args_is_help=True)

    @token_app.command("create")
    @handle_errors
    def token_create(
        workspace: WorkspaceOpt,
        name: Annotated[str, typer.Option(help="what the token is for, e.g. hubspot")] = "",
        scope: Annotated[
            str,
            typer.Option(
                help="score: score accounts and answer CRM webhooks only; admin: everything "
                "(data, builds, ICP versions, the web workspace)"
            ),
        ] = "score",
    ) -> None:
        """Create an API token and print it once (only its hash is stored).

        Run it while the server is stopped, or create tokens on the server's
        Settings page.

        Example:

            icp token create --workspace ws --name hubspot-workflow --scope score
        """
        from ..web.auth import create_token

        with writing(workspace) as ws:
            token = create_token(ws, name, scope)
        out.print(token)
        console.print(
            f"Scope {scope}. Keep it safe: it is not shown again. "
            "Send it as `Authorization: Bearer <token>`."
        )

    @token_app.command("list")
    @handle_errors
    def token_list(workspace: WorkspaceOpt) -> None:
        """List the API tokens, one per line: id, scope, state, created (UTC), name (never the secret).

        Example:

            icp token list --workspace ws
        """
        from ..web.auth import list_tokens
        from ..workspace import Workspace

        with Workspace(workspace) as ws:
            tokens = list_tokens(ws)
        if not tokens:
            console.print("no tokens")
        for t in tokens:  # tab-separated, for scripts
            state = "revoked" if t["revoked"] else "active"
            typer.echo(f"{t['token_id']}\t{t['scope']}\t{state}\t{t['created_at']}\t{t['name']}")

    @token_app.command("revoke")
    @handle_errors
    def token_revoke(
        workspace: WorkspaceOpt,
        token_id: Annotated[str, typer.Argument(help="the token's id (from `icp token list`)")],
    ) -> None:
        """Revoke an API token by its id (run it while the server is stopped, or use Settings).

        Example:

            icp token revoke --workspace ws 1a2b3c4d
        """
        from ..web.auth import revoke_token

        with writing(workspace) as ws:
            done = revoke_token(ws, token_id)
        if not done:
            raise UnknownToken(f"No active token '{token_id}'. See `icp token list`.")
        out.print(f"revoked {token_id}")

    @token_app.callback()
    def token_group() -> None:
        """API tokens for `icp serve`, stored only as hashes in the workspace.

        `icp token create --workspace DIR [--name NAME] [--scope score|admin]` prints a
        new token once; `icp token list` and `icp token revoke ID` manage them.
        Run them while the server is stopped (or use the server's Settings page).

        Example:

            icp token create --workspace ws --name hubspot
        """

    app.add_typer(token_app, name="token")
