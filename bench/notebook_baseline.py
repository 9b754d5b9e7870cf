#!/usr/bin/env python3
"""The "notebook way" of enriching an access log, as a baseline for logenrich's benchmarks.

Does what a pandas user typically does in a notebook: read the whole file into memory, run a
regex `findall` on every line into a DataFrame with the fields of the honeypot nginx format,
then tag scanners with a row-wise `apply` on User-Agent keywords and reverse-DNS keywords.
With `--resolve`, the unique client addresses are reverse-resolved first with dnspython from a
`ThreadPoolExecutor(10)`, against the given name server (a local test server in benchmarks).

Prints one JSON object:
    {"lines": N, "parse_tag_seconds": s, "lines_per_sec": r,
     "lookups": k, "lookup_seconds": t, "lookups_per_sec": q, "parsed": p, "tagged": g}
`lines` counts every line read; `parsed` the lines the regex matched; `tagged` the rows that got
a `DNS`, `UA` or `DNS,UA` label. Parse and tag time excludes the lookups.

Usage: notebook_baseline.py LOG [--resolve --nameserver 127.0.0.1 --port 5353]
Requires: pip install -r bench/requirements.txt (pandas, dnspython).
"""

import argparse
import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

COLUMNS = ["IP", "User", "Time", "Request", "Status", "Body Bytes", "Referer", "User-Agent",
           "Forwarded", "Dest-Port", "Host"]

# One quoted nginx field: anything but an unescaped quote.
_Q = r'"((?:[^"\\]|\\.)*)"'
# $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
# "$http_referer" "$http_user_agent" "$http_x_forwarded_for" $server_port $host
# (port and host are missing on older lines).
LOG_RE = re.compile(
    r'^(\S+) - (\S+) \[([^\]]+)\] ' + _Q + r' (\d{3}) (\d+|-) ' + _Q + ' ' + _Q + ' ' + _Q
    + r'(?: (\d+))?(?: (\S*))?\s*$'
)

# Scanner keywords (the course's lists).
UA_KEYWORDS = [
    "project_patchwatch", "scaninfo@expanseinc.com", "project-resonance.com", "gdnplus.com",
    "censys.io", "netsystemsresearch.com", "Nmap Scripting Engine", "internet-measurement.com",
    "InternetMeasurement", "tchelebi.io", "paloaltonetworks.com", "security.ipip.net",
]
DNS_KEYWORDS = [
    "shodan.io", "research-scanner.com", "censys-scanner.com", "shadowserver.org",
    "the-shadow-server-foundation", "internet-measurement.com", "internet-census.org",
    "netsystemsresearch.com", "leakix.org", "stretchoid.com", "recyber.net", "planetlab",
    "criminalip.com", "quadmetrics.com", "scanopticon.com", "onyphe.net", "crd.bi.zone",
    "michael-kipp.com", "mapletoast.com", "maaketing.nl", "intenettl.org", "iostation.io",
    "intrinsec.com", "security.ipip.net", "rnd.group-ib.com", "threatsinkhole.com",
    "binaryedge.ninja",
]


def read_logs(path):
    """Reads the whole file and parses every line with a regex into a DataFrame."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    rows = []
    for line in lines:
        found = LOG_RE.findall(line)
        if found:
            rows.append(found[0])
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["Time"] = pd.to_datetime(df["Time"], format="%d/%b/%Y:%H:%M:%S %z", utc=True)
    df["Status"] = df["Status"].astype(int)
    df["Body Bytes"] = pd.to_numeric(df["Body Bytes"].replace("-", "0"))
    df["Dest-Port"] = pd.to_numeric(df["Dest-Port"].replace("", "-1"))
    return len(lines), df


def tag_row(row):
    """`DNS`, `UA`, `DNS,UA` or an empty string, like the course's notebook."""
    tags = []
    name = row["DNS"]
    if isinstance(name, str) and any(k in name.lower() for k in DNS_KEYWORDS):
        tags.append("DNS")
    if any(k in row["User-Agent"] for k in UA_KEYWORDS):
        tags.append("UA")
    return ",".join(tags)


def make_resolver(nameserver, port, timeout):
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [nameserver]
    resolver.port = port
    resolver.timeout = timeout
    resolver.lifetime = timeout * 2
    return resolver


def reverse_lookup(resolver, ip):
    """The PTR name of `ip`, or None."""
    import dns.exception
    import dns.reversename

    try:
        answer = resolver.resolve(dns.reversename.from_address(ip), "PTR")
        return str(answer[0]).rstrip(".")
    except (dns.exception.DNSException, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("log", help="access log in the honeypot (or combined) format")
    ap.add_argument("--resolve", action="store_true", help="reverse-resolve the unique IPs")
    ap.add_argument("--nameserver", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--timeout", type=float, default=2.0, help="seconds per DNS try")
    ap.add_argument("--threads", type=int, default=10)
    args = ap.parse_args()

    t0 = time.perf_counter()
    n_lines, df = read_logs(args.log)
    parse_seconds = time.perf_counter() - t0

    names = {}
    lookup_seconds = 0.0
    if args.resolve:
        resolver = make_resolver(args.nameserver, args.port, args.timeout)
        ips = list(df["IP"].unique())
        t1 = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            names = dict(zip(ips, pool.map(lambda ip: reverse_lookup(resolver, ip), ips)))
        lookup_seconds = time.perf_counter() - t1

    t2 = time.perf_counter()
    df["DNS"] = df["IP"].map(names) if names else None
    df["Tag"] = df.apply(tag_row, axis=1)
    tag_seconds = time.perf_counter() - t2

    parse_tag_seconds = parse_seconds + tag_seconds
    result = {
        "lines": n_lines,
        "parse_tag_seconds": round(parse_tag_seconds, 3),
        "lines_per_sec": round(n_lines / parse_tag_seconds) if parse_tag_seconds else 0,
        "lookups": len(names),
        "lookup_seconds": round(lookup_seconds, 3),
        "lookups_per_sec": round(len(names) / lookup_seconds, 1) if lookup_seconds else 0,
        "parsed": len(df),
        "tagged": int((df["Tag"] != "").sum()),
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
