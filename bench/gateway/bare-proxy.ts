// The reference floor of TOOLCHAIN.md: a bare node:http server forwarding each request to one keep-alive
// upstream through an undici Pool, with no routing, metrics or policy. The benchmark runs it beside our
// gateway so the cost of everything the gateway adds is measured in the same run.
// Usage: tsx bench/gateway/bare-proxy.ts <port> <upstream origin>
import http from 'node:http';
import { Pool } from 'undici';

const [port = '0', upstream = 'http://127.0.0.1:9001'] = process.argv.slice(2);
const pool = new Pool(upstream, { connections: 256 });

http
  .createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      pool
        .request({
          path: req.url ?? '/',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: Buffer.concat(chunks),
        })
        .then(async (r) => {
          const text = await r.body.text();
          res.writeHead(r.statusCode, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(text),
          });
          res.end(text);
        })
        .catch(() => {
          res.writeHead(502).end();
        });
    });
  })
  .listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
