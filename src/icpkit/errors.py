"""Named exceptions. Each one's docstring is its default message.

They are converted at the edge: the CLI prints them and exits non-zero, the
HTTP layer turns them into the one JSON error body.
"""

from __future__ import annotations


class IcpkitError(Exception):
    """icpkit could not complete the request."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class InputError(IcpkitError, ValueError):
    """An input file could not be used."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        self.hint = hint
        where = []
        if file:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if column:
            where.append(f"column '{column}'")
        text = (", ".join(where) + ": " if where else "") + message
        if hint:
            text += f". {hint}"
        super().__init__(text)


class InputErrors(IcpkitError, ValueError):
    """Several problems were found in the input files."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = errors
        shown = "\n".join(f"  - {e}" for e in errors[:20])
        more = f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} problem(s) in the input:\n{shown}{more}")


class IcpFileError(IcpkitError, ValueError):
    """The ICP file is not valid."""


class WorkspaceError(IcpkitError):
    """The workspace could not be used."""


class NoWorkspaceData(WorkspaceError):
    """The workspace has no data yet. Run `icp ingest --accounts PATH --deals PATH --workspace DIR` first."""


class NotFittedError(IcpkitError, ValueError, AttributeError):
    """This object is not fitted yet. Call `fit` first."""


class InsufficientData(IcpkitError, ValueError):
    """There is not enough data to learn from."""
