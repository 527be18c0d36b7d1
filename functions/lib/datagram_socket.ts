/**
 * The engine's event socket: a SOCK_DGRAM Unix socket bound by the consumer
 * (publisher, or collector in single-instance mode). A stale socket file left
 * by a previous run is removed; any other file at the path is an error.
 * Needs `--unstable-net`.
 */

export interface DatagramBatcher {
  /**
   * Takes everything received since the last call; waits while nothing is
   * there. Empty once closed; rejects with the receive error once receiving
   * failed (after handing out what was queued before it).
   */
  next(): Promise<Uint8Array[]>;
  close(): void;
  readonly path: string;
}

/** Removes `path` when it is a socket; throws naming the path when it is anything else. */
export async function removeStaleSocket(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  if (!info.isSocket) {
    throw new Error(`socket path ${path} exists and is not a socket; refusing to remove it`);
  }
  await Deno.remove(path);
}

/** The engine never sends a datagram larger than this (docs/events.md: oversize is dropped). */
export const MAX_DATAGRAM = 65_536;
/** Datagrams are received back to back into arenas of this size (one allocation per ~3,000). */
const ARENA_BYTES = 1 << 20;

/**
 * Binds `path` and receives datagrams continuously into a queue, so the
 * kernel buffer drains while the consumer is busy (fsync, database writes).
 * `maxQueued` bounds memory: beyond it the receiver pauses and the kernel
 * buffer (and then the engine's own queue) absorbs the burst.
 *
 * Each datagram is a view into a shared arena rather than its own buffer:
 * `receive()` without a buffer allocates 64 KiB per datagram, which made
 * garbage collection the largest cost of the publisher.
 */
export async function bindDatagramSocket(
  path: string,
  maxQueued = 100_000,
  listen: (options: Deno.UnixListenOptions & { transport: "unixpacket" }) => Deno.DatagramConn =
    Deno.listenDatagram,
): Promise<DatagramBatcher> {
  const dir = path.replace(/\/[^/]*$/, "");
  if (dir !== path && dir !== "") await Deno.mkdir(dir, { recursive: true });
  await removeStaleSocket(path);
  const socket = listen({ transport: "unixpacket", path });
  let queue: Uint8Array[] = [];
  let arena = new Uint8Array(ARENA_BYTES);
  let used = 0;
  let wakeConsumer: (() => void) | undefined;
  let wakeReceiver: (() => void) | undefined;
  let closed = false;
  let failure: Error | undefined;

  const receive = async () => {
    while (!closed) {
      if (queue.length >= maxQueued) {
        await new Promise<void>((resolve) => (wakeReceiver = resolve));
        continue;
      }
      if (ARENA_BYTES - used < MAX_DATAGRAM) {
        arena = new Uint8Array(ARENA_BYTES);
        used = 0;
      }
      let datagram: Uint8Array;
      try {
        [datagram] = await socket.receive(arena.subarray(used, used + MAX_DATAGRAM));
        used += datagram.length;
      } catch (error) {
        if (closed) break;
        // Ingest cannot continue: surface it to the consumer (never swallow it).
        failure = error instanceof Error ? error : new Error(String(error));
        const wake = wakeConsumer;
        wakeConsumer = undefined;
        wake?.();
        return;
      }
      queue.push(datagram);
      const wake = wakeConsumer;
      wakeConsumer = undefined;
      wake?.();
    }
  };
  const receiving = receive();
  receiving.catch(() => {});

  return {
    path,
    async next() {
      while (queue.length === 0 && !closed && failure === undefined) {
        await new Promise<void>((resolve) => (wakeConsumer = resolve));
      }
      if (queue.length === 0 && failure !== undefined && !closed) {
        throw new Error(`datagram socket ${path}: receive failed: ${failure.message}`, {
          cause: failure,
        });
      }
      const batch = queue;
      queue = [];
      const wake = wakeReceiver;
      wakeReceiver = undefined;
      wake?.();
      return batch;
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        socket.close();
      } catch {
        // already closed
      }
      wakeConsumer?.();
      wakeReceiver?.();
      try {
        Deno.removeSync(path);
      } catch {
        // gone already
      }
    },
  };
}
