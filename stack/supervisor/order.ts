/** Start order from declared dependencies: levels of services whose dependencies are all earlier. */

import type { ServiceSpec } from "./types.ts";

/**
 * Groups `services` into levels: every service's dependencies sit in earlier
 * levels, so a level can start in parallel once the previous one is ready.
 * Throws naming the service on a duplicate name, an unknown dependency or a cycle.
 */
export function startLevels(services: readonly ServiceSpec[]): ServiceSpec[][] {
  const byName = new Map<string, ServiceSpec>();
  for (const spec of services) {
    if (byName.has(spec.name)) {
      throw new Error(`topology: service name "${spec.name}" is used twice`);
    }
    byName.set(spec.name, spec);
  }
  for (const spec of services) {
    for (const dep of spec.dependsOn) {
      if (!byName.has(dep)) {
        throw new Error(`topology: service "${spec.name}" depends on unknown service "${dep}"`);
      }
    }
  }
  const placed = new Set<string>();
  const levels: ServiceSpec[][] = [];
  while (placed.size < services.length) {
    const level = services.filter((s) =>
      !placed.has(s.name) && s.dependsOn.every((dep) => placed.has(dep))
    );
    if (level.length === 0) {
      const stuck = services.filter((s) => !placed.has(s.name)).map((s) => s.name);
      throw new Error(`topology: dependency cycle among services ${stuck.join(", ")}`);
    }
    for (const spec of level) placed.add(spec.name);
    levels.push(level);
  }
  return levels;
}
