/**
 * Regtest Bitcoin node entry point, started like bitcoind:
 *   deno run --allow-net --allow-read --allow-write stack/regtest/main.ts -regtest \
 *     -rpcport=N -rpcuser=U -rpcpassword=P -datadir=DIR [-port=P] [-addnode=H:P ...]
 * Exits 1 on bad flags or startup failure, 0 after SIGTERM/SIGINT or the stop RPC.
 */
import { ArgsError, parseArgs, USAGE } from "./args.ts";
import { RegtestNode, StartupError } from "./node.ts";

async function main(): Promise<number> {
  let config;
  try {
    config = parseArgs(Deno.args);
  } catch (error) {
    if (!(error instanceof ArgsError)) throw error;
    const msg = error.message.startsWith("Error") ? error.message : `Error: ${error.message}`;
    console.error(msg);
    return 1;
  }
  if (config === "help") {
    console.log(USAGE);
    return 0;
  }
  let node: RegtestNode;
  try {
    node = await RegtestNode.start(config);
  } catch (error) {
    if (!(error instanceof StartupError)) throw error;
    console.error(`Error: ${error.message}`);
    return 1;
  }
  const onSignal = () => void node.shutdown();
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  await node.done;
  Deno.removeSignalListener("SIGTERM", onSignal);
  Deno.removeSignalListener("SIGINT", onSignal);
  return 0;
}

Deno.exit(await main());
