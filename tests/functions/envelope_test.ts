import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { decodeEnvelope, subjectFor, validateEnvelope } from "../../functions/lib/envelope.ts";
import { uuidv7 } from "../../functions/lib/uuid.ts";

const valid = () => ({
  event_id: uuidv7(),
  event: "share_submitted",
  ts: 1716556800123456,
  source: "hosted",
  region: "us-east",
  pool_instance: "ckpool-relay-us",
  boot_id: crypto.randomUUID(),
  seq: 1234,
  data: { accepted: true },
});

Deno.test("envelope: a valid envelope passes and maps to its subject", () => {
  const result = validateEnvelope(valid());
  assertEquals(result.ok, true);
  if (result.ok) assertEquals(subjectFor(result.envelope), "mining.events.us-east.share_submitted");
});

Deno.test("envelope: each violation names the field", () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ event_id: crypto.randomUUID() }, "event_id must be a lower-case UUIDv7"],
    [{ event_id: uuidv7().toUpperCase() }, "event_id must be a lower-case UUIDv7"],
    [{ event: "share-submitted" }, "event 'share-submitted' is not a known event type"],
    [{ event: 3 }, "event must be a string"],
    [{ ts: 1716556800123.5 }, "ts must be an integer (microseconds)"],
    [{ ts: 1716556800123 }, "ts must be microseconds since the epoch between 2001 and 2100"],
    [{ source: "relay" }, "source must be 'hosted'"],
    [{ region: "us.east" }, "region must match [a-z0-9][a-z0-9_-]{0,62} (a NATS subject token)"],
    [{ region: "*" }, "region must match [a-z0-9][a-z0-9_-]{0,62} (a NATS subject token)"],
    [{ pool_instance: "" }, "pool_instance must match [A-Za-z0-9][A-Za-z0-9_.:-]{0,127}"],
    [{ boot_id: "nope" }, "boot_id must be a lower-case UUID"],
    [{ seq: -1 }, "seq must be a non-negative integer"],
    [{ seq: "1" }, "seq must be a non-negative integer"],
    [{ data: [] }, "data must be a JSON object"],
    [{ extra: 1 }, "unknown field 'extra'"],
  ];
  for (const [patch, reason] of cases) {
    assertEquals(validateEnvelope({ ...valid(), ...patch }), { ok: false, reason });
  }
  const missing: Record<string, unknown> = valid();
  delete missing.seq;
  assertEquals(validateEnvelope(missing), { ok: false, reason: "missing field 'seq'" });
  assertEquals(validateEnvelope([]), { ok: false, reason: "envelope must be a JSON object" });
});

Deno.test("envelope: datagram decoding rejects bad UTF-8 and bad JSON", () => {
  assertEquals(decodeEnvelope(new Uint8Array([0xc3, 0x28])).ok, false);
  const r = decodeEnvelope(new TextEncoder().encode("{"));
  assertEquals(r.ok === false && r.reason.startsWith("payload is not JSON"), true);
  assertEquals(decodeEnvelope(new TextEncoder().encode(JSON.stringify(valid()))).ok, true);
});
