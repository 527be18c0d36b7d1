/** Worker entry of the CPU miner: a MiningLoop fed by postMessage. */

import { MiningLoop, type MiningReport, type WorkOrder } from "./mining_loop.ts";

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<WorkOrder>) => void) | null;
  postMessage: (m: MiningReport) => void;
};
const loop = new MiningLoop((report) => scope.postMessage(report));
scope.onmessage = (e: MessageEvent<WorkOrder>) => loop.setOrder(e.data);
