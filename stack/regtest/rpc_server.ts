/**
 * bitcoind-compatible JSON-RPC over HTTP: POST only, Basic auth (401 with an
 * empty body on failure), JSON-RPC 1.0 and 2.0 replies, batches, named
 * parameters, and Core's HTTP status codes for legacy (1.0) errors.
 */
import type { NodeContext, RpcMethod } from "./context.ts";
import { RPC, RpcError } from "./rpc_util.ts";

type Json = Record<string, unknown>;

interface Reply {
  body: Json | undefined;
  status: number;
}

function errorObject(code: number, message: string): Json {
  return { code, message };
}

/** Core's status for a legacy (JSON-RPC 1.0) error reply. */
function legacyStatus(code: number): number {
  if (code === RPC.INVALID_REQUEST) return 400;
  if (code === RPC.METHOD_NOT_FOUND) return 404;
  return 500;
}

function toPositional(method: RpcMethod, params: unknown): unknown[] {
  if (params === undefined || params === null) return [];
  if (Array.isArray(params)) return params;
  if (typeof params !== "object") {
    throw new RpcError(RPC.INVALID_REQUEST, "Params must be an array or object");
  }
  const named = params as Json;
  const out: unknown[] = [];
  for (const key of Object.keys(named)) {
    const i = method.params.indexOf(key);
    if (i < 0) throw new RpcError(RPC.INVALID_PARAMETER, `Unknown named parameter ${key}`);
    out[i] = named[key];
  }
  return out;
}

/** The first line of a method's help: its name, required arguments, optional ones in brackets. */
export function usage(name: string, method: RpcMethod): string {
  const required = method.required ?? 0;
  const args = method.params.map((p, i) => (i < required ? `"${p}"` : `( "${p}" )`));
  return `${[name, ...args].join(" ")}\n\nMissing required arguments (see docs/regtest-node.md).`;
}

export class RpcServer {
  private server?: Deno.HttpServer;
  private readonly expectedAuth: string;

  constructor(
    private readonly ctx: NodeContext,
    private readonly methods: Record<string, RpcMethod>,
    user: string,
    password: string,
  ) {
    this.expectedAuth = "Basic " + btoa(`${user}:${password}`);
  }

  start(hostname: string, port: number): void {
    this.server = Deno.serve({ hostname, port, onListen: () => {} }, (req) => this.handle(req));
  }

  async stop(): Promise<void> {
    await this.server?.shutdown();
  }

  private async handle(req: Request): Promise<Response> {
    if (req.method !== "POST") {
      return new Response("JSONRPC server handles only POST requests", { status: 405 });
    }
    if (req.headers.get("authorization") !== this.expectedAuth) {
      return new Response(null, {
        status: 401,
        headers: { "WWW-Authenticate": 'Basic realm="jsonrpc"' },
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(await req.text());
    } catch {
      return this.respond(500, {
        result: null,
        error: errorObject(RPC.PARSE_ERROR, "Parse error"),
        id: null,
      });
    }
    if (Array.isArray(parsed)) {
      const replies: Json[] = [];
      for (const item of parsed) {
        const reply = await this.call(item);
        if (reply.body) replies.push(reply.body);
      }
      return this.respond(200, replies);
    }
    if (typeof parsed !== "object" || parsed === null) {
      return this.respond(400, {
        result: null,
        error: errorObject(RPC.PARSE_ERROR, "Top-level object parse error"),
        id: null,
      });
    }
    const reply = await this.call(parsed);
    if (!reply.body) return new Response(null, { status: 204 });
    return this.respond(reply.status, reply.body);
  }

  private respond(status: number, body: unknown): Response {
    return new Response(JSON.stringify(body) + "\n", {
      status,
      headers: { "Content-Type": "application/json" },
    });
  }

  /** One request object -> its reply (no body for a JSON-RPC 2.0 notification). */
  private async call(request: unknown): Promise<Reply> {
    if (typeof request !== "object" || request === null || Array.isArray(request)) {
      const error = errorObject(RPC.INVALID_REQUEST, "Invalid Request object");
      return { body: { result: null, error, id: null }, status: 400 };
    }
    const req = request as Json;
    const v2 = req.jsonrpc === "2.0";
    const id = req.id ?? null;
    const notification = v2 && !("id" in req);
    try {
      if (!("method" in req)) throw new RpcError(RPC.INVALID_REQUEST, "Missing method");
      if (typeof req.method !== "string") {
        throw new RpcError(RPC.INVALID_REQUEST, "Method must be a string");
      }
      const method = Object.hasOwn(this.methods, req.method) ? this.methods[req.method] : undefined;
      if (!method) throw new RpcError(RPC.METHOD_NOT_FOUND, "Method not found");
      const params = toPositional(method, req.params);
      if (params.length > method.params.length) {
        throw new RpcError(
          RPC.MISC_ERROR,
          `${req.method} takes at most ${method.params.length} parameters (${
            method.params.join(", ") || "none"
          })`,
        );
      }
      if (params.length < (method.required ?? 0)) {
        // bitcoind answers a missing required argument with the method's help text (-1).
        throw new RpcError(RPC.MISC_ERROR, usage(req.method, method));
      }
      const result = (await method.run(this.ctx, params)) ?? null;
      if (notification) return { body: undefined, status: 204 };
      return {
        body: v2 ? { jsonrpc: "2.0", result, id } : { result, error: null, id },
        status: 200,
      };
    } catch (e) {
      const error = e instanceof RpcError
        ? errorObject(e.code, e.message)
        : errorObject(RPC.MISC_ERROR, e instanceof Error ? e.message : String(e));
      if (notification) return { body: undefined, status: 204 };
      if (v2) return { body: { jsonrpc: "2.0", error, id }, status: 200 };
      return { body: { result: null, error, id }, status: legacyStatus(error.code as number) };
    }
  }
}
