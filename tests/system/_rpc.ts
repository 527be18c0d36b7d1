/** JSON-RPC to a region's Bitcoin node (stand-in or bitcoind), errors thrown with the method. */

import type { RegionEndpoints } from "../../lib/harness/system.ts";

export async function nodeRpc<T>(
  region: Pick<RegionEndpoints, "name" | "rpc">,
  method: string,
  params: unknown[] = [],
): Promise<T> {
  const { url, user, password } = region.rpc;
  const response = await fetch(url, {
    method: "POST",
    headers: { authorization: `Basic ${btoa(`${user}:${password}`)}` },
    body: JSON.stringify({ jsonrpc: "1.0", id: "system", method, params }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = await response.json() as { result: T; error: unknown };
  if (body.error) throw new Error(`${region.name} ${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}
