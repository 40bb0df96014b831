// What tracing costs a request. (1) The tracer alone: CPU per traced request (server span, one attempt span,
// their OTLP JSON encoding), in a tight loop. (2) End to end: three gateways in this process in front of one
// simulator, tracing off, on with sampleRatio 0, and on with every request sampled to a local receiver;
// rounds of sequential and of concurrent requests interleaved across them, so a slow moment of the machine
// falls on all three, and the medians over rounds reported. Usage: tsx bench/gateway/tracing.ts [--quick].
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import { Pool } from 'undici';
import type { GatewayConfig } from '../../api/v1alpha1/index.js';
import { finishGatewayConfig } from '../../api/v1alpha1/index.js';
import { compileRuntime } from '../../gateway/src/config/load.js';
import { startGateway, type Gateway } from '../../gateway/src/server/gateway.js';
import { encodeExport, type SpanRecord } from '../../gateway/src/tracing/otlp.js';
import { RequestSpan } from '../../gateway/src/tracing/request-span.js';
import { Tracer } from '../../gateway/src/tracing/tracer.js';
import client from 'prom-client';
import { startSimulator } from '../../simulator/simulator.js';
import { compiledRoute, gatewayConfig } from '../../testkit/gateway-config.js';
import { silent } from '../../testkit/http-servers.js';
import { chatBody, chatRound, median } from './chat-round.js';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'Usage: npx tsx bench/gateway/tracing.ts [--quick]\n\n' +
      'What tracing costs a request: the tracer alone (CPU per traced request, and per untraced one with\n' +
      'tracing off or unsampled), then three in-process gateways end to end (off, ratio 0, every request\n' +
      'sampled), medians over interleaved rounds. --quick: fewer rounds.\n',
  );
  process.exit(0);
}
const quick = process.argv.includes('--quick');

/** (1) Microseconds of CPU per traced request: spans built, ended, encoded and serialised. */
function tracerCost(n: number): number {
  const route = compiledRoute('chat', [{ name: 'primary', url: 'http://127.0.0.1:1/v1' }]);
  const runtime = compileRuntime(gatewayConfig([route]));
  const r = runtime.routes.get('chat');
  const b = r?.backends.get('primary/stable');
  if (r === undefined || b === undefined) throw new Error('no route');
  const req = { method: 'POST', url: '/v1/chat/completions', headers: {} } as IncomingMessage;
  const res = Object.assign(new EventEmitter(), {
    statusCode: 200,
    writableFinished: true,
  }) as never as ServerResponse;
  const body = { model: 'chat', messages: [{ role: 'user', content: 'hi' }], temperature: 0 };
  let batch: SpanRecord[] = [];
  let bytes = 0;
  const sink = (s: SpanRecord) => batch.push(s);
  const now = () => performance.timeOrigin + performance.now();
  const caller = { key: 'anonymous', anonymous: true };
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const span = new RequestSpan(sink, now, req, undefined, 'f'.repeat(32), 'id');
    span.routed({ route: r, endpoint: 'chat', body, stream: false, caller });
    const a = span.attempt(b, 'first');
    void a.traceparent;
    a.firstToken();
    a.end({ ok: true, status: 200, usage: { input: 10, output: 20 } });
    span.settled({ served: b, usage: { input: 10, output: 20 } });
    span.end(res);
    if (batch.length >= 512) {
      bytes += encodeExport({ 'service.name': 'x' }, { name: 'x', version: '1' }, batch).length;
      batch = [];
    }
  }
  if (bytes === 0) throw new Error('nothing encoded');
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / n;
}

/**
 * `n` requests, `concurrency` at a time: their median latency, the rate, and the process's CPU per request
 * (client, gateway and simulator together: only the gateway differs between variants). CPU time, unlike
 * wall time, holds still on a machine that other work keeps busy.
 */
/** Nanoseconds of CPU that `Tracer.begin` takes of a request it does not trace (off, or not sampled). */
function untracedCost(n: number): { off: number; unsampled: number } {
  const registry = new client.Registry();
  const off = new Tracer({ registry, log: silent });
  const unsampled = new Tracer({
    registry: new client.Registry(),
    log: silent,
    defaults: { endpoint: 'http://127.0.0.1:1', sampleRatio: 0, serviceName: 'x' },
  });
  const req = { method: 'POST', url: '/v1/chat/completions', headers: {} } as IncomingMessage;
  const res = {} as ServerResponse;
  const time = (t: Tracer): number => {
    const cpu = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      t.begin(req, res, 'id');
      if (t.spanOf(res) !== undefined) throw new Error('traced');
    }
    const used = process.cpuUsage(cpu);
    return ((used.user + used.system) * 1000) / n;
  };
  time(off);
  time(unsampled);
  const result = { off: time(off), unsampled: time(unsampled) };
  void unsampled.close();
  return result;
}

async function requests(
  pool: Pool,
  n: number,
  concurrency: number,
): Promise<{ p50: number; rps: number; cpuUs: number }> {
  const body = chatBody('chat');
  const r = await chatRound(pool, n, concurrency, () => body);
  return { p50: median(r.times), rps: (n / r.wallMs) * 1000, cpuUs: r.cpuUsPerRequest };
}

async function discardingCollector() {
  let exports = 0;
  const collector = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      exports++;
      res.end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', () => r()));
  const receiver = { url: `http://127.0.0.1:${(collector.address() as AddressInfo).port}` };
  return { collector, receiver, exports: () => exports };
}

type Results = { p50: number[]; rps: number[]; cpu: number[] }[];

function report(names: string[], results: Results, title: string): void {
  console.log(`\n${title}`);
  console.log('variant        p50 ms (c=1)   rps (c=16)   CPU µs/request (c=16)   CPU vs off');
  const offCpu = median(results[0]?.cpu ?? []);
  for (const [i, name] of names.entries()) {
    const p50 = median(results[i]?.p50 ?? []);
    const rps = median(results[i]?.rps ?? []);
    const cpu = median(results[i]?.cpu ?? []);
    const vs = `${cpu >= offCpu ? '+' : ''}${(cpu - offCpu).toFixed(1)} µs (${((cpu / offCpu - 1) * 100).toFixed(1)}%)`;
    console.log(
      `${name.padEnd(14)} ${p50.toFixed(3).padStart(12)} ${rps.toFixed(0).padStart(12)} ${cpu.toFixed(1).padStart(23)}   ${vs}`,
    );
  }
}

async function main(): Promise<void> {
  const warm = tracerCost(20_000);
  const micro = median([1, 2, 3].map(() => tracerCost(quick ? 20_000 : 100_000)));
  console.log(`tracer alone: ${micro.toFixed(2)} µs CPU per traced request (warm-up ${warm.toFixed(2)})`);
  const untraced = untracedCost(quick ? 1_000_000 : 5_000_000);
  console.log(
    `untraced request: ${untraced.off.toFixed(1)} ns with tracing off, ${untraced.unsampled.toFixed(1)} ns on but not sampled`,
  );

  const sim = await startSimulator();
  const { collector, receiver, exports } = await discardingCollector();
  const routes = [compiledRoute('chat', [{ name: 'primary', url: `${sim.url}/v1` }])];
  const config = (tracing?: GatewayConfig['tracing']): GatewayConfig => {
    const { revision: _r, apiVersion: _a, kind: _k, ...draft } = gatewayConfig(routes);
    return finishGatewayConfig({ ...draft, ...(tracing ? { tracing } : {}) });
  };
  const on = (sampleRatio: number) => ({ endpoint: receiver.url, sampleRatio, serviceName: 'bench' });
  const variants: [string, GatewayConfig][] = [
    ['off', config()],
    ['on, ratio 0', config(on(0))],
    ['on, ratio 1', config(on(1))],
  ];
  const gateways: Gateway[] = await Promise.all(
    variants.map(([, c]) =>
      startGateway({ source: { config: c }, logger: silent, policy: { enforce: false } }),
    ),
  );
  const pools = gateways.map((g) => new Pool(g.url, { connections: 32 }));
  const rounds = quick ? 3 : 7;
  const [seq, conc] = quick ? [300, 1000] : [1000, 4000];
  const results: Results = variants.map(() => ({ p50: [], rps: [], cpu: [] }));
  for (const p of pools) await requests(p, 300, 4); // warm-up
  for (let round = 0; round < rounds; round++) {
    // Each round starts with another variant: none always runs after the same one (its garbage, its JIT).
    for (let k = 0; k < pools.length; k++) {
      const i = (round + k) % pools.length;
      const p = pools[i] as Pool;
      const s = await requests(p, seq, 1);
      const c = await requests(p, conc, 16);
      results[i]?.p50.push(s.p50);
      results[i]?.rps.push(c.rps);
      results[i]?.cpu.push(c.cpuUs);
    }
  }
  report(
    variants.map(([name]) => name),
    results,
    `${rounds} rounds; per round ${seq} sequential requests (p50) and ${conc} at concurrency 16 (rps)`,
  );
  console.log(`export requests received: ${exports()}`);
  await Promise.all(pools.map((p) => p.close()));
  await Promise.all(gateways.map((g) => g.close(1000)));
  collector.closeAllConnections();
  collector.close();
  await sim.close();
}

void main();
