"""Fixtures: the repository's `logenrich` binary (to compare with) and the loopback DNS
fixture server (`dns-fixture`: synthetic PTR names, a DNSBL zone `bl.test`), both built
with cargo when missing."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "honeypot.log"


def _binary(name: str, package: str, env: str) -> Path:
    if os.environ.get(env):
        return Path(os.environ[env])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    path = target / "debug" / name
    subprocess.run(
        ["cargo", "build", "-q", "-p", package, "--bin", name], cwd=ROOT, check=True
    )
    return path


@pytest.fixture(scope="session")
def cli() -> Path:
    return _binary("logenrich", "logenrich-cli", "LOGENRICH_BIN")


@pytest.fixture(scope="session")
def nameserver():
    """`127.0.0.1:PORT` of a running dns-fixture: every address has a PTR name
    (h-a-b-c-d.scan.example.test), a third of them are listed in `bl.test`."""
    binary = _binary("dns-fixture", "fixture", "DNS_FIXTURE_BIN")
    proc = subprocess.Popen(
        [str(binary), "--synthetic", "--listed-percent", "33"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on "), line
        yield line.split()[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="session")
def lookups(nameserver):
    """The lookups every comparison uses (no GeoIP: no database is committed)."""
    return dict(nameservers=nameserver, dnsbl="bl.test", geoip=False)


@pytest.fixture(scope="session")
def cli_records(cli, nameserver):
    """The command's records of the sample with the same lookups."""
    out = subprocess.run(
        [str(cli), "-q", "--nameserver", nameserver, "--dnsbl", "bl.test", "--no-geoip",
         str(SAMPLE)],
        check=True,
        capture_output=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines()]
