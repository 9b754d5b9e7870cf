"""Columns from the native module into a DataFrame, and a DataFrame's rows back into
records (for the report).

The native module hands each column over in Arrow's buffer layout (offsets and bytes,
values and a validity bitmap); pyarrow wraps the buffers without copying and
``Table.to_pandas`` converts them: strings to pandas' Arrow-backed ``string`` dtype, integers
to nullable ``Int64``, booleans to nullable ``boolean``, ``time`` to ``datetime64[ns, UTC]``,
floats to ``float64`` (NaN for none), lists to Arrow-backed lists of strings.
"""

from __future__ import annotations

import math
from typing import Any, Iterator

import pandas as pd
import pyarrow as pa

_STRING = pa.large_string()
_LIST = pa.large_list(pa.large_string())


def _buffer(data):
    return None if data is None else pa.py_buffer(data)


def _strings(rows, valid, nulls, offsets, data):
    return pa.Array.from_buffers(
        _STRING, rows, [_buffer(valid), pa.py_buffer(offsets), pa.py_buffer(data)],
        null_count=nulls,
    )


def _array(column) -> "tuple[str, pa.Array]":
    name, kind, rows, valid, nulls, *buffers = column
    if kind == "null":
        return name, pa.nulls(rows, _STRING)
    if kind == "str":
        return name, _strings(rows, valid, nulls, *buffers)
    if kind == "list":
        offsets, item_valid, item_nulls, item_offsets, item_data = buffers
        items = _strings(len(item_offsets) // 8 - 1, item_valid, item_nulls, item_offsets, item_data)
        return name, pa.Array.from_buffers(
            _LIST, rows, [_buffer(valid), pa.py_buffer(offsets)], null_count=nulls,
            children=[items],
        )
    types = {
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "time": pa.timestamp("ns", tz="UTC"),
    }
    return name, pa.Array.from_buffers(
        types[kind], rows, [_buffer(valid), pa.py_buffer(buffers[0])], null_count=nulls
    )


def _dtype(arrow_type: pa.DataType):
    if arrow_type == _STRING:
        return pd.StringDtype("pyarrow")
    if arrow_type == pa.int64():
        return pd.Int64Dtype()
    if arrow_type == pa.bool_():
        return pd.BooleanDtype()
    if arrow_type == _LIST:
        return pd.ArrowDtype(_LIST)
    return None  # float64 and timestamps: numpy's


def frame(columns) -> pd.DataFrame:
    """The DataFrame of the native module's columns, in their order."""
    arrays = [_array(c) for c in columns]
    table = pa.table({name: array for name, array in arrays})
    return table.to_pandas(types_mapper=_dtype)


def _value(v: Any) -> Any:
    """A cell as JSON: None for a missing one, lists as lists, numbers as Python's."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    if hasattr(v, "tolist"):
        return v.tolist()
    if hasattr(v, "item"):
        return v.item()
    return v


def _object(row: dict, prefix: str, keys) -> Any:
    values = {k: _value(row.get(f"{prefix}_{k}")) for k in keys}
    return None if all(v is None for v in values.values()) else values


_DNS = ("name", "status", "error")
_GEO = ("country_code", "country", "subdivision", "city", "lat", "lon", "accuracy_radius",
        "time_zone", "asn", "as_org")


def records(df: pd.DataFrame) -> Iterator[dict]:
    """The rows of a :func:`logenrich.read_log` DataFrame as records of the command's
    shape, with the fields the report reads (nested objects rebuilt from their columns).
    """
    columns = list(df.columns)
    for values in df.itertuples(index=False, name=None):
        row = dict(zip(columns, values))
        record = {}
        for key in ("file", "line", "ip", "time", "method", "target", "protocol", "request",
                    "status", "user_agent", "log_type", "level", "message"):
            if key in row:
                record[key] = _value(row[key])
        record["dns"] = _object(row, "dns", _DNS)
        record["geo"] = _object(row, "geo", _GEO)
        zones = _value(row.get("dnsbl")) or []
        meanings = _value(row.get("dnsbl_meanings")) or []
        verdicts = [
            {"zone": z, "listed": True, "answers": [],
             "meanings": (m.split("; ") if m else []), "reason": None, "error": None}
            for z, m in zip(zones, meanings + [None] * (len(zones) - len(meanings)))
        ]
        for e in _value(row.get("dnsbl_errors")) or []:
            zone, _, error = e.partition(": ")
            verdicts.append({"zone": zone, "listed": False, "answers": [], "meanings": [],
                             "reason": None, "error": error})
        record["dnsbl"] = verdicts
        if _value(row.get("scanner")):
            record["scanner"] = {
                "sources": _value(row.get("scanner_sources")) or [],
                "matched": _value(row.get("scanner_matched")) or [],
            }
        else:
            record["scanner"] = None
        rules = _value(row.get("attack_rules")) or []
        fields = _value(row.get("attack_fields")) or []
        matches = _value(row.get("attack_matches")) or []
        record["attacks"] = [
            {"rule": r, "field": f, "match": m} for r, f, m in zip(rules, fields, matches)
        ]
        error = _value(row.get("error"))
        if error is not None:
            record["error"] = {"column": _value(row.get("error_column")), "reason": error}
            record["raw"] = _value(row.get("raw"))
        yield record
