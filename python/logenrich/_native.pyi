"""Types of the native module (python/src/lib.rs)."""

from os import PathLike
from typing import Callable, Optional, Sequence, Union

_Path = Union[str, PathLike[str]]

class Run:
    """A run of the command's pipeline over files and an optional pipe's read end."""

    def __init__(
        self, flags: Sequence[str], paths: Sequence[_Path], fd: Optional[int] = None
    ) -> None: ...
    def next_records(self) -> Optional[bytes]:
        """The next batch's records as JSON Lines; None once all are out."""
    def columns(self, progress: Optional[Callable[[int], object]] = None) -> list[tuple]:
        """Every remaining record as columns (name, kind, rows, validity, nulls, *buffers)."""
    def stop(self) -> None: ...
    def finish(self) -> dict:
        """Waits for the end of the run; its summary."""
    def close(self) -> None: ...

def report(inputs: Sequence[_Path], output: _Path, png: Optional[_Path] = None) -> None:
    """Writes the HTML report (and a PNG map) of enriched JSON Lines files."""
