// Simulators and gateways a data-plane suite starts over real HTTP on 127.0.0.1, kept so that the suite stops
// every one of them (afterEach: `await servers.close()`).
import type { CompiledRoute, GatewayConfig } from '../api/v1alpha1/index.js';
import { createLogger } from '../gateway/src/log.js';
import { startGateway, type Gateway } from '../gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../simulator/simulator.js';
import { gatewayConfig } from './gateway-config.js';

/** The logger of test gateways: errors only, as JSON. */
export const silent = createLogger('error', true);

export class TestServers {
  private sims: Simulator[] = [];
  private gateways: Gateway[] = [];

  async sim(opts: Parameters<typeof startSimulator>[0] = {}): Promise<Simulator> {
    const s = await startSimulator(opts);
    this.sims.push(s);
    return s;
  }

  /** A gateway serving the routes; random 0, so that "stickiness: none" picks the first backend. */
  async gateway(routes: CompiledRoute[], limits: Partial<GatewayConfig['limits']> = {}): Promise<Gateway> {
    const g = await startGateway({
      source: { config: gatewayConfig(routes, limits) },
      logger: silent,
      random: () => 0,
    });
    this.gateways.push(g);
    return g;
  }

  /** A gateway the suite started itself, to be stopped with the others. */
  adopt(g: Gateway): Gateway {
    this.gateways.push(g);
    return g;
  }

  async close(): Promise<void> {
    await Promise.all(this.gateways.splice(0).map((g) => g.close(1000)));
    await Promise.all(this.sims.splice(0).map((s) => s.close()));
  }
}
