/**
 * The engine's event socket: a SOCK_DGRAM Unix socket bound by the consumer
 * (publisher, or collector in single-instance mode). A stale socket file left
 * by a previous run is removed; any other file at the path is an error.
 * Needs `--unstable-net`.
 */

export interface DatagramBatcher {
  /** Takes everything received since the last call; waits while nothing is there. */
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

/**
 * Binds `path` and receives datagrams continuously into a queue, so the
 * kernel buffer drains while the consumer is busy (fsync, database writes).
 * `maxQueued` bounds memory: beyond it the receiver pauses and the kernel
 * buffer (and then the engine's own queue) absorbs the burst.
 */
export async function bindDatagramSocket(
  path: string,
  maxQueued = 100_000,
): Promise<DatagramBatcher> {
  const dir = path.replace(/\/[^/]*$/, "");
  if (dir !== path && dir !== "") await Deno.mkdir(dir, { recursive: true });
  await removeStaleSocket(path);
  const socket = Deno.listenDatagram({ transport: "unixpacket", path });
  let queue: Uint8Array[] = [];
  let wakeConsumer: (() => void) | undefined;
  let wakeReceiver: (() => void) | undefined;
  let closed = false;

  const receive = async () => {
    while (!closed) {
      if (queue.length >= maxQueued) {
        await new Promise<void>((resolve) => (wakeReceiver = resolve));
        continue;
      }
      let datagram: Uint8Array;
      try {
        [datagram] = await socket.receive();
      } catch (error) {
        if (closed) break;
        throw error;
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
      while (queue.length === 0 && !closed) {
        await new Promise<void>((resolve) => (wakeConsumer = resolve));
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
