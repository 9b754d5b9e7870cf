"""enrich(): the command's records, streamed; report(): the HTML report and PNG map."""

import threading
import time

import logenrich
from conftest import SAMPLE


def test_enrich_yields_the_commands_records(lookups, cli_records):
    assert list(logenrich.enrich(SAMPLE, **lookups)) == cli_records


def test_enrich_streams_before_the_input_ends():
    """The first records come while the input is still open (the run cuts a partial
    batch when the input waits), and closing the iterator stops the run."""
    line = (
        '192.0.2.7 - - [15/Jul/2022:02:44:54 +0200] "GET /x HTTP/1.1" 404 0 "-" '
        '"Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)"'
    )
    more = threading.Event()

    def lines():
        for _ in range(5):
            yield line
        more.wait(60)
        for _ in range(100_000):
            yield line

    records = logenrich.enrich(lines(), reverse_dns=False, geoip=False)
    first = next(records)
    assert not more.is_set()
    assert first["line"] == 1 and first["ip"] == "192.0.2.7"
    assert first["scanner"]["sources"] == ["ua"]
    more.set()
    assert next(records)["line"] == 2
    started = time.monotonic()
    records.close()
    assert time.monotonic() - started < 60


def test_report_of_a_frame_and_of_a_file(lookups, tmp_path, cli, nameserver):
    df = logenrich.read_log(SAMPLE, **lookups)
    html = tmp_path / "report.html"
    png = tmp_path / "map.png"
    logenrich.report(df, html, png=png)
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") or page.lower().startswith("<!doctype html>")
    assert "h-" in page and "scan.example.test" in page  # the PTR domains panel
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # A subset of the rows makes a smaller report.
    scanners = tmp_path / "scanners.html"
    logenrich.report(df[df["scanner"].fillna(False)], scanners)
    assert 0 < scanners.stat().st_size
    # From enriched JSON Lines.
    jsonl = tmp_path / "enriched.jsonl"
    import subprocess

    with open(jsonl, "wb") as out:
        subprocess.run([str(cli), "-q", "--nameserver", nameserver, "--no-geoip", str(SAMPLE)],
                       check=True, stdout=out)
    from_file = tmp_path / "from_file.html"
    logenrich.report(jsonl, from_file)
    assert from_file.read_text(encoding="utf-8").count("scan.example.test") > 0
