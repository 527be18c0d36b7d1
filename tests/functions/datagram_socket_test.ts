import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { bindDatagramSocket } from "../../functions/lib/datagram_socket.ts";
import { requires } from "../harness/permissions.ts";

requires({
  name: "datagram socket: a receive error reaches the consumer instead of stopping ingest silently",
  permissions: ["read", "write"],
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      let calls = 0;
      const fake = {
        receive(buf: Uint8Array): Promise<[Uint8Array, Deno.Addr]> {
          calls++;
          if (calls === 1) {
            buf.set([1, 2, 3]);
            return Promise.resolve([buf.subarray(0, 3), { transport: "unixpacket", path: "" }]);
          }
          return Promise.reject(new Error("ENOBUFS"));
        },
        close() {},
      } as unknown as Deno.DatagramConn;
      const batcher = await bindDatagramSocket(`${dir}/e.sock`, 100, () => fake);
      // What was received before the failure is handed out first.
      let first = await batcher.next();
      if (first.length === 0) first = await batcher.next();
      assertEquals(first.map((d) => [...d]), [[1, 2, 3]]);
      let error: unknown;
      try {
        await batcher.next();
      } catch (e) {
        error = e;
      }
      assertEquals(String((error as Error)?.message).includes("ENOBUFS"), true);
      batcher.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
