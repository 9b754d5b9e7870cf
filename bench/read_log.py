#!/usr/bin/env python3
"""Times logenrich.read_log() of a file with lookups off, for the benchmark (bench/src/python.rs).

Prints one JSON object: {"lines": rows, "seconds": s, "columns": n}; the time is read_log's
alone (not the interpreter's start or the import).

Usage: read_log.py LOG   (with the package installed: pip install ./python)
"""

import json
import sys
import time

import logenrich

start = time.perf_counter()
df = logenrich.read_log(sys.argv[1], reverse_dns=False, geoip=False, progress=False)
seconds = time.perf_counter() - start
print(json.dumps({"lines": len(df), "seconds": seconds, "columns": len(df.columns)}))
