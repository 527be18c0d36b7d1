/**
 * `deno task stack -- <command>`: steers a running `deno task up` through its
 * control socket (see docs/operations.md).
 *
 *   status               the service table: state, pid, restarts, uptime
 *   stop NAME            stop a service; it stays down until `start NAME`
 *   start NAME           start a stopped (or failed) service, wait until ready
 *   restart NAME         stop and start a service
 *   logs NAME [-n N]     the last N (40) lines of a service's log
 *
 * The stack is found by its data dir: `--dir DIR`, else TBG_STACK_DIR, else
 * <repo>/.data/stack (the same default as `up`).
 */

import { formatTable } from "../supervisor/table.ts";
import { control } from "./client.ts";
import { controlSocketPath } from "./path.ts";
import { COMMANDS, type ControlRequest, DEFAULT_LOG_LINES } from "./protocol.ts";

const USAGE = `usage: deno task stack -- <command> [NAME] [--dir DIR]
  status             the service table (state, pid, restarts, uptime)
  stop NAME          stop NAME; the supervisor leaves it down until \`start NAME\`
  start NAME         start NAME and wait until it is ready
  restart NAME       stop and start NAME
  logs NAME [-n N]   the last N lines (default ${DEFAULT_LOG_LINES}) of NAME's log
the stack is found by --dir, TBG_STACK_DIR or <repo>/.data/stack`;

export interface CliArgs {
  request: ControlRequest;
  stackDir: string | null;
}

class UsageError extends Error {}

/** Parses the command line; throws a UsageError naming the bad argument. */
export function parseCliArgs(args: readonly string[]): CliArgs {
  const positional: string[] = [];
  let stackDir: string | null = null;
  let lines = DEFAULT_LOG_LINES;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") continue;
    if (arg === "--dir" || arg === "-n") {
      const value = args[++i];
      if (value === undefined) throw new UsageError(`stack: ${arg} needs a value`);
      if (arg === "--dir") stackDir = value;
      else {
        lines = Number(value);
        if (!/^\d+$/.test(value) || lines < 1) {
          throw new UsageError(`stack: -n must be a positive integer (got "${value}")`);
        }
      }
    } else if (arg.startsWith("-")) throw new UsageError(`stack: unknown option "${arg}"`);
    else positional.push(arg);
  }
  const [command, name, ...extra] = positional;
  if (command === undefined) throw new UsageError("stack: no command given");
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new UsageError(`stack: unknown command "${command}" (known: ${COMMANDS.join(", ")})`);
  }
  if (command === "status") {
    if (name !== undefined) throw new UsageError(`stack: status takes no argument (got "${name}")`);
    return { request: { command }, stackDir };
  }
  if (name === undefined) throw new UsageError(`stack: ${command} needs a service name`);
  if (extra.length > 0) throw new UsageError(`stack: unexpected argument "${extra[0]}"`);
  const request: ControlRequest = command === "logs"
    ? { command, name, lines }
    : { command: command as "stop" | "start" | "restart", name };
  return { request, stackDir };
}

function absolute(dir: string): string {
  return (dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`).replace(/\/+$/, "");
}

function defaultStackDir(): string {
  const repoRoot = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  return absolute(Deno.env.get("TBG_STACK_DIR") ?? `${repoRoot}/.data/stack`);
}

async function main(): Promise<number> {
  let parsed: CliArgs;
  try {
    if (Deno.args.includes("-h") || Deno.args.includes("--help")) {
      console.log(USAGE);
      return 0;
    }
    parsed = parseCliArgs(Deno.args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n${USAGE}`);
    return 2;
  }
  const stackDir = parsed.stackDir ? absolute(parsed.stackDir) : defaultStackDir();
  const response = await control(controlSocketPath(stackDir), parsed.request);
  if (parsed.request.command === "logs") {
    console.log(`==> ${response.services[0].logPath} <==`);
    console.log(response.log ?? "");
    return 0;
  }
  if (response.message) console.log(response.message);
  console.log(formatTable(response.services));
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
}
