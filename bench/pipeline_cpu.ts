/**
 * CPU seconds (user + system) of process trees from /proc, so the bench can
 * say what each component costs per event (Linux only; empty elsewhere).
 */

const TICKS_PER_SECOND = 100;

interface Proc {
  ppid: number;
  ticks: number;
}

function readProcs(): Map<number, Proc> {
  const procs = new Map<number, Proc>();
  try {
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        // fields[0] is state (field 3); ppid is field 4, utime 14, stime 15.
        procs.set(Number(entry.name), {
          ppid: Number(fields[1]),
          ticks: Number(fields[11]) + Number(fields[12]),
        });
      } catch {
        // exited meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return procs;
}

/** CPU seconds of each named tree (the root pid and its live descendants). */
export function cpuSeconds(roots: Record<string, number>): Record<string, number> {
  const procs = readProcs();
  const children = new Map<number, number[]>();
  for (const [pid, p] of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  const out: Record<string, number> = {};
  for (const [name, root] of Object.entries(roots)) {
    let ticks = 0;
    const stack = [root];
    while (stack.length > 0) {
      const pid = stack.pop()!;
      ticks += procs.get(pid)?.ticks ?? 0;
      stack.push(...(children.get(pid) ?? []));
    }
    out[name] = ticks / TICKS_PER_SECOND;
  }
  return out;
}
