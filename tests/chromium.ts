/**
 * Headless Chromium driven over the DevTools protocol, for the tests and
 * benchmarks of `framecat dissect --html`: launch it, open a page, watch its
 * requests and console, evaluate script, move the mouse, press keys, take
 * screenshots, and close it leaving no process, socket or directory behind.
 * Every wait is bounded.
 *
 * @module
 */

/** Something the page said or did, as the DevTools protocol reports it. */
export interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
  sessionId?: string;
}

/** Options for {@linkcode Chromium.launch}. */
export interface LaunchOptions {
  /** How long to wait for Chromium and for each command, in milliseconds. Defaults to 60 s. */
  timeout?: number;
  /** The viewport's size in CSS pixels. Defaults to 1280 × 900. */
  width?: number;
  height?: number;
}

const FLAGS = [
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
  "--disable-default-apps",
  "--mute-audio",
  "--hide-scrollbars",
  "--font-render-hinting=none",
  "--remote-debugging-port=0",
];

/** One headless Chromium with one page. */
export class Chromium {
  /** Every event of the page's session, in order. */
  readonly events: CdpEvent[] = [];
  #child: Deno.ChildProcess;
  #dir: string;
  #ws: WebSocket;
  #closed: Promise<void>;
  #drained: Promise<string>;
  #next = 1;
  #calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #waiters = new Set<(event: CdpEvent) => void>();
  #session = "";
  #timeout: number;

  private constructor(
    child: Deno.ChildProcess,
    dir: string,
    ws: WebSocket,
    drained: Promise<string>,
    timeout: number,
  ) {
    this.#child = child;
    this.#dir = dir;
    this.#ws = ws;
    this.#drained = drained;
    this.#timeout = timeout;
    this.#closed = new Promise((resolve) => ws.addEventListener("close", () => resolve()));
    ws.addEventListener("message", (message) => {
      const data = JSON.parse(String(message.data));
      if (typeof data.id === "number") {
        const call = this.#calls.get(data.id);
        this.#calls.delete(data.id);
        if (data.error) call?.reject(new Error(`${data.error.message} (${data.error.code})`));
        else call?.resolve(data.result);
        return;
      }
      const event = { method: data.method, params: data.params ?? {}, sessionId: data.sessionId };
      if (event.sessionId === this.#session) this.events.push(event);
      for (const waiter of this.#waiters) waiter(event);
    });
    ws.addEventListener("close", () => {
      for (const call of this.#calls.values()) {
        call.reject(new Error("Chromium closed the connection"));
      }
      this.#calls.clear();
    });
  }

  /** Starts Chromium (`path`, or `chromium` on PATH) on about:blank and attaches to its page. */
  static async launch(path = "chromium", options: LaunchOptions = {}): Promise<Chromium> {
    const timeout = options.timeout ?? 60_000;
    const dir = await Deno.makeTempDir({ prefix: "framecat_chromium_" });
    const child = new Deno.Command(path, {
      args: [...FLAGS, `--user-data-dir=${dir}`, "about:blank"],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Read stderr to its end (so Chromium never blocks on it), finding the address on the way.
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let stderr = "";
    let found!: (url: string) => void;
    const address = new Promise<string>((resolve) => found = resolve);
    const drained = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return stderr;
        stderr += value;
        const match = stderr.match(/DevTools listening on (ws:\/\/\S+)/);
        if (match) found(match[1]);
      }
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const url = await Promise.race([
      address,
      drained.then(() => undefined),
      new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), timeout)),
    ]);
    clearTimeout(timer);
    if (url === undefined) {
      await stop(child, reader, drained);
      await Deno.remove(dir, { recursive: true });
      throw new Error(`Chromium did not start its DevTools server:\n${stderr}`);
    }
    const ws = new WebSocket(url);
    const opened = await new Promise<boolean>((resolve) => {
      ws.addEventListener("open", () => resolve(true), { once: true });
      ws.addEventListener("error", () => resolve(false), { once: true });
    });
    const browser = new Chromium(child, dir, ws, drained, timeout);
    browser.#reader = reader;
    if (!opened) {
      await browser.close();
      throw new Error(`cannot connect to Chromium at ${url}`);
    }
    try {
      const { targetInfos } = await browser.send("Target.getTargets") as {
        targetInfos: { targetId: string; type: string }[];
      };
      const page = targetInfos.find((t) => t.type === "page");
      if (!page) throw new Error("Chromium opened no page");
      const { sessionId } = await browser.send("Target.attachToTarget", {
        targetId: page.targetId,
        flatten: true,
      }) as { sessionId: string };
      browser.#session = sessionId;
      for (const domain of ["Page", "Runtime", "Log", "Network"]) {
        await browser.page(`${domain}.enable`);
      }
      await browser.page("Emulation.setDeviceMetricsOverride", {
        width: options.width ?? 1280,
        height: options.height ?? 900,
        deviceScaleFactor: 1,
        mobile: false,
      });
    } catch (error) {
      await browser.close();
      throw error;
    }
    return browser;
  }

  #reader?: ReadableStreamDefaultReader<string>;

  /** Sends a command to the browser (or, with `sessionId`, to a page). */
  send(method: string, params: unknown = {}, sessionId?: string): Promise<unknown> {
    const id = this.#next++;
    const message = JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#calls.delete(id);
        reject(new Error(`${method} got no answer in ${this.#timeout} ms`));
      }, this.#timeout);
      this.#calls.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.#ws.send(message);
    });
  }

  /** Sends a command to the page. */
  page(method: string, params: unknown = {}): Promise<unknown> {
    return this.send(method, params, this.#session);
  }

  /** Resolves with the page's first event `method` (after now) that `accept`s. */
  waitFor(
    method: string,
    accept: (params: Record<string, unknown>) => boolean = () => true,
  ): Promise<Record<string, unknown>> {
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const waiter = (event: CdpEvent) => {
        if (event.sessionId !== this.#session || event.method !== method || !accept(event.params)) {
          return;
        }
        done();
        resolve(event.params);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${method} in ${this.#timeout} ms`));
      }, this.#timeout);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      this.#waiters.add(waiter);
    });
  }

  /** Opens `url` and resolves once it has loaded. */
  async open(url: string): Promise<void> {
    const loaded = this.waitFor("Page.loadEventFired");
    try {
      const { errorText } = await this.page("Page.navigate", { url }) as { errorText?: string };
      if (errorText) throw new Error(`cannot open ${url}: ${errorText}`);
    } catch (error) {
      loaded.catch(() => {});
      throw error;
    }
    await loaded;
  }

  /** Evaluates `expression` in the page (awaiting promises) and returns its value. */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const { result, exceptionDetails } = await this.page("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    }) as { result: { value: T }; exceptionDetails?: { exception?: { description?: string } } };
    if (exceptionDetails) {
      throw new Error(`page script failed: ${exceptionDetails.exception?.description}`);
    }
    return result.value;
  }

  /** The centre of the element `selector` picks, scrolled into view, in CSS pixels. */
  async centre(selector: string): Promise<{ x: number; y: number }> {
    const point = await this.evaluate<{ x: number; y: number } | null>(`(() => {
      const e = document.querySelector(${JSON.stringify(selector)});
      if (!e) return null;
      e.scrollIntoView({ block: "nearest", inline: "nearest" });
      const r = e.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
    })()`);
    if (!point) throw new Error(`nothing on the page matches ${selector}`);
    return point;
  }

  /** Moves the mouse over the element `selector` picks. */
  async hover(selector: string): Promise<void> {
    const { x, y } = await this.centre(selector);
    await this.page("Input.dispatchMouseEvent", { type: "mouseMoved", x, y });
  }

  /** Clicks the element `selector` picks. */
  async click(selector: string): Promise<void> {
    const { x, y } = await this.centre(selector);
    await this.page("Input.dispatchMouseEvent", { type: "mouseMoved", x, y });
    for (const type of ["mousePressed", "mouseReleased"]) {
      await this.page("Input.dispatchMouseEvent", { type, x, y, button: "left", clickCount: 1 });
    }
  }

  /** Presses and releases a key, such as "ArrowDown" or "Tab". */
  async press(key: string): Promise<void> {
    const codes: Record<string, number> = {
      Tab: 9,
      Enter: 13,
      ArrowLeft: 37,
      ArrowUp: 38,
      ArrowRight: 39,
      ArrowDown: 40,
      Home: 36,
      End: 35,
      PageUp: 33,
      PageDown: 34,
    };
    const code = codes[key];
    for (const type of ["rawKeyDown", "keyUp"]) {
      await this.page("Input.dispatchKeyEvent", {
        type,
        key,
        code: key,
        windowsVirtualKeyCode: code,
        nativeVirtualKeyCode: code,
      });
    }
  }

  /** A PNG of the viewport. */
  async screenshot(): Promise<Uint8Array> {
    const { data } = await this.page("Page.captureScreenshot", { format: "png" }) as {
      data: string;
    };
    return Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  }

  /** What went wrong on the page: exceptions, console errors, errors logged by the browser. */
  errors(): string[] {
    const errors: string[] = [];
    for (const { method, params } of this.events) {
      if (method === "Runtime.exceptionThrown") {
        const details = params.exceptionDetails as {
          text: string;
          exception?: { description?: string };
        };
        errors.push(`exception: ${details.exception?.description ?? details.text}`);
      } else if (
        method === "Runtime.consoleAPICalled" && ["error", "assert"].includes(String(params.type))
      ) {
        const args = params.args as { value?: unknown; description?: string }[];
        errors.push(
          `console.${params.type}: ${args.map((a) => a.value ?? a.description).join(" ")}`,
        );
      } else if (method === "Log.entryAdded") {
        const entry = params.entry as { level: string; text: string; url?: string };
        if (entry.level === "error") errors.push(`log: ${entry.text} ${entry.url ?? ""}`.trim());
      }
    }
    return errors;
  }

  /** The URL of every request the page made. */
  requests(): string[] {
    return this.events
      .filter((e) => e.method === "Network.requestWillBeSent")
      .map((e) => (e.params.request as { url: string }).url);
  }

  /** Closes the connection, ends Chromium and removes its profile directory. */
  async close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.OPEN) {
      try {
        await this.send("Browser.close");
      } catch {
        // It is going anyway.
      }
    }
    if (this.#ws.readyState !== WebSocket.CLOSED) this.#ws.close();
    await this.#closed;
    await stop(this.#child, this.#reader, this.#drained);
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

/** Ends Chromium (politely, then not) and waits for it and its stderr. */
async function stop(
  child: Deno.ChildProcess,
  reader: ReadableStreamDefaultReader<string> | undefined,
  drained: Promise<string>,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const within = <T>(promise: Promise<T>, ms: number) =>
    Promise.race([
      promise.then(() => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms)),
    ]).finally(() => clearTimeout(timer));
  if (!(await within(child.status, 5000))) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await child.status;
  }
  // Helpers Chromium started may hold its stderr open a moment longer.
  if (!(await within(drained, 5000))) await reader?.cancel();
  await drained.catch(() => "");
}
