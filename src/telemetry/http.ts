/**
 * telemetry/http: the metrics and health endpoint.
 *
 * GET /metrics: Prometheus text format (prom-client). GET /health: the
 * health report as JSON (status "ok" or "degraded", always HTTP 200 while the
 * sensor runs: a failing Kafka must not make an orchestrator restart the
 * sensor). Listens on 127.0.0.1 by default: nothing here is authenticated.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SensorError } from '../errors.js';
import type { Logger } from './logger.js';
import type { SensorMetrics } from './metrics.js';

export interface MetricsServerOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  metrics: SensorMetrics;
  log: Logger;
}

export interface MetricsServer {
  /** http://host:port */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Start the server; rejects with ESENSOR_CONFIG when the address cannot be bound. */
export async function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => void handle(o, req, res));
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      reject(
        new SensorError('ESENSOR_CONFIG', `cannot listen for metrics on ${o.host}:${o.port}: ${e.message}${e.code === 'EADDRINUSE' ? ' (another sensor running? set metrics.port)' : ''}`, {
          field: 'metrics.port',
          cause: e,
        }),
      );
    };
    server.once('error', onError);
    server.listen(o.port, o.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // The endpoint must never keep a stopping sensor alive.
  server.unref();
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  o.log.info({ url, endpoints: ['/metrics', '/health'] }, 'metrics and health on %s', url);
  return {
    url,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(o: MetricsServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  try {
    if (path === '/metrics') {
      const body = await o.metrics.metrics();
      res.writeHead(200, { 'content-type': o.metrics.contentType }).end(req.method === 'HEAD' ? undefined : body);
    } else if (path === '/health' || path === '/healthz') {
      const body = `${JSON.stringify(o.metrics.health())}\n`;
      res.writeHead(200, { 'content-type': 'application/json' }).end(req.method === 'HEAD' ? undefined : body);
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ebpf-sensor: /metrics (Prometheus), /health (JSON)\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: /metrics, /health\n');
    }
  } catch (e) {
    o.log.error({ err: e, path }, 'metrics endpoint failed');
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal error\n');
  }
}
