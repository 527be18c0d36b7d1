/**
 * A node that refuses templates, with the node's own error text. The engine
 * talks to a real signet node (the stand-in, or bitcoind -signet
 * -signetchallenge=51) through a JSON-RPC forwarder that, while told to,
 * drops rules from the engine's getblocktemplate request, so the refusal and
 * its text come from the node itself. Checked: one warning per distinct
 * error however often the engine retries, /health down (no template yet) and
 * later degraded (mining on the last one) with the reason, the refusal
 * metrics, and recovery when the node answers again.
 */

import { assert, assertEquals } from "../assert.ts";
import { startBitcoinNode } from "../../lib/harness/bitcoin_node.ts";
import { scrapeMetrics, startEngine } from "../../lib/harness/engine.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { freePort, waitFor } from "../../lib/ports.ts";

// The engine's error text: the call, then the node's code and message.
const SIGNET_RULE_ERROR =
  "rpc getblocktemplate: -8: getblocktemplate must be called with the signet rule set " +
  '(call with {"rules": ["segwit", "signet"]})';
const SEGWIT_RULE_ERROR =
  "rpc getblocktemplate: -8: getblocktemplate must be called with the segwit rule set " +
  '(call with {"rules": ["segwit"]})';

/** What the forwarder does to getblocktemplate's rules. */
type Tamper = "none" | "drop-signet" | "drop-segwit";

interface RpcRequest {
  method?: string;
  params?: unknown[];
}

function tamperRequest(request: RpcRequest, tamper: Tamper): void {
  if (request.method !== "getblocktemplate" || tamper === "none") return;
  const first = (request.params?.[0] ?? {}) as { rules?: string[] };
  // Core checks signet's rule before segwit's, so each drop has its own error.
  const dropped = tamper === "drop-signet" ? "signet" : "segwit";
  const rules = (first.rules ?? []).filter((r) => r !== dropped);
  request.params = [{ ...first, rules }, ...(request.params ?? []).slice(1)];
}

/** Forwards JSON-RPC posts to `target`, changing getblocktemplate while told to. */
function startForwarder(target: string, port: number) {
  const state = { tamper: "drop-signet" as Tamper, templateCalls: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
    const body = JSON.parse(await req.text()) as RpcRequest | RpcRequest[];
    for (const r of Array.isArray(body) ? body : [body]) {
      if (r.method === "getblocktemplate") state.templateCalls++;
      tamperRequest(r, state.tamper);
    }
    const res = await fetch(target, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: req.headers.get("Authorization") ?? "",
      },
      body: JSON.stringify(body),
    });
    return new Response(await res.text(), {
      status: res.status,
      headers: { "Content-Type": "application/json" },
    });
  });
  return { state, server };
}

interface Health {
  status: string;
  reasons: string[];
  chain: string;
  signet_challenge: string;
  template_height: number;
  template_error: string | null;
  template_error_count: number | null;
}

requires({
  name: "engine: a node refusing templates is reported once per error, in /health and /metrics",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const node = await startBitcoinNode({ chain: "signet" });
    const forwarderPort = freePort();
    const forwarder = startForwarder(node.rpcUrl, forwarderPort);
    try {
      // A fresh template each second, so step 4 needs no new block.
      await using engine = await startEngine({ ...node, rpcPort: forwarderPort }, {
        update_interval: 1,
      }, { readyOn: "metrics" });
      const health = async (): Promise<Health> =>
        await (await fetch(`http://127.0.0.1:${engine.metricsPort}/health`)).json();
      const warnings = (msg: string) =>
        engine.logLines().filter((l) => l.msg === msg && l.level === "warn");
      const infos = (msg: string) => engine.logLines().filter((l) => l.msg === msg);

      // 1. No template yet: down, with the node's words, however many retries.
      const down = await waitFor(async () => {
        const h = await health();
        return (h.template_error_count ?? 0) >= 3 && h;
      }, { timeoutMs: 30_000, what: "three refused getblocktemplate calls" });
      assertEquals(down.status, "down");
      assertEquals(down.reasons, [`node refuses templates: ${SIGNET_RULE_ERROR}`]);
      assertEquals(down.template_error, SIGNET_RULE_ERROR);
      assertEquals(down.chain, "signet");
      let m = await scrapeMetrics(engine);
      assertEquals(m.get("ckpool_template_refused"), 1);
      assert((m.get("ckpool_template_refusals_total") ?? 0) >= 3, "refusals counted");
      assert((m.get("ckpool_template_refused_repeats") ?? 0) >= 3, "repeats counted");
      const infoKey = [...m.keys()].find((k) => k.startsWith("ckpool_template_refusal_info"));
      assert(infoKey?.includes("signet rule set"), `refusal info series: ${infoKey}`);
      assertEquals(warnings("node refuses block templates").length, 1, engine.logs());

      // 2. Another error: one more warning, carrying the previous one's count.
      forwarder.state.tamper = "drop-segwit";
      const changed = await waitFor(
        () => warnings("node refuses block templates with another error")[0],
        { timeoutMs: 30_000, what: "the changed-error warning" },
      );
      assertEquals(changed.error, SEGWIT_RULE_ERROR);
      assertEquals(changed.previous_error, SIGNET_RULE_ERROR);
      assert(Number(changed.previous_error_count) >= 3, JSON.stringify(changed));
      const calls = forwarder.state.templateCalls;
      await waitFor(() => forwarder.state.templateCalls >= calls + 2, {
        timeoutMs: 30_000,
        what: "two more refused calls",
      });
      assertEquals(warnings("node refuses block templates with another error").length, 1);
      assertEquals((await health()).template_error, SEGWIT_RULE_ERROR);

      // 3. The node answers: one info line, ok, no refusal series left.
      forwarder.state.tamper = "none";
      await waitFor(() => infos("node answers again: block templates flow").length === 1, {
        timeoutMs: 30_000,
        what: "templates to flow again",
      });
      const ok = await waitFor(async () => {
        const h = await health();
        return h.status === "ok" && h;
      }, { timeoutMs: 30_000, what: "/health ok" });
      assertEquals(ok.template_error, null);
      assertEquals(ok.signet_challenge, "51");
      assertEquals(ok.template_height, 1);
      m = await scrapeMetrics(engine);
      assertEquals(m.get("ckpool_template_refused"), 0);
      assert(![...m.keys()].some((k) => k.startsWith("ckpool_template_refusal_info")));

      // 4. Refused again after a template: degraded (miners keep the last work).
      forwarder.state.tamper = "drop-signet";
      const degraded = await waitFor(async () => {
        const h = await health();
        return h.template_error !== null && h;
      }, { timeoutMs: 60_000, what: "a refusal after the first template" });
      assertEquals(degraded.status, "degraded");
      assert(degraded.reasons.includes(`node refuses templates: ${SIGNET_RULE_ERROR}`));
      assertEquals(warnings("node refuses block templates").length, 2);
    } finally {
      await forwarder.server.shutdown();
      await node.stop();
    }
  },
});
