/**
 * The miner's page in a real browser: the miner API runs as its own process
 * (main.ts, task permissions) on collector-written rows, headless Chromium
 * loads the page for an address, the test waits until the page says its
 * figures are in, then checks every shown figure against the API's answer
 * (the raw value in data-value, and the text a person reads) and saves a
 * screenshot, whose path it prints.
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { waitFor } from "../../lib/ports.ts";
import { PAGE_ROWS } from "../../functions/miner-api/page.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { Browser, chromiumInstalled } from "./_chromium.ts";
import {
  ADDRESS_A,
  ADDRESS_B,
  ADDRESS_UNKNOWN,
  startMinerApi,
  startMinerWorld,
} from "./_miner_api.ts";
import { ROOT } from "../../lib/harness/functions.ts";

interface ShownCell {
  field: string;
  value: unknown;
  text: string;
}

const PREFIX = ["", "k", "M", "G", "T", "P", "E", "Z"];

/** "14.3 GH/s" -> 1.43e10; "700 k" -> 7e5 (the page shows 3 significant digits). */
function parseSi(text: string, unit: string): number {
  const m = new RegExp(`^(\\d+(?:\\.\\d+)?)(?: ([kMGTPEZ]?)${unit.replace("/", "\\/")})?$`)
    .exec(text);
  if (!m) throw new Error(`'${text}' is not a figure in ${unit || "plain units"}`);
  return Number(m[1]) * 1000 ** PREFIX.indexOf(m[2] ?? "");
}

function at(obj: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>(
    (o, k) => (o === null || o === undefined ? o : (o as Record<string, unknown>)[k]),
    obj,
  );
}

/** Asserts that what a cell shows is `expected`, in the page's format for its field. */
function checkCell(cell: ShownCell, expected: unknown, where: string): void {
  assertEquals(cell.value, expected, `${where} ${cell.field} value`);
  const text = cell.text;
  const field = cell.field;
  if (field.startsWith("hashrate.") || field.startsWith("best_share.")) {
    const unit = field.startsWith("hashrate.") ? "H/s" : "";
    if (expected === null) return assertEquals(text, "–");
    const shown = parseSi(text, unit);
    const want = expected as number;
    ok(
      Math.abs(shown - want) <= Math.abs(want) * 0.005,
      `${where} ${field}: shows '${text}', the API says ${want}`,
    );
  } else if (field.endsWith("_at")) {
    assertEquals(
      text,
      expected === null ? "–" : `${(expected as string).slice(0, 19).replace("T", " ")} UTC`,
    );
  } else if (field === "regions_24h") {
    assertEquals(text, (expected as string[]).join(", "));
  } else if (typeof expected === "number") {
    assertEquals(text, String(expected), `${where} ${field} text`);
  } else if (typeof expected === "string" || expected === null) {
    assertEquals(text, expected === null || expected === "" ? "–" : expected, `${where} ${field}`);
  }
}

/** Waits (bounded) until the new page has left `loading`; returns its state. */
function waitForState(browser: Browser, what: string): Promise<string> {
  return waitFor(
    () =>
      browser.evaluate<string>(
        "window.__tbgLeft || !document.body ? '' : document.body.dataset.state",
      )
        .then((s) => (s && s !== "loading" ? s : undefined)),
    { timeoutMs: 60_000, intervalMs: 100, what },
  );
}

const CELLS = (selector: string) =>
  `[...document.querySelectorAll(${JSON.stringify(selector)})].map((tr) =>
     [...tr.querySelectorAll("td")].map((td) =>
       ({ field: td.dataset.field, value: JSON.parse(td.dataset.value), text: td.textContent })))`;

requires({
  name: "miner api page: headless Chromium shows the API's figures for an address",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (!chromiumInstalled()) {
      throw new Error("chromium is not installed: run `deno task bootstrap` (stack/bootstrap.ts)");
    }
    const world = await startMinerWorld(new Date());
    const dir = await Deno.makeTempDir({ prefix: "tbg-miner-page-" });
    let browser: Browser | undefined;
    let api: Awaited<ReturnType<typeof startMinerApi>> | undefined;
    try {
      // A long TTL: the page and this test read the same cached answers.
      api = await startMinerApi(world, { MINER_API_CACHE_TTL: "600" }, `${dir}/miner-api.log`);
      const base = `http://127.0.0.1:${api.port}`;
      browser = await Browser.launch();
      await browser.navigate(`${base}/miners/${ADDRESS_A}`);
      assertEquals(await waitForState(browser, "the page to render its figures"), "ready");
      const shown = await browser.evaluate<{
        summary: ShownCell[][];
        workers: ShownCell[][];
        blocks: ShownCell[][];
      }>(`({ summary: ${CELLS("#summary tr")}, workers: ${CELLS("#workers tr")},
            blocks: ${CELLS("#blocks tr")} })`);

      const getJson = async (path: string) => await (await fetch(`${base}${path}`)).json();
      const summary = await getJson(`/api/v1/miners/${ADDRESS_A}`);
      const workers = await getJson(
        `/api/v1/miners/${ADDRESS_A}/workers?limit=${PAGE_ROWS}&offset=0`,
      );
      const blocks = await getJson(
        `/api/v1/miners/${ADDRESS_A}/blocks?limit=${PAGE_ROWS}&offset=0`,
      );

      const summaryCells = shown.summary.map((row) => row[0]);
      assertEquals(summaryCells.map((c) => c.field), [
        "hashrate.1m",
        "hashrate.1h",
        "hashrate.24h",
        "shares.accepted",
        "shares.rejected",
        "best_share.week",
        "best_share.ever",
        "blocks_found",
        "last_share_at",
        "region",
        "regions_24h",
        "workers",
      ]);
      for (const cell of summaryCells) checkCell(cell, at(summary, cell.field), "summary");
      // The world's recent shares make these non-zero: a page of zeros would prove little.
      ok(summary.hashrate["1m"] > 0 && summary.shares.accepted > 0 && summary.blocks_found > 0);

      assertEquals(shown.workers.length, workers.workers.length);
      assertEquals(shown.workers.length, 3);
      shown.workers.forEach((row, i) => {
        for (const cell of row) checkCell(cell, at(workers.workers[i], cell.field), `worker ${i}`);
      });
      assertEquals(shown.blocks.length, blocks.blocks.length);
      assertEquals(shown.blocks.length, 3);
      shown.blocks.forEach((row, i) => {
        const heights = row.find((c) => c.field === "height")!;
        assertEquals(heights.value, blocks.blocks[i].height);
        for (const cell of row) assertEquals(cell.value, at(blocks.blocks[i], cell.field));
      });

      const artifacts = `${ROOT}.data/test-artifacts`;
      await Deno.mkdir(artifacts, { recursive: true });
      const screenshot = `${artifacts}/miner-api-page.png`;
      await browser.screenshot(screenshot);
      const size = (await Deno.stat(screenshot)).size;
      ok(size > 10_000, `screenshot is ${size} bytes`);
      console.log(`miner page screenshot: ${screenshot} (${size} bytes)`);

      // Paging in the page: B's seven workers three at a time, through "next".
      await browser.navigate(`${base}/miners/${ADDRESS_B}?rows=3`);
      assertEquals(await waitForState(browser, "the paged page"), "ready");
      const pages: string[][] = [];
      for (const offset of [0, 3, 6]) {
        if (offset > 0) {
          await browser.evaluate("document.getElementById('workers-next').click()");
        }
        await waitFor(
          () =>
            browser!.evaluate<string>("document.getElementById('workers').dataset.offset")
              .then((o) => o === String(offset)),
          { timeoutMs: 60_000, intervalMs: 100, what: `the workers page at offset ${offset}` },
        );
        const rows: ShownCell[][] = await browser.evaluate(CELLS("#workers tr"));
        const api = await getJson(`/api/v1/miners/${ADDRESS_B}/workers?limit=3&offset=${offset}`);
        rows.forEach((row, i) => {
          for (const cell of row) checkCell(cell, at(api.workers[i], cell.field), `B worker ${i}`);
        });
        pages.push(rows.map((row) => row[0].value as string));
        const info: string = await browser.evaluate(
          "document.getElementById('workers-page').textContent",
        );
        assertEquals(info, `${offset + 1}–${offset + rows.length} of 7`);
      }
      assertEquals(pages, [["w1", "w2", "w3"], ["w4", "w5", "w6"], ["w7"]]);
      assertEquals(
        await browser.evaluate<boolean[]>(
          "['workers-prev', 'workers-next'].map((id) => document.getElementById(id).disabled)",
        ),
        [false, true],
      );

      // An address that never mined: the page says so.
      await browser.navigate(`${base}/miners/${ADDRESS_UNKNOWN}`);
      assertEquals(await waitForState(browser, "the unknown address's page"), "not-found");
      const message = await browser.evaluate<string>(
        "document.getElementById('message').textContent",
      );
      assertEquals(message, `no shares recorded for address '${ADDRESS_UNKNOWN}'`);
    } catch (error) {
      const log = api ? `\nminer-api log:\n${api.proc.log().slice(-3000)}` : "";
      throw new Error(`${(error as Error).message}${log}`);
    } finally {
      await browser?.close();
      await api?.proc.stop();
      await world.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
