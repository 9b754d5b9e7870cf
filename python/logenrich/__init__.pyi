"""Types of the logenrich package (python/logenrich/__init__.py)."""

from os import PathLike
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

import pandas as pd

_Path = Union[str, PathLike[str]]
_Lines = Union[_Path, Iterable[Union[str, bytes]]]

def read_log(
    path_or_lines: _Lines,
    *,
    format: str = "auto",
    log_format: Optional[str] = None,
    apache_format: Optional[str] = None,
    reverse_dns: bool = True,
    nameservers: Union[None, str, Sequence[str]] = None,
    dnsbl: Union[str, Sequence[str]] = (),
    geoip: Union[None, bool, _Path, Sequence[_Path]] = None,
    cymru: bool = False,
    attacks: bool = True,
    cache_db: Optional[_Path] = None,
    config: Optional[_Path] = None,
    timeout: Optional[float] = None,
    progress: Optional[bool] = None,
) -> pd.DataFrame: ...
def enrich(
    path_or_lines: _Lines,
    *,
    format: str = "auto",
    log_format: Optional[str] = None,
    apache_format: Optional[str] = None,
    reverse_dns: bool = True,
    nameservers: Union[None, str, Sequence[str]] = None,
    dnsbl: Union[str, Sequence[str]] = (),
    geoip: Union[None, bool, _Path, Sequence[_Path]] = None,
    cymru: bool = False,
    attacks: bool = True,
    cache_db: Optional[_Path] = None,
    config: Optional[_Path] = None,
    timeout: Optional[float] = None,
) -> Iterator[dict[str, Any]]: ...
def report(
    source: Union[pd.DataFrame, _Path], output: _Path, png: Optional[_Path] = None
) -> None: ...
