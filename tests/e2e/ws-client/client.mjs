// A third-party WebSocket peer for tests/e2e/test_websocket.py: Node's ws, and hand-made
// frames on a raw socket.  One JSON request on stdin (a frame to send may be larger than
// a command line may be), one JSON object on stdout; the Python test judges it.  Every
// wait here is bounded.
//
//   {"mode": "session", ...}  ws's client: the upgrade, ping/pong both ways, then a real
//                             TLS 1.3 handshake (node:tls) over the WebSocket's binary
//                             messages with the gateway's control-link TLS, then close 1000
//   {"mode": "raw", ...}      a hand-made upgrade on node:net / node:tls, then bytes the
//                             test made (malformed frames); what the gateway answers
import { createRequire } from 'node:module';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

// ws lives in the build dir (npm ci there), not next to this script.
const require = createRequire(process.env.CULVERT_WS_CLIENT_DIR + '/');
const WebSocket = require('ws');

const request = JSON.parse(readFileSync(0, 'utf8'));

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// @promise, or a rejection naming @what after @ms.
function within(ms, what, promise) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function keyFingerprint(x509) {
  const spki = x509.publicKey.export({ type: 'spki', format: 'der' });
  return 'sha256:' + createHash('sha256').update(spki).digest('hex');
}

async function session(req) {
  const out = { steps: [] };
  const options = {
    perMessageDeflate: true, // offered; the gateway must not take it
    rejectUnauthorized: false,
    handshakeTimeout: 5000,
  };
  if (req.alpn) options.ALPNProtocols = req.alpn;
  const ws = new WebSocket(req.url, options);
  let gatewayPings = 0;
  const binary = { in: 0, inBytes: 0, text: 0 };
  ws.on('ping', () => gatewayPings++);
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      binary.in++;
      binary.inBytes += data.length;
    } else binary.text++;
  });
  const closed = new Promise((resolve) => ws.on('close', (code, reason) =>
    resolve({ code, reason: reason.toString() })));
  ws.on('error', (e) => { out.ws_error = String(e && e.message); });
  // A wait below fails at once when the gateway closes first, saying how it closed.
  const closedFirst = closed.then((c) => {
    throw new Error(`the gateway closed the WebSocket (${c.code} ${c.reason})`);
  });
  closedFirst.catch(() => {});
  const orClosed = (promise) => Promise.race([promise, closedFirst]);

  await within(8000, 'the upgrade', new Promise((resolve, reject) => {
    ws.on('upgrade', (res) => {
      out.status = res.statusCode;
      out.headers = res.headers;
      // What ws asked for (its request is still at hand when the 101 comes).
      out.offered_extensions = ws._req ? ws._req.getHeader('sec-websocket-extensions') : null;
      if (res.socket && typeof res.socket.getPeerX509Certificate === 'function') {
        const peer = res.socket.getPeerX509Certificate();
        if (peer) out.outer_fingerprint = keyFingerprint(peer);
        out.outer_alpn = res.socket.alpnProtocol || null;
        out.outer_tls = res.socket.getProtocol();
      }
    });
    ws.on('open', resolve);
    ws.on('unexpected-response', (_, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on('error', reject);
  }));
  out.extensions = ws.extensions;
  out.protocol = ws.protocol;
  out.steps.push('open');

  // Our ping: the pong carries the same payload.
  const payload = randomBytes(20);
  const pong = await within(5000, 'the pong', orClosed(new Promise((resolve) => {
    ws.once('pong', (data) => resolve(data));
    ws.ping(payload);
  })));
  out.pong_matches = Buffer.compare(pong, payload) === 0;
  out.steps.push('pong');

  // The gateway's pings: ws answers each with a pong by itself.  With a short pong
  // timeout in the gateway's config, still being open afterwards says they counted.
  await sleep(req.ping_wait_ms || 0);
  out.gateway_pings = gatewayPings;
  out.open_after_pings = ws.readyState === WebSocket.OPEN;
  out.steps.push('pings');

  // A real TLS 1.3 handshake with the gateway's control-link TLS, every byte of it in
  // binary WebSocket messages.
  if (req.tls) {
    // Our binary messages: how many went out after the gateway's first flight came in.
    let secondFlight = 0;
    const send = ws.send.bind(ws);
    ws.send = (data, ...rest) => {
      if (binary.in > 0) secondFlight++;
      return send(data, ...rest);
    };
    const duplex = WebSocket.createWebSocketStream(ws);
    duplex.on('error', (e) => { out.duplex_error = String(e && e.message); });
    const sock = tls.connect({
      socket: duplex,
      ALPNProtocols: ['culvert/1'],
      cert: readFileSync(req.tls.cert),
      key: readFileSync(req.tls.key),
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
    });
    sock.on('error', (e) => { out.tls_error = String(e && e.message); });
    await within(8000, 'the TLS handshake inside the WebSocket',
      orClosed(new Promise((resolve, reject) => {
        sock.once('secureConnect', resolve);
        sock.once('error', reject);
      })));
    out.inner_alpn = sock.alpnProtocol;
    out.inner_tls = sock.getProtocol();
    out.inner_fingerprint = keyFingerprint(sock.getPeerX509Certificate());
    // secureConnect comes before our last flight (Certificate, CertificateVerify,
    // Finished) has gone out through the Duplex, one message after another: a Close now
    // would overtake it, and the gateway's handshake would fail.
    await within(5000, 'our last TLS flight to go out', (async () => {
      while (!(secondFlight > 0 && duplex.writableLength === 0 && ws.bufferedAmount === 0)) {
        await sleep(10);
      }
    })());
    out.messages_out_after_first_flight = secondFlight;
    out.binary_in = binary.in;
    out.binary_in_bytes = binary.inBytes;
    out.text_in = binary.text;
    out.steps.push('tls');
  }

  await sleep(req.close_delay_ms || 0);
  out.open_before_close = ws.readyState === WebSocket.OPEN;
  const started = Date.now();
  ws.close(1000, 'done');
  const close = await within(5000, 'the close frame', closed);
  out.close_code = close.code;
  out.close_reason = close.reason;
  out.close_ms = Date.now() - started;
  out.steps.push('closed');
  return out;
}

// What the server sends after the bytes: its frames, parsed (a server's are unmasked),
// up to its Close and the end of the connection.
function parseFrames(buf) {
  const frames = [];
  let off = 0;
  while (buf.length - off >= 2) {
    const b0 = buf[off];
    const b1 = buf[off + 1];
    let len = b1 & 0x7f;
    let head = 2;
    if (len === 126) {
      if (buf.length - off < 4) break;
      len = buf.readUInt16BE(off + 2);
      head = 4;
    } else if (len === 127) {
      if (buf.length - off < 10) break;
      len = Number(buf.readBigUInt64BE(off + 2));
      head = 10;
    }
    if (b1 & 0x80) head += 4;
    if (buf.length - off < head + len) break;
    const payload = buf.subarray(off + head, off + head + len);
    frames.push({ fin: !!(b0 & 0x80), opcode: b0 & 0x0f, masked: !!(b1 & 0x80), payload });
    off += head + len;
  }
  return { frames, rest: buf.length - off };
}

async function raw(req) {
  const out = {};
  const started = Date.now();
  const sock = req.tls
    ? tls.connect({ host: '127.0.0.1', port: req.port, rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'] })
    : net.connect({ host: '127.0.0.1', port: req.port });
  let buf = Buffer.alloc(0);
  let ended = false;
  let endedAt = null;
  const ends = new Promise((resolve) => {
    const end = (how) => {
      if (!ended) {
        ended = true;
        endedAt = Date.now();
        out.end = how;
      }
      resolve();
    };
    sock.on('end', () => end('eof'));
    sock.on('close', () => end('closed'));
    sock.on('error', (e) => { out.error = e.code || String(e.message); end('error'); });
  });
  let wake = null;
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    if (wake) wake();
  });
  await within(5000, 'the connection', new Promise((resolve) =>
    sock.once(req.tls ? 'secureConnect' : 'connect', resolve)));
  const key = randomBytes(16).toString('base64');
  sock.write(`GET ${req.path} HTTP/1.1\r\nHost: 127.0.0.1:${req.port}\r\n` +
    'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const deadline = Date.now() + (req.timeout_ms || 6000);
  while (buf.indexOf('\r\n\r\n') < 0 && !ended && Date.now() < deadline) {
    await new Promise((resolve) => { wake = resolve; setTimeout(resolve, 100); });
  }
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) {
    out.status = null;
    out.response = buf.toString('latin1');
    sock.destroy();
    return out;
  }
  const head = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  out.status = Number(head[0].split(' ')[1]);
  out.headers = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    out.headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
    .digest('base64');
  out.accept_ok = out.headers['sec-websocket-accept'] === accept;
  buf = buf.subarray(headEnd + 4);
  const sentAt = Date.now();
  if (!ended) sock.write(Buffer.from(req.send_hex, 'hex'));
  // Until the connection ends or the deadline: the Close frame comes before it.
  await within(req.timeout_ms || 6000, 'the end of the connection', ends).catch((e) => {
    out.timeout = String(e.message);
  });
  const { frames, rest } = parseFrames(buf);
  out.frames = frames.map((f) => ({ opcode: f.opcode, fin: f.fin, masked: f.masked,
    length: f.payload.length }));
  out.trailing_bytes = rest;
  const close = frames.find((f) => f.opcode === 8);
  if (close) {
    out.close_code = close.payload.length >= 2 ? close.payload.readUInt16BE(0) : null;
    out.close_reason = close.payload.subarray(2).toString('utf8');
  }
  out.ms_to_end = endedAt !== null ? endedAt - sentAt : null;
  out.total_ms = Date.now() - started;
  sock.destroy();
  return out;
}

const modes = { session, raw };
try {
  const result = await modes[request.mode](request);
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
} catch (e) {
  process.stdout.write(JSON.stringify({ error: String(e && e.message ? e.message : e) }) + '\n');
  process.exit(0);
}
