/**
 * HTTP API of the health monitor (Hono):
 *   GET /health           all regions and the overall status (200, 503 when all down)
 *   GET /health/:region   200 healthy/degraded, 503 down or not yet checked, 404 unknown
 *   GET /metrics          Prometheus text
 *   GET /                 an HTML status page
 */

import { Hono } from "hono";
import type { Monitor, RegionState } from "./monitor.ts";
import { renderStatusPage } from "./page.ts";

export function regionJson(s: RegionState) {
  return {
    region: s.name,
    status: s.status,
    reason: s.reason,
    since: s.since,
    last_check: s.lastCheck,
    engine: s.engine,
    stratum_open: s.stratumOpen,
    template_height: s.figures.templateHeight ?? null,
    template_age_seconds: s.figures.templateAgeSeconds ?? null,
    miners_connected: s.figures.miners ?? null,
  };
}

export function createApp(monitor: Monitor): Hono {
  const app = new Hono();
  app.get("/health", (c) => {
    const status = monitor.overall();
    return c.json(
      { status, regions: monitor.regions().map(regionJson) },
      status === "down" ? 503 : 200,
    );
  });
  app.get("/health/:region", (c) => {
    const state = monitor.region(c.req.param("region"));
    if (!state) return c.json({ error: `unknown region '${c.req.param("region")}'` }, 404);
    const ok = state.status === "healthy" || state.status === "degraded";
    return c.json(regionJson(state), ok ? 200 : 503);
  });
  app.get("/metrics", (c) =>
    c.body(monitor.registry.render(), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    }));
  app.get("/", (c) => c.html(renderStatusPage(monitor.regions(), monitor.overall(), new Date())));
  return app;
}
