"""logenrich in Python: enrich web-server access logs into a pandas DataFrame.

``read_log()`` reads a log (a path, ``.gz`` too, or an iterable of lines) into one row per
line with typed columns; ``enrich()`` streams the records as the ``logenrich`` command
writes them; ``report()`` writes the command's HTML report. The work is done by the same
WebAssembly component and lookups as the command, in native code, without the
interpreter's lock. See python/README.md for the columns.
"""

from __future__ import annotations

import errno
import json
import os
import threading
import warnings
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

from . import _frame
from ._native import Run, report as _report

__all__ = ["read_log", "enrich", "report"]

PathLike = Union[str, "os.PathLike[str]"]
Lines = Union[PathLike, Iterable[Union[str, bytes]]]

# Files larger than this get a progress bar when `progress` is None and tqdm is there.
_PROGRESS_BYTES = 16 << 20


def _many(value: Union[None, str, Iterable[str]]) -> list:
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    return [os.fspath(v) for v in value]


def _flags(
    format: str = "auto",
    log_format: Optional[str] = None,
    apache_format: Optional[str] = None,
    reverse_dns: bool = True,
    nameservers: Union[None, str, Sequence[str]] = None,
    dnsbl: Union[str, Sequence[str]] = (),
    geoip: Union[None, bool, PathLike, Sequence[PathLike]] = None,
    cymru: bool = False,
    attacks: bool = True,
    cache_db: Optional[PathLike] = None,
    config: Optional[PathLike] = None,
    timeout: Optional[float] = None,
) -> list:
    """The command's flags for these options."""
    flags = []
    if format != "auto" or (log_format is None and apache_format is None):
        flags += ["--format", str(format)]
    if log_format is not None:
        flags += ["--log-format", log_format]
    if apache_format is not None:
        flags += ["--apache-format", apache_format]
    if not reverse_dns:
        flags.append("--no-dns")
    for ns in _many(nameservers):
        flags += ["--nameserver", ns]
    for zone in _many(dnsbl):
        flags += ["--dnsbl", zone]
    if geoip is False:
        flags.append("--no-geoip")
    elif geoip is not None and geoip is not True:
        for db in _many(geoip):
            flags += ["--geoip-db", db]
    if cymru:
        flags.append("--cymru")
    if not attacks:
        flags += ["--setting", "attacks=false"]
    if cache_db is not None:
        flags += ["--cache-db", os.fspath(cache_db)]
    if config is not None:
        flags += ["--config", os.fspath(config)]
    if timeout is not None:
        flags += ["--timeout", str(timeout)]
    return flags


# The feeder writes what it has to the pipe at least this often (seconds), so that a
# generator that waits between lines still has its lines enriched meanwhile, and in
# writes of about this many bytes when lines come fast.
_LINGER = 0.02
_CHUNK = 1 << 16


class _Feeder:
    """Feeds an iterable's lines to the pipe the run reads: one thread takes the lines
    (the iterable may wait), another writes them out (the pipe may be full)."""

    def __init__(self, lines: Iterable[Any], fd: int) -> None:
        self.lines = lines
        self.fd = fd
        self.pending: list = []
        self.size = 0
        self.done = False
        self.stopping = threading.Event()
        self.error: Optional[BaseException] = None
        self.cond = threading.Condition()
        self.threads = [
            threading.Thread(target=self._take, name="logenrich-lines", daemon=True),
            threading.Thread(target=self._write, name="logenrich-pipe", daemon=True),
        ]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        for t in self.threads:
            t.join()

    def stop(self) -> None:
        self.stopping.set()
        with self.cond:
            self.cond.notify_all()

    def _take(self) -> None:
        try:
            for n, line in enumerate(self.lines):
                if self.stopping.is_set():
                    break
                if isinstance(line, str):
                    data = line.encode("utf-8", "surrogateescape")
                elif isinstance(line, (bytes, bytearray, memoryview)):
                    data = bytes(line)
                else:
                    raise TypeError(
                        f"lines must be str or bytes, not {type(line).__name__} (item {n})"
                    )
                if not data.endswith(b"\n"):
                    data += b"\n"
                with self.cond:
                    self.pending.append(data)
                    self.size += len(data)
                    if self.size >= _CHUNK:
                        self.cond.notify_all()
                    while self.size >= 16 * _CHUNK and not self.stopping.is_set():
                        self.cond.wait()
        except BaseException as e:  # handed to the caller's thread
            self.error = e
        finally:
            with self.cond:
                self.done = True
                self.cond.notify_all()

    def _write(self) -> None:
        try:
            while True:
                with self.cond:
                    if not self.done and self.size < _CHUNK and not self.stopping.is_set():
                        self.cond.wait(_LINGER)
                    data, self.pending, self.size = b"".join(self.pending), [], 0
                    finished = self.done or self.stopping.is_set()
                    self.cond.notify_all()
                view = memoryview(data)
                while view and not self.stopping.is_set():
                    view = view[os.write(self.fd, view):]
                if finished:
                    break
        except OSError:  # the run stopped reading (EPIPE)
            pass
        finally:
            os.close(self.fd)
            self.stop()  # nothing takes lines any more


def _start(path_or_lines: Lines, options: dict) -> "tuple[Run, Optional[_Feeder]]":
    flags = _flags(**options)
    if isinstance(path_or_lines, (str, os.PathLike)):
        path = os.fspath(path_or_lines)
        if not os.path.exists(path):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        return Run(flags, [path]), None
    if isinstance(path_or_lines, (bytes, bytearray)):
        raise TypeError("pass a path, or an iterable of lines (str or bytes), not bytes")
    read, write = os.pipe()
    try:
        run = Run(flags, [], read)
    except BaseException:
        os.close(write)
        raise
    finally:
        os.close(read)  # the run opened its own
    feeder = _Feeder(path_or_lines, write)
    feeder.start()
    return run, feeder


def _end(run: Run, feeder: Optional[_Feeder]) -> dict:
    """Waits for the run and the feeder; the run's summary (warnings for what it lost)."""
    summary = run.finish()
    if feeder is not None:
        feeder.join()
        if feeder.error is not None:
            raise feeder.error
    for e in summary["input_errors"]:
        warnings.warn(f"logenrich: {e}", RuntimeWarning, stacklevel=3)
    if summary["failed_batches"]:
        warnings.warn(
            f"logenrich: the component failed {summary['failed_batches']} batch(es); their "
            f"lines are error rows (first: {summary['first_failure']})",
            RuntimeWarning,
            stacklevel=3,
        )
    return summary


def _close(run: Run, feeder: Optional[_Feeder]) -> None:
    if feeder is not None:
        feeder.stop()
    run.close()


def _progress(progress: Optional[bool], path_or_lines: Lines):
    if progress is False:
        return None
    if progress is None:
        if not isinstance(path_or_lines, (str, os.PathLike)):
            return None
        if os.path.getsize(path_or_lines) < _PROGRESS_BYTES:
            return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress:
            raise
        return None
    return tqdm(unit=" lines", unit_scale=True, desc="logenrich")


def read_log(
    path_or_lines: Lines,
    *,
    format: str = "auto",
    log_format: Optional[str] = None,
    apache_format: Optional[str] = None,
    reverse_dns: bool = True,
    nameservers: Union[None, str, Sequence[str]] = None,
    dnsbl: Union[str, Sequence[str]] = (),
    geoip: Union[None, bool, PathLike, Sequence[PathLike]] = None,
    cymru: bool = False,
    attacks: bool = True,
    cache_db: Optional[PathLike] = None,
    config: Optional[PathLike] = None,
    timeout: Optional[float] = None,
    progress: Optional[bool] = None,
):
    """Reads and enriches a log into a DataFrame: one row per line, in order.

    ``path_or_lines`` is a path (plain or gzip) or an iterable of lines (``str`` or
    ``bytes``; a trailing newline is dropped). A line that does not parse is a row with
    ``error`` and ``raw``. Options are the command's: ``format`` (``auto``, ``honeypot``,
    ``combined``, ``common``) or a custom ``log_format`` (nginx) / ``apache_format``;
    ``reverse_dns`` and ``nameservers`` (``IP[:PORT]``; default the system's resolver);
    ``dnsbl`` zones; ``geoip`` (``None``: the default directories, ``False``: off, or
    database paths); ``cymru``; ``attacks`` (the attack tags); ``cache_db`` (a lookup cache
    file kept between runs); ``config`` (the command's TOML file); ``timeout`` (seconds
    per DNS query). ``progress``: a tqdm bar (``None``: for files over 16 MiB when tqdm is
    installed). Bad options raise ``ValueError`` with the command's message.

    The run's summary (lines, parsed, errors, unique_ips, seconds, ...) is in
    ``df.attrs["logenrich"]``.
    """
    options = dict(
        format=format, log_format=log_format, apache_format=apache_format,
        reverse_dns=reverse_dns, nameservers=nameservers, dnsbl=dnsbl, geoip=geoip,
        cymru=cymru, attacks=attacks, cache_db=cache_db, config=config, timeout=timeout,
    )
    run, feeder = _start(path_or_lines, options)
    bar = None
    try:
        bar = _progress(progress, path_or_lines)
        columns = run.columns(bar.update if bar is not None else None)
        summary = _end(run, feeder)
    finally:
        _close(run, feeder)
        if bar is not None:
            bar.close()
    df = _frame.frame(columns)
    df.attrs["logenrich"] = summary
    return df


def enrich(path_or_lines: Lines, **options: Any) -> Iterator[dict]:
    """Enriches a log as a stream: the records (dicts) as the ``logenrich`` command writes
    them, one per line, in order, each batch as soon as it is enriched. Takes the options
    of :func:`read_log` (but ``progress``); they are checked before this returns. Closing
    the iterator early stops the run.
    """
    run, feeder = _start(path_or_lines, options)
    return _records(run, feeder)


def _records(run: Run, feeder: Optional[_Feeder]) -> Iterator[dict]:
    try:
        while True:
            chunk = run.next_records()
            if chunk is None:
                break
            for line in chunk.splitlines():
                yield json.loads(line)
        _end(run, feeder)
    finally:
        _close(run, feeder)


def report(source, output: PathLike, png: Optional[PathLike] = None) -> None:
    """Writes the HTML report of the ``logenrich report`` command (and with ``png`` the map
    as a PNG image): of a DataFrame from :func:`read_log` (any subset of its rows), or of
    an enriched JSON Lines file (a path, plain or gzip).
    """
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        _report([path], os.fspath(output), None if png is None else os.fspath(png))
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="logenrich-") as tmp:
        path = os.path.join(tmp, "records.jsonl")
        with open(path, "w", encoding="utf-8") as out:
            for record in _frame.records(source):
                out.write(json.dumps(record, separators=(",", ":")))
                out.write("\n")
        _report([path], os.fspath(output), None if png is None else os.fspath(png))
