/**
 * The operations endpoint of the publisher and the collector: `GET /metrics`
 * (Prometheus text) and `GET /health` (JSON; 200 when ok or degraded, 503 when down).
 */

import type { HostPort } from "./config.ts";
import type { Registry } from "./metrics.ts";

export type HealthStatus = "ok" | "degraded" | "down";

export interface HealthReport {
  status: HealthStatus;
  reasons: string[];
  [field: string]: unknown;
}

export interface OpsServerOptions {
  /** `publisher`, `collector`: starts the error when the address cannot be bound. */
  component: string;
  listen: HostPort;
  /** The variable `listen` came from, named in that error. */
  listenVariable: string;
  registry: Registry;
  health: () => HealthReport;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

export function handleOps(
  request: Request,
  registry: Registry,
  health: () => HealthReport,
): Response {
  const { pathname } = new URL(request.url);
  if (request.method !== "GET") return new Response("method not allowed\n", { status: 405 });
  if (pathname === "/metrics") {
    return new Response(registry.render(), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  }
  if (pathname === "/health") {
    const report = health();
    return Response.json(report, { status: report.status === "down" ? 503 : 200 });
  }
  return new Response("not found\n", { status: 404 });
}

/** Serves /metrics and /health on `options.listen`; throws, naming the variable, when it cannot. */
export function startOpsServer(options: OpsServerOptions): OpsServer {
  const { hostname, port } = options.listen;
  let server: Deno.HttpServer;
  try {
    server = Deno.serve(
      { hostname, port, onListen: () => {} },
      (request) => handleOps(request, options.registry, options.health),
    );
  } catch (error) {
    throw new Error(
      `${options.component}: cannot listen on ${options.listenVariable} ${hostname}:${port}: ` +
        (error as Error).message,
    );
  }
  return {
    port: (server.addr as Deno.NetAddr).port,
    close: () => server.shutdown(),
  };
}
