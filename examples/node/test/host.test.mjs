/**
 * host.test.mjs — checks the Node host: its output equals the Rust CLI's byte for byte
 * (lookups off; reverse DNS and DNSBL against a DNS server on loopback), an import that
 * throws costs one batch and not the run, and a throughput figure.
 *
 * The component: $LOGENRICH_COMPONENT, else the one the CLI embeds (`logenrich
 * --write-component`). The CLI: $LOGENRICH_BIN, else `cargo run -q --bin logenrich --` in
 * the repository root.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { startDnsServer } from '../dns-server.mjs';
import { Host, Lookups, formatIp, loadComponent, ptrName, readBatches, reversedName, run, settingsOf } from '../host.mjs';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const SAMPLE = join(REPO, 'samples/honeypot.log');
const COMPONENT = process.env.LOGENRICH_COMPONENT;

let work; // a temp dir: the component's copy, its transpilation, generated inputs
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'logenrich-node-'));
  if (COMPONENT) {
    await copyFile(COMPONENT, join(work, 'component.wasm'));
  } else {
    await cli(['--write-component', join(work, 'component.wasm')]);
  }
});
after(() => rm(work, { recursive: true, force: true }));

const hostOptions = (opts, lookups) => ({
  component: join(work, 'component.wasm'),
  outDir: join(work, 'transpiled'),
  settings: settingsOf({ reverseDns: true, geoip: true, zones: [], ...opts }),
  lookups: lookups ?? new Lookups({ zones: opts.zones ?? [] }),
});

/** Runs the Node host over `input`; returns its stdout bytes and counts. */
async function nodeHost(input, opts = {}, lookups) {
  const chunks = [];
  const output = new Writable({ write(chunk, _enc, done) { chunks.push(chunk); done(); } });
  const counts = await run({ input, output, ...hostOptions(opts, lookups) });
  return { bytes: Buffer.concat(chunks), ...counts };
}

/** Runs the Rust CLI in the repository root; fails the test with its stderr if it fails. */
function cli(args) {
  const [cmd, pre] = process.env.LOGENRICH_BIN
    ? [process.env.LOGENRICH_BIN, []]
    : ['cargo', ['run', '-q', '--bin', 'logenrich', '--']];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...pre, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [], err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    child.on('error', (e) => reject(new Error(`cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) return resolve(Buffer.concat(out));
      const tail = Buffer.concat(err).toString().trim().split('\n').slice(-15).join('\n');
      reject(new Error(`the Rust CLI failed (${cmd} ${[...pre, ...args].join(' ')}, exit ${code}); ` +
        `set LOGENRICH_BIN to a working binary or fix the build:\n${tail}`));
    });
  });
}

/** Fails with the first differing line instead of two 100 kB buffers. */
function assertSameBytes(actual, expected, what) {
  if (Buffer.compare(actual, expected) === 0) return;
  const a = actual.toString().split('\n'), e = expected.toString().split('\n');
  const i = a.findIndex((line, k) => line !== e[k]);
  assert.fail(`${what}: outputs differ (${actual.length} vs ${expected.length} bytes), first at line ${i + 1}:\n` +
    `node: ${a[i]}\nrust: ${e[i]}`);
}

function records(bytes) {
  return bytes.toString().trimEnd().split('\n').map((l) => JSON.parse(l));
}

describe('helpers', () => {
  test('addresses are formatted as RFC 5952 says, mapped IPv4 as IPv4', () => {
    const v6 = (...val) => formatIp({ tag: 'ipv6', val });
    assert.equal(formatIp({ tag: 'ipv4', val: [192, 0, 2, 1] }), '192.0.2.1');
    assert.equal(v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), '2001:db8::1');
    assert.equal(v6(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1), '2001:db8:0:1::1');
    assert.equal(v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1), '2001:db8::1:0:0:1');
    assert.equal(v6(0x2001, 0xdb8, 0, 1, 2, 3, 4, 5), '2001:db8:0:1:2:3:4:5');
    assert.equal(v6(0, 0, 0, 0, 0, 0, 0, 0), '::');
    assert.equal(v6(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0263), '192.0.2.99');
  });

  test('reversed names follow RFC 5782 §2', () => {
    assert.equal(reversedName('192.0.2.99', 'zone'), '99.2.0.192.zone');
    assert.equal(reversedName('2001:db8:1:2:3:4:567:89ab', 'ugly.example'),
      'b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example');
    assert.equal(ptrName('2001:db8::1'), `1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.ip6.arpa`);
  });

  test('batches keep \\r, number lines and take a last line without newline', async () => {
    const chunks = [Buffer.from('a\nb\r'), Buffer.from('\n\nc')];
    const got = [];
    for await (const b of readBatches(chunks, 2)) got.push([b.firstLine, b.data.toString(), [...b.ends]]);
    assert.deepEqual(got, [[1n, 'ab\r', [1, 3]], [3n, 'c', [0, 1]]]);
  });
});

describe('(a) lookups off: same bytes as the Rust CLI', () => {
  test('honeypot.log with --no-dns --no-geoip', async () => {
    const node = await nodeHost(SAMPLE, { reverseDns: false, geoip: false });
    const recs = records(node.bytes);
    assert.equal(recs.length, 305);
    recs.forEach((r, i) => assert.equal(r.line, i + 1));
    assert.equal(node.passes, 1, 'no lookups, so one pass');
    const rust = await cli(['--no-progress', '-q', '--no-dns', '--no-geoip', 'samples/honeypot.log']);
    assertSameBytes(node.bytes, rust, 'lookups off');
  });
});

describe('(b) an import that throws', () => {
  const sample = readFile(SAMPLE);
  const batchOf = async (lines) => {
    for await (const b of readBatches([await sample], lines)) return b;
  };
  // Lookups that answer every PTR `not-found` and throw while `boom.armed`.
  const boom = { armed: false };
  const throwing = {
    beginBatch() {}, hasMisses: false, async resolveMisses() {},
    imports() {
      return {
        types: {},
        dns: { reverse: (ips) => { if (boom.armed) throw new Error('boom'); return ips.map(() => ({ tag: 'not-found' })); } },
        dnsbl: { lookup: (_z, ips) => ips.map(() => ({ tag: 'not-listed' })) },
        geoip: { lookup: (ips) => ips.map(() => undefined) },
        cymru: {
          origin: (ips) => ips.map(() => ({ tag: 'not-found' })),
          asName: (asns) => asns.map(() => ({ tag: 'not-found' })),
        },
      };
    },
  };

  test('costs its batch (failure records) and the host re-instantiates', async () => {
    const host = await Host.create(hostOptions({ geoip: false }, throwing));
    const batch = await batchOf(2048);
    const good = Buffer.from(await host.process(batch));
    boom.armed = true;
    const failed = records(Buffer.from(await host.process(batch)));
    boom.armed = false;
    assert.equal(failed.length, 305);
    assert.deepEqual(Object.keys(failed[0]), ['line', 'error', 'raw']);
    assert.equal(failed[0].error.column, null);
    assert.match(failed[0].error.reason, /^component trapped: boom/);
    assert.equal(host.current, null, 'instance discarded');
    assertSameBytes(Buffer.from(await host.process(batch)), good, 'after re-instantiation');
    assert.equal(host.instances, 2);
  });

  test('the same instance still works after a caught throw, for a while', async (t) => {
    const instantiate = await loadComponent(join(work, 'component.wasm'), join(work, 'transpiled'));
    const filter = await instantiate(throwing.imports());
    filter.configure(settingsOf({ reverseDns: true, geoip: false, zones: [] }));
    const batch = await batchOf(2048);
    const good = Buffer.from(filter.process(batch).jsonl);
    boom.armed = true;
    assert.throws(() => filter.process(batch), /boom/);
    boom.armed = false;
    assertSameBytes(Buffer.from(filter.process(batch).jsonl), good, 'same instance after one throw');

    // Each throw skips the guest's epilogues, so the shadow-stack pointer (a wasm global)
    // is never restored: the instance survives a bounded number of throws, then traps.
    const small = await batchOf(1);
    let survived = 0, trap;
    for (; survived < 5000; survived++) {
      boom.armed = true;
      try { filter.process(small); } catch (err) { if (err.message !== 'boom') { trap = err; break; } }
    }
    boom.armed = false;
    t.diagnostic(`same instance: ${survived} thrown imports survived` + (trap ? `, then: ${trap.message}` : ''));
    assert.ok(survived >= 1);
    const fresh = await instantiate(throwing.imports());
    fresh.configure(settingsOf({ reverseDns: true, geoip: false, zones: [] }));
    assertSameBytes(Buffer.from(fresh.process(batch).jsonl), good, 'fresh instance');
  });
});

describe('(c) reverse DNS and DNSBL on: same bytes as the Rust CLI', () => {
  // PTR names (a few scanners among them), failures, and DNSBL listings of zone bl.test.
  const ptr = {
    '203.0.113.200': 'scanner-07.census.shodan.io',
    '198.51.100.235': 'crawl-66-249-66-1.googlebot.com',
    '203.0.113.47': 'Worker-3.Scan.Example.NET',
    '8.8.8.8': 'dns.google',
    '2001:4860:4860::8888': 'dns.google',
    '2001:db8:36fc:f70::f47': 'v6.example.org',
    '2a02:6b8::feed:ff': 'probe.shadowserver.org',
  };
  const table = new Map([
    ...Object.entries(ptr).map(([ip, name]) => [ptrName(ip), { records: [{ type: 'PTR', data: name }] }]),
    [ptrName('203.0.113.40'), { rcode: 'SERVFAIL' }],
    [ptrName('203.0.113.155'), { rcode: 'REFUSED' }],
    [ptrName('198.51.100.194'), { rcode: 'DROP' }],
    [ptrName('198.51.100.159'), { records: [] }], // exists, no PTR
    [reversedName('203.0.113.200', 'bl.test'), { records: [{ type: 'A', data: '127.0.0.2' }, { type: 'TXT', data: 'seen scanning' }] }],
    [reversedName('192.0.2.14', 'bl.test'), { records: [{ type: 'A', data: '127.0.0.3' }, { type: 'A', data: '127.0.0.4' }] }],
    [reversedName('2001:4860:4860::8888', 'bl.test'), { records: [{ type: 'A', data: '127.255.255.254' }] }],
    [reversedName('9.9.9.9', 'bl.test'), { rcode: 'SERVFAIL' }],
    [reversedName('127.0.0.2', 'bl.test'), { records: [{ type: 'A', data: '127.0.0.2' }] }], // RFC 5782 test point
  ]);
  let server;
  before(async () => { server = await startDnsServer(table); });
  after(() => server.close());

  test('honeypot.log via a DNS server on loopback', async () => {
    // Short timeouts: one client's queries are dropped, which must come out as `timeout`.
    const zones = ['bl.test'];
    const lookups = new Lookups({ nameserver: server.address, zones, timeout: 0.5, attempts: 1 });
    const node = await nodeHost(SAMPLE, { geoip: false, zones }, lookups);
    const ptrQueries = server.queries.filter((q) => q.type === 'PTR').map((q) => q.name);
    assert.equal(new Set(ptrQueries).size, ptrQueries.length, 'each PTR name asked once by the Node host');
    assert.equal(node.passes, 2, 'one pass to find the clients, one with the answers');

    const recs = records(node.bytes);
    assert.equal(recs.length, 305);
    const statuses = new Set(recs.filter((r) => r.dns).map((r) => r.dns.status));
    assert.deepEqual([...statuses].sort(), ['failed', 'found', 'not_found', 'timeout']);
    assert.ok(recs.some((r) => r.dnsbl?.some((v) => v.listed)), 'some DNSBL listing');

    const rust = await cli(['--no-progress', '-q', '--no-geoip', '--nameserver', server.address,
      '--dnsbl', 'bl.test', '--timeout', '0.5', '--attempts', '1', 'samples/honeypot.log']);
    assertSameBytes(node.bytes, rust, 'reverse DNS and DNSBL on');
  });
});

describe('(d) throughput', () => {
  test('200k lines, lookups off', async (t) => {
    const lines = (await readFile(SAMPLE, 'utf8')).trimEnd().split('\n');
    const big = Array.from({ length: 200_000 }, (_, i) => lines[i % lines.length]).join('\n') + '\n';
    const input = join(work, 'big.log');
    await writeFile(input, big);
    const host = await Host.create(hostOptions({ reverseDns: false, geoip: false }));
    let newlines = 0, bytes = 0;
    const output = new Writable({
      write(chunk, _enc, done) {
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines++;
        done();
      },
    });
    const started = performance.now();
    const { lines: n } = await run({ input, output, host });
    const seconds = (performance.now() - started) / 1000;
    assert.equal(n, 200_000);
    assert.equal(newlines, 200_000);
    const figure = `node host: ${n} lines in ${seconds.toFixed(2)} s = ${Math.round(n / seconds)} lines/s (${(bytes / 1e6).toFixed(0)} MB out)`;
    t.diagnostic(figure);
    console.log(figure);
  });
});
