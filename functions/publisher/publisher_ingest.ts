/**
 * The publisher's per-batch decisions, pure: which datagrams go to the spool
 * (valid envelopes of this region, keyed by subject and event_id) and which to
 * the dead-letter file, and how many fill warnings the spool has crossed.
 */

import { decodeEnvelope, subjectFor } from "../lib/envelope.ts";
import type { DeadLetter } from "./deadletter.ts";
import type { SpoolEntry } from "./spool_record.ts";

export interface SortedBatch {
  entries: SpoolEntry[];
  letters: DeadLetter[];
}

export function sortDatagrams(datagrams: Uint8Array[], region: string): SortedBatch {
  const entries: SpoolEntry[] = [];
  const letters: DeadLetter[] = [];
  for (const payload of datagrams) {
    const decoded = decodeEnvelope(payload);
    if (!decoded.ok) {
      letters.push({ reason: decoded.reason, payload });
      continue;
    }
    const { envelope } = decoded;
    if (envelope.region !== region) {
      letters.push({
        reason: `region '${envelope.region}' does not match REGION '${region}'`,
        payload,
      });
      continue;
    }
    entries.push({ subject: subjectFor(envelope), msgId: envelope.event_id, payload });
  }
  return { entries, letters };
}

/** Fill ratios at which the publisher logs a warning as the spool grows. */
export const FILL_WARNINGS = [0.5, 0.8, 0.95];

/** How many of FILL_WARNINGS `ratio` has reached (0..3). */
export function fillLevel(ratio: number): number {
  return FILL_WARNINGS.filter((t) => ratio >= t).length;
}
