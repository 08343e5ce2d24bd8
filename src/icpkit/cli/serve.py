"""Server commands: ``icp serve`` and ``icp token create``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import IcpkitError
from .common import console, handle_errors, out

WorkspaceOpt = Annotated[
    Path, typer.Option("--workspace", "-w", help="workspace folder (holds workspace.duckdb)")
]


class ServerMissing(IcpkitError):
    """The server needs the `server` extra: pip install 'icpkit[server]'."""


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def serve(
        workspace: WorkspaceOpt,
        host: Annotated[
            str, typer.Option(help="address to listen on; loopback by default")
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8765,
    ) -> None:
        """Start the web workspace and the scoring API (FastAPI on uvicorn) for one workspace.

        Every endpoint but /api/v1/health needs a token from `icp token create`;
        the web page logs in with a token or with a password set on first start
        (the setup link is printed below). The API schema is at /api/v1/docs.

        Example:

            icp token create --workspace ws --name hubspot && icp serve --workspace ws --port 8765
        """
        try:
            import uvicorn

            from ..web import create_app
            from ..web.auth import has_password
        except ImportError as exc:
            raise ServerMissing() from exc
        app_ = create_app(workspace)
        base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
        with app_.state.service.read() as ws:
            first = not has_password(ws)
        console.print(f"icpkit serving {workspace} at {base}/ (API schema: {base}/api/v1/docs)")
        if first:
            console.print(
                f"Set the web password once at {base}/setup?code={app_.state.setup_code}",
                soft_wrap=True,
            )
        if host not in ("127.0.0.1", "localhost", "::1"):
            console.print(
                f"[yellow]warning:[/] listening on {host}: put it behind HTTPS before exposing it"
            )
        uvicorn.run(app_, host=host, port=port, log_level="warning", access_log=False)
        app_.state.service.close()

    token_app = typer.Typer(no_args_is_help=True)

    @token_app.command("create")
    @handle_errors
    def token_create(
        workspace: WorkspaceOpt,
        name: Annotated[str, typer.Option(help="what the token is for, e.g. hubspot")] = "",
    ) -> None:
        """Create an API token and print it once (only its hash is stored).

        Run it while the server is stopped, or create tokens on the server's
        Settings page.

        Example:

            icp token create --workspace ws --name hubspot-workflow
        """
        from ..web.auth import create_token
        from ..workspace import Workspace

        with Workspace(workspace) as ws:
            token = create_token(ws, name)
        out.print(token)
        console.print(
            "Keep it safe: it is not shown again. Send it as `Authorization: Bearer <token>`."
        )

    @token_app.callback()
    def token_group() -> None:
        """API tokens for `icp serve`, stored only as hashes in the workspace.

        `icp token create --workspace DIR [--name NAME]` prints a new token once.
        Run it while the server is stopped (or use the server's Settings page).

        Example:

            icp token create --workspace ws --name hubspot
        """

    app.add_typer(token_app, name="token")
