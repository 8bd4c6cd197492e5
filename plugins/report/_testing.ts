/**
 * Opening report pages in headless Chromium (Debian's `chromium`) for tests
 * and CI: load a page, collect console errors, uncaught exceptions, failed
 * loads and network requests that leave the machine, and take a PNG
 * screenshot.
 *
 * Why the DevTools protocol rather than `--screenshot` with
 * `--enable-logging=stderr`: stderr mixes the page's console with the
 * browser's own noise (GPU, D-Bus, sandbox warnings) in a format that is not
 * an interface and changes between releases, and it says nothing about
 * requests or CSP violations. Over the protocol the page's events arrive
 * structured and scoped to the page (`Runtime.consoleAPICalled`,
 * `Runtime.exceptionThrown`, `Log.entryAdded`, `Network.requestWillBeSent`),
 * we know exactly when the load event fired, and one browser serves several
 * pages. Deno's built-in WebSocket is all it needs.
 *
 * Not published (`_testing.ts`).
 *
 * @module
 */

/** Where Debian installs Chromium. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** What loading one page produced. */
export interface PageCheck {
  /** Console errors/asserts, uncaught exceptions, error log entries, failed loads. */
  errors: string[];
  /** Console and log warnings (reported, not failures). */
  warnings: string[];
  /** URLs the page requested that are not `file:`, `data:`, `about:` or `blob:`. */
  externalRequests: string[];
  /** PNG screenshot of the page (full height up to `maxHeight`). */
  screenshot: Uint8Array;
  /** Page content size in CSS pixels. */
  contentSize: { width: number; height: number };
  /** The value of `options.evaluate`, when given. */
  evaluated?: unknown;
}

/** Options of {@linkcode ChromiumSession.checkPage}. */
export interface CheckPageOptions {
  /** Viewport width. @default {1200} */
  width?: number;
  /** Viewport height. @default {900} */
  height?: number;
  /** Capture the whole page up to this height (CSS px) instead of the viewport. @default {6000} */
  maxHeight?: number;
  /** Give up after this long. @default {20000} */
  timeoutMs?: number;
  /** Wait after the load event for late messages. @default {300} */
  settleMs?: number;
  /**
   * A JavaScript expression evaluated in the page after it settled (before
   * the screenshot); its JSON-serialisable value is returned as `evaluated`.
   */
  evaluate?: string;
}

interface CdpMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

type Listener = (msg: CdpMessage) => void;

function describeRemoteObject(o: Record<string, unknown> | undefined): string {
  if (!o) return "";
  if (o.value !== undefined) return typeof o.value === "string" ? o.value : JSON.stringify(o.value);
  return String(o.description ?? o.unserializableValue ?? o.type ?? "");
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A running headless Chromium driven over the DevTools protocol. */
export class ChromiumSession {
  #child: Deno.ChildProcess;
  #ws: WebSocket;
  #profile: string;
  #nextId = 1;
  #pending = new Map<
    number,
    { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }
  >();
  #listeners = new Set<Listener>();
  #stderr: Promise<string>;
  #closed = false;

  private constructor(
    child: Deno.ChildProcess,
    ws: WebSocket,
    profile: string,
    stderr: Promise<string>,
  ) {
    this.#child = child;
    this.#ws = ws;
    this.#profile = profile;
    this.#stderr = stderr;
    ws.onmessage = (ev) => {
      const msg = JSON.parse(String(ev.data)) as CdpMessage;
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        if (!p) return;
        this.#pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`DevTools: ${msg.error.message}`));
        else p.resolve(msg.result ?? {});
      } else {
        for (const l of this.#listeners) l(msg);
      }
    };
  }

  /** Starts Chromium (headless, throwaway profile, no background networking) and connects. */
  static async launch(path: string = CHROMIUM_PATH, timeoutMs = 30_000): Promise<ChromiumSession> {
    const profile = await Deno.makeTempDir({ prefix: "medprobe_chromium_" });
    const child = new Deno.Command(path, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--mute-audio",
        `--user-data-dir=${profile}`,
        "--remote-debugging-port=0",
        "--window-size=1200,900",
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Drain stderr (the pipe must not fill up), keep the tail for error messages,
    // and resolve the browser endpoint from its "DevTools listening on" line.
    let resolveUrl: (url: string) => void = () => {};
    const urlFound = new Promise<string>((r) => (resolveUrl = r));
    const stderr = (async () => {
      let text = "";
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) {
        text += decoder.decode(chunk, { stream: true });
        const m = text.match(/DevTools listening on (ws:\/\/\S+)/);
        if (m) resolveUrl(m[1]);
        if (text.length > 20_000) text = text.slice(-10_000);
      }
      return text;
    })();
    try {
      const exited = child.status.then((s) => {
        throw new Error(`Chromium exited early with code ${s.code}`);
      });
      const url = await withTimeout(
        Promise.race([urlFound, exited]),
        timeoutMs,
        "Chromium to start",
      );
      const ws = new WebSocket(url);
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          ws.onopen = () => resolve();
          ws.onerror = () => reject(new Error(`Cannot connect to ${url}`));
        }),
        timeoutMs,
        "the DevTools socket",
      );
      return new ChromiumSession(child, ws, profile, stderr);
    } catch (e) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      const tail = (await stderr).slice(-2000);
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw new Error(`Cannot start Chromium (${path}): ${(e as Error).message}\n${tail}`, {
        cause: e,
      });
    }
  }

  #send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  /**
   * Opens `url` in a new tab, waits for the load event, collects the page's
   * errors, warnings and external requests, takes a screenshot, and closes
   * the tab.
   */
  async checkPage(url: string, options: CheckPageOptions = {}): Promise<PageCheck> {
    const width = options.width ?? 1200;
    const height = options.height ?? 900;
    const maxHeight = options.maxHeight ?? 6000;
    const timeoutMs = options.timeoutMs ?? 20_000;
    const errors: string[] = [];
    const warnings: string[] = [];
    const externalRequests: string[] = [];
    const { targetId } = await this.#send("Target.createTarget", { url: "about:blank" }) as {
      targetId: string;
    };
    const { sessionId } = await this.#send("Target.attachToTarget", {
      targetId,
      flatten: true,
    }) as {
      sessionId: string;
    };
    let onLoad: () => void = () => {};
    const loaded = new Promise<void>((r) => (onLoad = r));
    const listener: Listener = (msg) => {
      if (msg.sessionId !== sessionId || !msg.params) return;
      const p = msg.params;
      switch (msg.method) {
        case "Page.loadEventFired":
          onLoad();
          break;
        case "Runtime.consoleAPICalled": {
          const args = (p.args as Record<string, unknown>[] | undefined) ?? [];
          const text = `console.${p.type}: ${args.map(describeRemoteObject).join(" ")}`;
          if (p.type === "error" || p.type === "assert") errors.push(text);
          else if (p.type === "warning") warnings.push(text);
          break;
        }
        case "Runtime.exceptionThrown": {
          const d = p.exceptionDetails as Record<string, unknown>;
          const ex = d.exception as Record<string, unknown> | undefined;
          errors.push(`uncaught: ${ex?.description ?? d.text}`);
          break;
        }
        case "Log.entryAdded": {
          const e = p.entry as { level: string; text: string; url?: string; source?: string };
          const text = `${e.source ?? "log"}: ${e.text}${e.url ? ` (${e.url})` : ""}`;
          if (e.level === "error") errors.push(text);
          else if (e.level === "warning") warnings.push(text);
          break;
        }
        case "Network.requestWillBeSent": {
          const u = (p.request as { url: string }).url;
          if (!/^(file|data|about|blob):/.test(u)) externalRequests.push(u);
          break;
        }
        case "Network.loadingFailed":
          if (!p.canceled) errors.push(`load failed: ${p.errorText} (${p.requestId})`);
          break;
      }
    };
    this.#listeners.add(listener);
    try {
      for (const domain of ["Page", "Runtime", "Log", "Network"]) {
        await this.#send(`${domain}.enable`, {}, sessionId);
      }
      await this.#send(
        "Emulation.setDeviceMetricsOverride",
        { width, height, deviceScaleFactor: 1, mobile: false },
        sessionId,
      );
      const nav = await this.#send("Page.navigate", { url }, sessionId);
      if (nav.errorText) throw new Error(`Cannot open ${url}: ${nav.errorText}`);
      await withTimeout(loaded, timeoutMs, `${url} to load`);
      await new Promise((r) => setTimeout(r, options.settleMs ?? 300));
      let evaluated: unknown;
      if (options.evaluate !== undefined) {
        const res = await this.#send("Runtime.evaluate", {
          expression: options.evaluate,
          returnByValue: true,
          awaitPromise: true,
        }, sessionId) as { result: { value?: unknown }; exceptionDetails?: { text: string } };
        if (res.exceptionDetails) {
          throw new Error(`Cannot evaluate in ${url}: ${res.exceptionDetails.text}`);
        }
        evaluated = res.result.value;
      }
      const layout = await this.#send("Page.getLayoutMetrics", {}, sessionId) as {
        cssContentSize: { width: number; height: number };
      };
      const size = layout.cssContentSize;
      const shot = await this.#send("Page.captureScreenshot", {
        format: "png",
        captureBeyondViewport: true,
        clip: {
          x: 0,
          y: 0,
          width,
          height: Math.min(Math.max(size.height, height), maxHeight),
          scale: 1,
        },
      }, sessionId) as { data: string };
      const bin = atob(shot.data);
      const screenshot = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) screenshot[i] = bin.charCodeAt(i);
      return { errors, warnings, externalRequests, screenshot, contentSize: size, evaluated };
    } finally {
      this.#listeners.delete(listener);
      await this.#send("Target.closeTarget", { targetId }).catch(() => {});
    }
  }

  /** Closes the browser (gracefully, then by force) and removes its profile. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await withTimeout(this.#send("Browser.close"), 5000, "Browser.close").catch(() => {});
    const done = await withTimeout(this.#child.status, 5000, "Chromium to exit").catch(() => null);
    if (done === null) {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* already gone */ }
      await this.#child.status;
    }
    try {
      this.#ws.close();
    } catch { /* already closed */ }
    await this.#stderr.catch(() => "");
    for (const p of this.#pending.values()) p.reject(new Error("Chromium closed"));
    this.#pending.clear();
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}

/** Whether a file is a PNG: signature, IHDR, and its width and height. */
export function readPngSize(bytes: Uint8Array): { width: number; height: number } | null {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || sig.some((b, i) => bytes[i] !== b)) return null;
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== "IHDR") return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}
