/** A throwaway nats-server with JetStream on 127.0.0.1 for tests. */

import { NATS_STOP_SIGNAL, natsCommand, natsReady } from "../../stack/supervisor/native/nats.ts";
import { launchService, type ServiceHandle, withPort } from "./service.ts";

export interface NatsOptions {
  /** JetStream store directory; a temp dir (removed on stop) when omitted. */
  storeDir?: string;
  /** Client port; a free one when omitted. */
  port?: number;
}

export interface NatsServer extends ServiceHandle {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
}

export function startNats(options: NatsOptions = {}): Promise<NatsServer> {
  return withPort(options.port, async (port) => {
    const tmp = await Deno.makeTempDir({ prefix: "tbg-nats-" });
    const storeDir = options.storeDir ?? `${tmp}/store`;
    await Deno.mkdir(storeDir, { recursive: true });
    const layout = { storeDir, port };
    const handle = await launchService({
      name: "nats-server",
      command: () => natsCommand(layout),
      ready: natsReady(layout),
      stopSignal: NATS_STOP_SIGNAL,
      logPath: `${tmp}/nats-server.log`,
      ownedDirs: [tmp],
    });
    return Object.assign(handle, { url: `nats://127.0.0.1:${port}`, port, storeDir });
  });
}
