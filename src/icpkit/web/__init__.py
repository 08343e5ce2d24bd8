"""The icpkit server: a web workspace for the GTM team and a scoring API for the CRM.

Needs the ``server`` extra (``pip install icpkit[server]``). Start it with
``icp serve --workspace DIR``; build the application in code with
:func:`create_app`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # imported on first use, so that token management works without the server extra
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(name)
