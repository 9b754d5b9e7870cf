"""read_log(): the DataFrame against the command's records, its dtypes, error rows,
gzip and iterable inputs, bad arguments."""

import gzip
import shutil
import subprocess

import pandas as pd
import pytest

import logenrich
from conftest import SAMPLE


@pytest.fixture(scope="module")
def df(lookups):
    return logenrich.read_log(SAMPLE, **lookups)


def test_one_row_per_line_in_order(df, cli_records):
    assert len(df) == len(cli_records) == len(SAMPLE.read_bytes().splitlines())
    assert df["line"].tolist() == [r["line"] for r in cli_records]
    assert df.attrs["logenrich"]["lines"] == len(df)


def test_fields_equal_the_commands_records(df, cli_records):
    for row, rec in zip(df.to_dict("records"), cli_records):
        if "error" in rec:
            assert row["error"] == rec["error"]["reason"]
            assert row["raw"] == rec["raw"]
            assert pd.isna(row["ip"])
            continue
        assert pd.isna(row["error"])
        assert row["ip"] == rec["ip"]
        assert (None if pd.isna(row["status"]) else row["status"]) == rec.get("status")
        assert row["time"] == pd.Timestamp(rec["time"])
        assert row["dns_name"] == rec["dns"]["name"]
        assert row["dns_status"] == rec["dns"]["status"]
        assert bool(row["scanner"]) == (rec["scanner"] is not None)
        if rec["scanner"] is not None:
            assert list(row["scanner_sources"]) == rec["scanner"]["sources"]
            assert list(row["scanner_matched"]) == rec["scanner"]["matched"]
        assert list(row["dnsbl"]) == [v["zone"] for v in rec["dnsbl"] if v["listed"]]
        assert list(row["attack_rules"]) == [a["rule"] for a in rec["attacks"]]
        if "forwarded" in rec:
            assert list(row["forwarded"]) == rec["forwarded"]
        else:  # an error-log record
            assert rec["log_type"] == row["log_type"] == "error"
            assert row["message"] == rec["message"]


def test_the_lookups_answered(df):
    """Against the fixture every client has a PTR name and some are listed."""
    parsed = df[df["error"].isna()]
    assert parsed["dns_name"].str.endswith(".scan.example.test").all()
    listed = parsed["dnsbl"].map(len) > 0
    assert 0 < listed.sum() < len(parsed)
    assert (parsed.loc[listed, "dnsbl_meanings"].map(len) == 1).all()


def test_dtypes(df):
    assert str(df["time"].dtype) == "datetime64[ns, UTC]"
    assert df["status"].dtype == pd.Int64Dtype()
    assert df["bytes"].dtype == pd.Int64Dtype()
    assert df["line"].dtype == pd.Int64Dtype()
    assert df["ip"].dtype == pd.StringDtype("pyarrow")
    assert df["dns_name"].dtype == pd.StringDtype("pyarrow")
    assert df["scanner"].dtype == pd.BooleanDtype()
    for name in ("forwarded", "dnsbl", "scanner_sources", "attack_rules"):
        assert isinstance(df[name].dtype, pd.ArrowDtype), name
    # Pandas operations work on them as on any column.
    assert df["status"].max() >= 200
    assert df.groupby("ip").size().sum() == df["ip"].notna().sum()
    assert df["scanner_sources"].explode().value_counts().index.isin(["dns", "ua"]).all()


def test_error_rows_keep_the_line():
    good = '198.51.100.9 - - [15/Jul/2022:02:44:54 +0200] "GET / HTTP/1.1" 200 3 "-" "curl/8"'
    df = logenrich.read_log(["not a log line", good, "\xff\xfe"], reverse_dns=False, geoip=False)
    assert len(df) == 3
    assert df["raw"][0] == "not a log line"
    assert isinstance(df["error"][0], str) and df["error"][0]
    assert pd.isna(df["error"][1]) and df["ip"][1] == "198.51.100.9"
    assert df["status"][1] == 200 and pd.isna(df["status"][0])
    assert isinstance(df["error"][2], str)


def test_gzip_and_iterables_give_the_same_frame(df, lookups, tmp_path):
    gz = tmp_path / "sample.log.gz"
    with open(SAMPLE, "rb") as f, gzip.open(gz, "wb") as out:
        shutil.copyfileobj(f, out)
    pd.testing.assert_frame_equal(logenrich.read_log(gz, **lookups), df)
    with open(SAMPLE, encoding="utf-8", errors="surrogateescape") as lines:
        pd.testing.assert_frame_equal(logenrich.read_log(lines, **lookups), df)
    as_bytes = (line for line in SAMPLE.read_bytes().splitlines())
    pd.testing.assert_frame_equal(logenrich.read_log(as_bytes, **lookups), df)


def test_lookups_off_and_progress(lookups):
    df = logenrich.read_log(SAMPLE, reverse_dns=False, geoip=False, progress=True)
    assert df["dns_name"].isna().all() if "dns_name" in df else True
    assert len(df) == len(SAMPLE.read_bytes().splitlines())


def test_bad_arguments_raise_the_commands_message(cli):
    with pytest.raises(ValueError) as raised:
        logenrich.read_log(SAMPLE, dnsbl="not a zone!", reverse_dns=False)
    cli_run = subprocess.run(
        [str(cli), "--dnsbl", "not a zone!", "--no-dns", str(SAMPLE)],
        capture_output=True,
        text=True,
    )
    assert cli_run.returncode == 2
    assert str(raised.value) in cli_run.stderr
    with pytest.raises(ValueError, match="log-format"):
        logenrich.read_log(SAMPLE, format="combined", log_format="$remote_addr")
    with pytest.raises(FileNotFoundError):
        logenrich.read_log("/nonexistent/access.log")
    with pytest.raises(TypeError, match="item 1"):
        logenrich.read_log(["a line", 42], reverse_dns=False)


def test_the_interpreter_runs_while_a_log_is_read(tmp_path):
    """read_log releases the interpreter's lock: another thread keeps running Python
    meanwhile (with the lock held for the whole read it would stall)."""
    import threading

    big = tmp_path / "big.log"
    lines = SAMPLE.read_bytes().splitlines(keepends=True)
    with open(big, "wb") as out:
        for _ in range(300):
            out.writelines(lines)
    done = threading.Event()
    result = {}

    def read():
        result["df"] = logenrich.read_log(big, reverse_dns=False, geoip=False)
        done.set()

    reader = threading.Thread(target=read)
    reader.start()
    spins = 0
    while not done.is_set():
        spins += 1
    reader.join()
    assert len(result["df"]) == 300 * len(lines)
    assert spins > 10_000, spins
