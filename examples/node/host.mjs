/**
 * host.mjs — a Node.js host for the logenrich component (logenrich:filter@0.3.1).
 *
 * Library: `loadComponent` transpiles the component with jco (or reuses an earlier
 * transpilation), `Lookups` implements the `dns`, `dnsbl` and `geoip` imports, `Host`
 * runs batches through an instance (two passes when lookups are missing, see README.md)
 * and replaces the instance after a trap, and `run` streams a file through it.
 *
 * CLI: node host.mjs [--nameserver IP:PORT] [--no-dns] [--no-geoip] [--dnsbl ZONE]...
 *                    [--format F] [--batch-size N] [--timeout S] [--attempts N] FILE|-
 * writes one JSON record per input line to stdout.
 */
import { createHash } from 'node:crypto';
import { promises as dns } from 'node:dns';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_COMPONENT = join(HERE, '../../target/guest-wasm/logenrich-filter.wasm');
export const DEFAULT_OUT_DIR = join(HERE, 'transpiled');
const NAME = 'logenrich';

// ---------------------------------------------------------------------------------------
// Loading the component

/**
 * Transpiles the component at `wasmPath` into `outDir` unless the files there already
 * come from the same bytes, then imports it. Returns `instantiate(imports)`, which makes
 * a new instance (core modules are compiled once and shared).
 */
export async function loadComponent(wasmPath = DEFAULT_COMPONENT, outDir = DEFAULT_OUT_DIR) {
  const bytes = await readFile(wasmPath);
  const hash = createHash('sha256').update(bytes).digest('hex');
  const stamp = join(outDir, 'SOURCE_SHA256');
  const current = await readFile(stamp, 'utf8').catch(() => '');
  if (current !== hash) {
    const { transpile } = await import('@bytecodealliance/jco');
    const { files } = await transpile(bytes, { name: NAME, instantiation: 'async', quiet: true });
    for (const [name, data] of Object.entries(files)) {
      await mkdir(dirname(join(outDir, name)), { recursive: true });
      await writeFile(join(outDir, name), data);
    }
    await writeFile(stamp, hash);
  }
  // The query string keeps two transpilations in one process apart in the ESM cache.
  const url = pathToFileURL(join(outDir, `${NAME}.js`));
  url.search = `v=${hash.slice(0, 16)}`;
  const mod = await import(url.href);
  const compiled = new Map();
  const getCoreModule = (file) => {
    if (!compiled.has(file)) compiled.set(file, readFile(join(outDir, file)).then((b) => WebAssembly.compile(b)));
    return compiled.get(file);
  };
  return async (imports) => {
    // The .d.ts names imports with their version, the generated JS without: give both.
    const object = {};
    for (const [iface, impl] of Object.entries(imports)) {
      object[`logenrich:filter/${iface}`] = impl;
      object[`logenrich:filter/${iface}@0.3.1`] = impl;
    }
    const root = await mod.instantiate(getCoreModule, object);
    return root.filter;
  };
}

// ---------------------------------------------------------------------------------------
// Addresses and DNS names

/** `{tag, val}` → text; IPv6 in RFC 5952 form; IPv4-mapped IPv6 as IPv4 (as the Rust host). */
export function formatIp(ip) {
  if (ip.tag === 'ipv4') return ip.val.join('.');
  const g = ip.val;
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return [g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff].join('.');
  }
  // The longest run (first if tied) of at least two zero groups becomes "::".
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j === i ? i + 1 : j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** The reversed name of an address under `suffix`: RFC 5782 §2 for DNSBL, PTR names too. */
export function reversedName(text, suffix) {
  if (!text.includes(':')) return `${text.split('.').reverse().join('.')}.${suffix}`;
  const [head, tail = ''] = text.split('::');
  const part = (s) => (s ? s.split(':') : []);
  const groups = [...part(head), ...Array(8 - part(head).length - part(tail).length).fill('0'), ...part(tail)];
  const nibbles = groups.map((x) => x.padStart(4, '0')).join('');
  return `${[...nibbles].reverse().join('.')}.${suffix}`;
}

export const ptrName = (text) => reversedName(text, text.includes(':') ? 'ip6.arpa' : 'in-addr.arpa');

// ---------------------------------------------------------------------------------------
// The imports

const NEGATIVE = new Set(['ENOTFOUND', 'ENODATA']);

/** A resolver error → the WIT `lookup-error`. */
function lookupError(err) {
  switch (err.code) {
    case 'ETIMEOUT': return { tag: 'timeout' };
    case 'ESERVFAIL': return { tag: 'server-failure' };
    case 'EREFUSED': return { tag: 'refused' };
    default: return { tag: 'other', val: err.message };
  }
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited(items, limit, fn) {
  let next = 0;
  const worker = async () => { while (next < items.length) await fn(items[next++]); };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The three imports, answered synchronously from caches, and the asynchronous resolution
 * of what the last `process` call found missing. Positive and negative answers are kept
 * for the run (no TTL, oldest dropped past `cacheSize`); failures only for the batch.
 */
export class Lookups {
  constructor({ nameserver, zones = [], timeout = 2, attempts = 2, concurrency = 256, cacheSize = 100_000 } = {}) {
    this.resolver = new dns.Resolver({ timeout: Math.round(timeout * 1000), tries: attempts });
    if (nameserver) this.resolver.setServers([nameserver]);
    this.zones = new Set(zones.map(normalizeZone));
    this.concurrency = concurrency;
    this.cacheSize = cacheSize;
    this.ptr = new Map(); // ip text → ptr-result
    this.dnsbl = new Map(); // `zone ip` → dnsbl-result
    this.beginBatch();
  }

  /** Forgets the previous batch's failures and misses. */
  beginBatch() {
    this.batchPtr = new Map();
    this.batchDnsbl = new Map();
    this.missingPtr = new Set();
    this.missingDnsbl = new Map(); // key → [zone, ip text]
  }

  get hasMisses() { return this.missingPtr.size + this.missingDnsbl.size > 0; }

  /** The import object for `loadComponent`'s `instantiate`. */
  imports() {
    const pending = { tag: 'failed', val: { tag: 'other', val: 'not resolved yet' } };
    return {
      types: {},
      dns: {
        reverse: (ips) => ips.map((ip) => {
          const key = formatIp(ip);
          const hit = this.ptr.get(key) ?? this.batchPtr.get(key);
          if (hit) return hit;
          this.missingPtr.add(key);
          return pending;
        }),
      },
      dnsbl: {
        lookup: (zone, ips) => {
          const z = normalizeZone(zone);
          if (!this.zones.has(z)) return ips.map(() => ({ tag: 'failed', val: { tag: 'other', val: `zone not configured: ${zone}` } }));
          return ips.map((ip) => {
            const text = formatIp(ip);
            const key = `${z} ${text}`;
            const hit = this.dnsbl.get(key) ?? this.batchDnsbl.get(key);
            if (hit) return hit;
            this.missingDnsbl.set(key, [z, text]);
            return pending;
          });
        },
      },
      geoip: { lookup: (ips) => ips.map(() => undefined) },
      // Contract 0.3: Team Cymru lookups are not offered by this example (the component
      // asks only when its `cymru` setting is on).
      cymru: {
        origin: (ips) => ips.map(() => ({ tag: 'failed', val: { tag: 'other', val: 'Team Cymru lookup is not offered by host.mjs' } })),
        asName: (asns) => asns.map(() => ({ tag: 'failed', val: { tag: 'other', val: 'Team Cymru lookup is not offered by host.mjs' } })),
      },
    };
  }

  /** Resolves the misses recorded since `beginBatch`, concurrently. */
  async resolveMisses() {
    const ptrs = [...this.missingPtr];
    const lists = [...this.missingDnsbl];
    this.missingPtr.clear();
    this.missingDnsbl.clear();
    await Promise.all([
      eachLimited(ptrs, this.concurrency, async (ip) => {
        const result = await this.#reverse(ip);
        this.#store(result.tag === 'failed' ? this.batchPtr : this.ptr, ip, result);
      }),
      eachLimited(lists, this.concurrency, async ([key, [zone, ip]]) => {
        const result = await this.#dnsbl(zone, ip);
        this.#store(result.tag === 'failed' ? this.batchDnsbl : this.dnsbl, key, result);
      }),
    ]);
  }

  #store(map, key, value) {
    map.set(key, value);
    if (map.size > this.cacheSize) map.delete(map.keys().next().value);
  }

  // PTR by name (not Resolver#reverse, which also reads /etc/hosts; the Rust host never does).
  async #reverse(ip) {
    try {
      const names = await this.resolver.resolvePtr(`${ptrName(ip)}.`);
      return names.length ? { tag: 'found', val: names[0].replace(/\.$/, '') } : { tag: 'not-found' };
    } catch (err) {
      return NEGATIVE.has(err.code) ? { tag: 'not-found' } : { tag: 'failed', val: lookupError(err) };
    }
  }

  async #dnsbl(zone, ip) {
    const name = `${reversedName(ip, zone)}.`;
    let answers;
    try {
      answers = await this.resolver.resolve4(name);
    } catch (err) {
      return NEGATIVE.has(err.code) ? { tag: 'not-listed' } : { tag: 'failed', val: lookupError(err) };
    }
    if (!answers.length) return { tag: 'not-listed' };
    const txt = await this.resolver.resolveTxt(name).catch(() => []);
    return {
      tag: 'listed',
      val: {
        answers: answers.map((a) => a.split('.').map(Number)),
        reason: txt.length ? txt.map((chunks) => chunks.join('')).join('; ') : undefined,
      },
    };
  }
}

function normalizeZone(zone) { return zone.replace(/^\.+|\.+$/g, '').toLowerCase(); }

// ---------------------------------------------------------------------------------------
// Running batches

/**
 * An instance plus its lookups. `process(batch)` calls the component once; if the imports
 * reported lookups missing, resolves them and calls it again on the same batch.
 */
export class Host {
  static async create({ component, outDir, settings = [], lookups = new Lookups() } = {}) {
    const host = new Host(await loadComponent(component, outDir), settings, lookups);
    await host.instance(); // fail early on a bad configuration
    return host;
  }

  constructor(instantiate, settings, lookups) {
    Object.assign(this, { instantiate, settings, lookups, current: null, instances: 0, passes: 0 });
  }

  /** The configured instance, made anew when there is none. */
  async instance() {
    if (!this.current) {
      const filter = await this.instantiate(this.lookups.imports());
      try {
        filter.configure(this.settings);
      } catch (err) {
        const e = err.payload ?? {};
        throw new Error(`configuration rejected: ${e.field}: ${e.reason ?? err.message}`);
      }
      this.instances++;
      this.current = filter;
    }
    return this.current;
  }

  /** The JSON Lines (Uint8Array) of `batch`; failure records if the instance traps. */
  async process(batch) {
    this.lookups.beginBatch();
    for (let pass = 1; ; pass++) {
      const filter = await this.instance();
      this.passes++;
      let result;
      try {
        result = filter.process(batch);
      } catch (err) {
        this.current = null; // a trap or a thrown import: discard the instance
        return failureRecords(batch, `component trapped: ${err.message}`);
      }
      if (!this.lookups.hasMisses || pass === 2) return result.jsonl;
      await this.lookups.resolveMisses();
    }
  }
}

/** `{"file"?,"line","error":{"column":null,"reason"},"raw","invalid_utf8"?}` per line. */
export function failureRecords(batch, reason) {
  const strict = new TextDecoder('utf-8', { fatal: true });
  const lossy = new TextDecoder();
  let out = '';
  let start = 0;
  batch.ends.forEach((end, i) => {
    const bytes = batch.data.subarray(start, end);
    start = end;
    let raw, invalid = false;
    try { raw = strict.decode(bytes); } catch { raw = lossy.decode(bytes); invalid = true; }
    const record = { ...(batch.source !== undefined && { file: batch.source }), line: Number(batch.firstLine) + i, error: { column: null, reason }, raw };
    if (invalid) record.invalid_utf8 = true;
    out += `${JSON.stringify(record)}\n`;
  });
  return new TextEncoder().encode(out);
}

/**
 * Cuts a byte stream into batches of `size` lines: `data` holds the lines back to back
 * without their `\n` (a `\r` stays), `ends` the end offset of each.
 */
export async function* readBatches(stream, size = 2048, source = undefined) {
  let parts = [], len = 0, ends = [], firstLine = 1n;
  const emit = () => {
    const batch = { firstLine, source, data: Buffer.concat(parts, len), ends: Uint32Array.from(ends) };
    firstLine += BigInt(ends.length);
    parts = []; len = 0; ends = [];
    return batch;
  };
  for await (const chunk of stream) {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      parts.push(chunk.subarray(start, nl));
      len += nl - start;
      ends.push(len);
      start = nl + 1;
      if (ends.length === size) yield emit();
    }
    if (start < chunk.length) { parts.push(chunk.subarray(start)); len += chunk.length - start; }
  }
  if (len > (ends.at(-1) ?? 0)) ends.push(len); // a last line without newline
  if (ends.length) yield emit();
}

/** Enriches `input` (path or `-`) onto the writable `output`; returns counts. */
export async function run({ input, output = process.stdout, batchSize = 2048, ...hostOptions }) {
  const host = hostOptions.host ?? (await Host.create(hostOptions));
  const stream = input === '-' ? process.stdin : createReadStream(input, { highWaterMark: 1 << 20 });
  let lines = 0;
  for await (const batch of readBatches(stream, batchSize)) {
    lines += batch.ends.length;
    if (!output.write(await host.process(batch))) await once(output, 'drain');
  }
  return { lines, passes: host.passes, instances: host.instances };
}

// ---------------------------------------------------------------------------------------
// CLI

/** Parses the CLI arguments into `run` options. */
export function parseArgs(argv) {
  const opts = { reverseDns: true, geoip: true, zones: [], batchSize: 2048 };
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--nameserver') opts.nameserver = value();
    else if (a === '--no-dns') opts.reverseDns = false;
    else if (a === '--no-geoip') opts.geoip = false;
    else if (a === '--dnsbl') opts.zones.push(value());
    else if (a === '--format') opts.format = value();
    else if (a === '--batch-size') opts.batchSize = positive(a, value());
    else if (a === '--timeout') opts.timeout = Number(value());
    else if (a === '--attempts') opts.attempts = positive(a, value());
    else if (a === '--component') opts.component = value();
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else files.push(a);
  }
  if (files.length !== 1) throw new Error('expected exactly one FILE (or - for stdin)');
  opts.input = files[0];
  return opts;
}

function positive(flag, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer`);
  return n;
}

/** The `configure` settings of parsed options. */
export function settingsOf(opts) {
  const settings = [
    { name: 'reverse-dns', value: { tag: 'flag', val: opts.reverseDns } },
    { name: 'geoip', value: { tag: 'flag', val: opts.geoip } },
    { name: 'dnsbl-zones', value: { tag: 'texts', val: opts.zones } },
  ];
  if (opts.format) settings.push({ name: 'format', value: { tag: 'text', val: opts.format } });
  return settings;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`host.mjs: ${err.message}\nusage: node host.mjs [--nameserver IP:PORT] [--no-dns] [--no-geoip] [--dnsbl ZONE]... [--format F] [--batch-size N] [--timeout S] [--attempts N] [--component WASM] FILE|-\n`);
    process.exit(2);
  }
  process.stdout.on('error', (err) => process.exit(err.code === 'EPIPE' ? 0 : 1)); // e.g. `| head`
  const { nameserver, zones, timeout, attempts } = opts;
  const lookups = new Lookups({ nameserver, zones, timeout, attempts });
  await run({ ...opts, lookups, settings: settingsOf(opts) });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    process.stderr.write(`host.mjs: ${err.message}\n`);
    process.exit(1);
  });
}
