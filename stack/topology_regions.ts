/** The three regions of the mining network (ARCHITECTURE.md section 5) as data. */

export type RegionName = "eu" | "us-east" | "asia";

export interface Region {
  name: RegionName;
  /** The primary builds templates and pushes them to the relays. */
  role: "primary" | "relay";
  /** Position in the port scheme: region ports live at base + 1000 * (index + 1). */
  index: number;
  /** One-way latency to eu and its jitter, for the latency bridges. */
  latencyMs: number;
  jitterMs: number;
  /** Its services' names in compose.yaml (the product brief's names). */
  compose: ComposeNames;
}

export interface ComposeNames {
  engine: string;
  node: string;
  publisher: string;
  /** compose.private-signet.yaml only. */
  demoMiner: string;
}

function composeNames(suffix: string): ComposeNames {
  return {
    engine: `ckpool-${suffix}`,
    node: `bitcoind-${suffix}`,
    publisher: `nats-publisher-${suffix}`,
    demoMiner: `demo-miner-${suffix}`,
  };
}

export const REGIONS: readonly Region[] = [
  {
    name: "eu",
    role: "primary",
    index: 0,
    latencyMs: 0,
    jitterMs: 0,
    compose: composeNames("primary"),
  },
  {
    name: "us-east",
    role: "relay",
    index: 1,
    latencyMs: 25,
    jitterMs: 5,
    compose: composeNames("relay-us"),
  },
  {
    name: "asia",
    role: "relay",
    index: 2,
    latencyMs: 75,
    jitterMs: 10,
    compose: composeNames("relay-asia"),
  },
];

/** Parses a comma-separated region list (`TBG_STACK_REGIONS`); eu, the primary, is required. */
export function parseRegions(list: string, source = "TBG_STACK_REGIONS"): Region[] {
  const names = list.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const regions: Region[] = [];
  for (const name of names) {
    const region = REGIONS.find((r) => r.name === name);
    if (!region) {
      const known = REGIONS.map((r) => r.name).join(", ");
      throw new Error(`${source}: unknown region "${name}" (known: ${known})`);
    }
    if (!regions.includes(region)) regions.push(region);
  }
  if (!regions.some((r) => r.role === "primary")) {
    throw new Error(`${source}: must include the primary region "eu" (got "${list}")`);
  }
  return regions.sort((a, b) => a.index - b.index);
}
