/**
 * Headless Chromium (Debian's `chromium` package) driven over the DevTools
 * protocol on a WebSocket: one page, navigate, evaluate, screenshot. No
 * browser download and no client library: the protocol is JSON messages
 * `{id, method, params, sessionId}` answered by `{id, result | error}`.
 */

import { waitFor } from "../../lib/ports.ts";
import { type ManagedProcess, spawnManaged } from "../../lib/process.ts";

export const CHROMIUM = "/usr/bin/chromium";

export function chromiumInstalled(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

interface Pending {
  resolve(result: Record<string, unknown>): void;
  reject(error: Error): void;
  method: string;
}

export class Browser {
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #session = "";

  private constructor(
    private readonly proc: ManagedProcess,
    private readonly ws: WebSocket,
    readonly dir: string,
  ) {
    ws.onmessage = (event) => {
      const message = JSON.parse(String(event.data));
      const pending = this.#pending.get(message.id);
      if (!pending) return; // an event; this client only waits on conditions
      this.#pending.delete(message.id);
      if (message.error) {
        pending.reject(new Error(`${pending.method}: ${JSON.stringify(message.error)}`));
      } else pending.resolve(message.result);
    };
    ws.onclose = () => {
      for (const p of this.#pending.values()) p.reject(new Error(`${p.method}: socket closed`));
      this.#pending.clear();
    };
  }

  /** Starts Chromium headless (as root it needs --no-sandbox) and opens one blank page. */
  static async launch(timeoutMs = 60_000): Promise<Browser> {
    const dir = await Deno.makeTempDir({ prefix: "tbg-chromium-" });
    const proc = spawnManaged({
      name: "chromium",
      cmd: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        `--user-data-dir=${dir}/profile`,
        "--window-size=1280,1400",
        "about:blank",
      ],
      logPath: `${dir}/chromium.log`,
      processGroup: true,
    });
    try {
      const url = await waitFor(() => {
        if (proc.exitCode !== null) throw new Error(`chromium exited: ${proc.log().slice(-2000)}`);
        return /DevTools listening on (ws:\/\/\S+)/.exec(proc.log())?.[1];
      }, { timeoutMs, intervalMs: 100, what: "chromium's DevTools endpoint" });
      const ws = new WebSocket(url);
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve();
        ws.onerror = () => reject(new Error(`cannot open ${url}`));
      });
      const browser = new Browser(proc, ws, dir);
      const { targetId } = await browser.send("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await browser.send("Target.attachToTarget", {
        targetId,
        flatten: true,
      });
      browser.#session = sessionId as string;
      await browser.send("Page.enable", {}, true);
      await browser.send("Runtime.enable", {}, true);
      return browser;
    } catch (error) {
      await proc.stop(2_000);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /** One protocol command, to the browser or (inPage) to the page's session. */
  send(
    method: string,
    params: Record<string, unknown> = {},
    inPage = false,
    // deno-lint-ignore no-explicit-any
  ): Promise<Record<string, any>> {
    const id = this.#nextId++;
    const message: Record<string, unknown> = { id, method, params };
    if (inPage) message.sessionId = this.#session;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, method });
      this.ws.send(JSON.stringify(message));
    });
  }

  /**
   * Starts loading `url`. The old document is marked first (`window.__tbgLeft`),
   * so a caller waiting on a condition can tell it from the new one.
   */
  async navigate(url: string): Promise<void> {
    await this.evaluate("window.__tbgLeft = true");
    const result = await this.send("Page.navigate", { url }, true);
    if (result.errorText) throw new Error(`navigate ${url}: ${result.errorText}`);
  }

  /** Evaluates `expression` in the page and returns its value (JSON-serialisable). */
  async evaluate<T>(expression: string): Promise<T> {
    const result = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    }, true);
    if (result.exceptionDetails) {
      throw new Error(`evaluate: ${JSON.stringify(result.exceptionDetails).slice(0, 500)}`);
    }
    return result.result.value as T;
  }

  /** A PNG of the whole page, written to `path`. */
  async screenshot(path: string): Promise<void> {
    const { data } = await this.send(
      "Page.captureScreenshot",
      { format: "png", captureBeyondViewport: true },
      true,
    );
    const bytes = Uint8Array.from(atob(data as string), (c) => c.charCodeAt(0));
    await Deno.writeFile(path, bytes);
  }

  async close(): Promise<void> {
    await Promise.race([
      this.send("Browser.close").catch(() => {}),
      this.proc.exited,
    ]);
    try {
      this.ws.close();
    } catch {
      // closed
    }
    await this.proc.stop(5_000);
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
