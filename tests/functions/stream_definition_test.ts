/** functions/lib/stream.json is the one stream definition: it parses, and bad input names the field. */

import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import {
  parseStreamDefinition,
  STREAM_MAX_BYTES,
  STREAM_SPEC,
  StreamConfigError,
} from "../../functions/lib/stream.ts";

const FILE = new URL("../../functions/lib/stream.json", import.meta.url);

Deno.test("stream.json: the functions' spec is the file's content", async () => {
  const raw = JSON.parse(await Deno.readTextFile(FILE));
  assertEquals(STREAM_SPEC, raw.stream);
  assertEquals([STREAM_MAX_BYTES, STREAM_SPEC.discard], [1024 ** 3, "old"]);
});

Deno.test("stream.json: a wrong field gets an error that names it", async () => {
  const raw = JSON.parse(await Deno.readTextFile(FILE));
  const broken = (path: "stream" | "consumer", key: string, value: unknown) => ({
    ...raw,
    [path]: { ...raw[path], [key]: value },
  });
  throws(
    () => parseStreamDefinition(broken("stream", "max_bytes", "1GB")),
    (e: Error) =>
      e instanceof StreamConfigError && /stream\.json\.stream\.max_bytes must be/.test(e.message),
  );
  throws(
    () => parseStreamDefinition(broken("stream", "discard", "oldest")),
    /stream\.discard must be one of old\|new, got "oldest"/,
  );
  throws(
    () => parseStreamDefinition(broken("stream", "subjects", ["other.>"])),
    /subjects must include 'mining\.events\.>'/,
  );
  throws(
    () => parseStreamDefinition(broken("consumer", "ack_policy", "none")),
    /consumer\.ack_policy must be 'explicit'/,
  );
  throws(() => parseStreamDefinition([]), /stream\.json must be an object/);
});
