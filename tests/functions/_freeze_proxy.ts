/**
 * A TCP proxy that can freeze: while frozen it keeps every connection open
 * but forwards nothing either way, like a half-open connection or a peer that
 * stopped answering.
 */

export interface FreezeProxy {
  readonly port: number;
  freeze(): void;
  thaw(): void;
  close(): void;
}

export function startFreezeProxy(targetPort: number, targetHost = "127.0.0.1"): FreezeProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let gate: Promise<void> = Promise.resolve();
  let open: (() => void) | undefined;
  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        await gate;
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch {
      // closed
    }
    for (const c of [from, to]) {
      if (conns.delete(c)) c.close();
    }
  };
  void (async () => {
    try {
      for await (const conn of listener) {
        const upstream = await Deno.connect({ hostname: targetHost, port: targetPort }).catch(
          () => undefined,
        );
        if (upstream === undefined) {
          conn.close();
          continue;
        }
        conns.add(conn).add(upstream);
        void pump(conn, upstream);
        void pump(upstream, conn);
      }
    } catch {
      // listener closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    freeze() {
      if (open === undefined) gate = new Promise((resolve) => (open = resolve));
    },
    thaw() {
      open?.();
      open = undefined;
    },
    close() {
      this.thaw();
      listener.close();
      for (const c of conns) c.close();
      conns.clear();
    },
  };
}
