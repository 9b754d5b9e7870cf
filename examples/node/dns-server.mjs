/**
 * dns-server.mjs — a tiny DNS server for the tests: answers PTR, A and TXT questions from a
 * fixed table, over UDP and TCP on one loopback port (TCP because a resolver may retry a
 * SERVFAIL or truncated answer over TCP). Nothing else of DNS: one question per message,
 * no compression when reading, no EDNS in answers.
 *
 * The table maps a lower-case name (no trailing dot) to
 *   { records: [{ type: 'PTR'|'A'|'TXT', data: string }] }       an existing name, or
 *   { rcode: 'SERVFAIL'|'REFUSED' }                               that error, or
 *   { rcode: 'DROP' }                                             no answer at all (timeout).
 * Other names get NXDOMAIN; an existing name without records of the asked type, no answers.
 */
import dgram from 'node:dgram';
import net from 'node:net';

const TYPES = { A: 1, PTR: 12, TXT: 16 };
const RCODES = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 };

/** The id, flags, name, type and raw question section of a query; null if malformed. */
export function parseQuery(msg) {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1 || msg[2] & 0x80) return null;
  const labels = [];
  let o = 12;
  while (o < msg.length && msg[o] !== 0) {
    if (msg[o] > 63) return null; // a pointer: not in a question we can read
    labels.push(msg.toString('latin1', o + 1, o + 1 + msg[o]));
    o += 1 + msg[o];
  }
  if (o + 5 > msg.length) return null;
  return {
    id: msg.readUInt16BE(0),
    flags: msg.readUInt16BE(2),
    name: labels.join('.').toLowerCase(),
    type: msg.readUInt16BE(o + 1),
    question: msg.subarray(12, o + 5),
  };
}

function encodeName(name) {
  const labels = name.split('.').filter(Boolean).map((l) => Buffer.from(l, 'latin1'));
  return Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0])]);
}

function rdata({ type, data }) {
  if (type === 'PTR') return encodeName(data);
  if (type === 'A') return Buffer.from(data.split('.').map(Number));
  const text = Buffer.from(data); // TXT: one character-string
  return Buffer.concat([Buffer.from([text.length]), text]);
}

/** The response to `query` from `table`, or null to stay silent. */
export function respond(query, table) {
  const entry = table.get(query.name);
  if (entry?.rcode === 'DROP') return null;
  const rcode = entry ? RCODES[entry.rcode ?? 'NOERROR'] : RCODES.NXDOMAIN;
  const records = rcode === 0 ? (entry.records ?? []).filter((r) => TYPES[r.type] === query.type) : [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.id, 0);
  // QR, AA, RD as asked, RA, rcode
  header.writeUInt16BE(0x8000 | 0x0400 | (query.flags & 0x0100) | 0x0080 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  const answers = records.map((r) => {
    const data = rdata(r);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    rr.writeUInt16BE(TYPES[r.type], 2);
    rr.writeUInt16BE(1, 4); // class IN
    rr.writeUInt32BE(300, 6); // TTL
    rr.writeUInt16BE(data.length, 10);
    return Buffer.concat([rr, data]);
  });
  return Buffer.concat([header, query.question, ...answers]);
}

/**
 * Starts the server on 127.0.0.1 (a free port, UDP and TCP). Returns `{ address, port,
 * queries, close }`; `queries` logs `{ name, type, tcp }` of every question.
 */
export async function startDnsServer(table) {
  const queries = [];
  const handle = (msg, tcp) => {
    const q = parseQuery(msg);
    if (!q) return null;
    queries.push({ name: q.name, type: Object.keys(TYPES).find((k) => TYPES[k] === q.type) ?? q.type, tcp });
    return respond(q, table);
  };
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    udp.on('message', (msg, peer) => {
      const reply = handle(msg, false);
      if (reply) udp.send(reply, peer.port, peer.address);
    });
    await new Promise((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const port = udp.address().port;
    const sockets = new Set();
    const tcp = net.createServer((sock) => {
      let buf = Buffer.alloc(0);
      sockets.add(sock.on('close', () => sockets.delete(sock)));
      sock.on('error', () => {});
      sock.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const reply = handle(buf.subarray(2, 2 + buf.readUInt16BE(0)), true);
          buf = buf.subarray(2 + buf.readUInt16BE(0));
          if (reply) sock.write(Buffer.concat([Buffer.from([reply.length >> 8, reply.length & 0xff]), reply]));
        }
      });
    });
    try {
      await new Promise((resolve, reject) => tcp.once('error', reject).listen(port, '127.0.0.1', resolve));
    } catch (err) {
      udp.close(); // that TCP port is taken: try another
      if (attempt < 5) continue;
      throw err;
    }
    const close = () => new Promise((resolve) => {
      udp.close();
      for (const sock of sockets) sock.destroy();
      tcp.close(resolve);
    });
    return { address: `127.0.0.1:${port}`, port, queries, close };
  }
}
