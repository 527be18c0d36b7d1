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

Deno.test("envelope: data PostgreSQL cannot store as jsonb is rejected", () => {
  const encode = (dataJson: string) => {
    const base = JSON.stringify({ ...valid(), data: {} });
    return new TextEncoder().encode(base.replace('"data":{}', `"data":${dataJson}`));
  };
  const reasons: Array<[string, string]> = [
    ['{"s":"a\\u0000b"}', "data.s contains a NUL character (\\u0000)"],
    ['{"a\\u0000":1}', "data key 'a\\u0000' contains a NUL character (\\u0000)"],
    ['{"s":"\\ud800"}', "data.s contains a lone UTF-16 surrogate"],
    ['{"l":[1,{"s":"x\\udc00"}]}', "data.l[1].s contains a lone UTF-16 surrogate"],
    ['{"n":1e1000000}', "data.n is a number out of range"],
    ['{"n":[-1e1000000]}', "data.n[0] is a number out of range"],
  ];
  for (const [data, reason] of reasons) {
    assertEquals(decodeEnvelope(encode(data)), { ok: false, reason });
  }
  let deep = "1";
  for (let i = 0; i < 100; i++) deep = `[${deep}]`;
  assertEquals(decodeEnvelope(encode(`{"d":${deep}}`)).ok, false);
  // A valid surrogate pair, other control characters and big finite numbers stay valid.
  assertEquals(decodeEnvelope(encode('{"s":"\\ud83d\\ude00\\u0001","n":1e300}')).ok, true);
});
