/**
 * `framecat dissect --html`: the records of `framecat dissect --json` as one
 * self-contained page, as Wireshark shows a capture: a packet list, the
 * chosen packet's layers and fields with their inclusive byte ranges, and its
 * bytes as a hex and ASCII grid coloured by layer, where hovering or focusing
 * a field lights up its bytes and a byte lights up its field; values are
 * shown as the text output shows them (`0x0800`, `0x422a (correct)`). The
 * page opens on the packet its address names (`report.html#7`), or else on
 * the first packet that carries a message. Below, each connection's
 * messages with the packets that carried them.
 *
 * The page needs nothing from the network (its Content-Security-Policy
 * forbids it). The records are embedded as JSON in chunks of a few hundred
 * packets, decoded only when shown; the packet list draws only its visible
 * rows, so a capture of 100,000 packets opens as fast as a small one.
 *
 * @example
 * ```ts
 * import { writeHtmlReport } from "./html.ts";
 * import assert from "node:assert/strict";
 *
 * let page = "";
 * const decoder = new TextDecoder();
 * await writeHtmlReport([
 *   { type: "message", stream: "a > b", packets: [1], bytes: 2, message: "</script>" },
 * ], { write: async (p) => (page += decoder.decode(p, { stream: true }), p.length) });
 * assert.match(page, /^<!DOCTYPE html>/);
 * assert.equal(page.includes("</script>\""), false);
 * ```
 *
 * @module
 */

import { type ByteWriter, writeAll } from "../line_writer.ts";
import { PAGE_SCRIPT, PAGE_STYLE } from "./page_assets.ts";

/** One record of `framecat dissect --json`: a packet, a message, a problem, or more. */
export interface ReportRecord {
  type: string;
  [key: string]: unknown;
}

/** Options for {@linkcode writeHtmlReport}. */
export interface HtmlReportOptions {
  /** What the page is about, e.g. the capture's file name; shown in its title. */
  title?: string;
  /** Packets per embedded JSON chunk, the unit the page decodes at a time. Defaults to 500. */
  chunkSize?: number;
}

const encoder = new TextEncoder();

/**
 * Writes the HTML page for `records` (packet records in order, then or
 * among them messages and problems) to `writer` as the records come. A
 * packet record's raw bytes are shown when it carries them, as a
 * `Uint8Array` in `data` (as `dissectRecords` gives them; read at once, as
 * they may be reused after) or as hex in `bytes`. A layer's
 * `fieldBits` are shown with its fields' byte ranges, a field's meaning
 * `xName` beside its value `x`, and a message's `text` (as it arrived) in
 * place of its re-serialised `message` when the record has it; the page
 * holds the first 65,536 characters of a message.
 *
 * @example
 * ```ts
 * import { writeHtmlReport } from "./html.ts";
 * import assert from "node:assert/strict";
 *
 * let page = "";
 * const decoder = new TextDecoder();
 * await writeHtmlReport([{
 *   type: "packet", number: 1, length: 3, captured: 3, time: 0, bytes: "31340a",
 *   layers: [{ layer: "payload", start: 0, end: 2 }],
 * }], { write: async (p) => (page += decoder.decode(p, { stream: true }), p.length) }, {
 *   title: "a <small> capture",
 * });
 * assert.match(page, /<title>framecat dissect: a &lt;small&gt; capture<\/title>/);
 * assert.match(page, /data-count="1"/);
 * ```
 */
export async function writeHtmlReport<T extends { type: string }>(
  records: AsyncIterable<T> | Iterable<T>,
  writer: ByteWriter,
  options: HtmlReportOptions = {},
): Promise<void> {
  const chunkSize = options.chunkSize ?? 500;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new RangeError(`chunkSize must be a whole number above 0, not ${chunkSize}`);
  }
  let pending = "";
  const out = async (text: string, force = false) => {
    pending += text;
    if (force || pending.length >= 1 << 20) {
      await writeAll(writer, encoder.encode(pending));
      pending = "";
    }
  };
  const { style, script, policy } = await assets();
  const title = options.title === undefined ? "" : `: ${escapeHtml(options.title)}`;
  await out(
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
      `<meta http-equiv="Content-Security-Policy" content="${policy}">\n` +
      `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
      `<meta name="generator" content="framecat dissect --html">\n` +
      `<title>framecat dissect${title}</title>\n<style>${style}</style>\n</head>\n` +
      BODY.replace("%TITLE%", () => title),
  );

  let packets = new PacketChunk();
  let others: ReportRecord[] = [];
  let first = 0;
  const flushPackets = async () => {
    if (packets.count === 0) return;
    await out(
      `<script type="application/json" class="fc-p" data-first="${first}" data-count="${packets.count}" data-n0="${packets.firstNumber}" data-n1="${packets.lastNumber}">` +
        json(packets.toJSON()) + "</script>\n",
    );
    first += packets.count;
    packets = new PacketChunk();
  };
  const flushOthers = async () => {
    if (others.length === 0) return;
    await out(`<script type="application/json" class="fc-m">${json(others)}</script>\n`);
    others = [];
  };
  for await (const item of records) {
    const record = item as unknown as ReportRecord;
    if (record.type === "packet") {
      packets.add(record);
      if (packets.count >= chunkSize) await flushPackets();
    } else {
      others.push(record.type === "message" ? messageShown(record) : record);
      if (others.length >= chunkSize) await flushOthers();
    }
  }
  await flushPackets();
  await flushOthers();
  await out(`<script>${script}</script>\n</body>\n</html>\n`, true);
}

/** A layer's keys that are not its fields' values. */
const SHAPE_KEYS = new Set(["layer", "start", "end", "fieldRanges", "fieldBits"]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Characters of a message's text the page holds, at most. */
const MAX_TEXT = 65_536;

/**
 * A message as the page shows it: its JSON text as it arrived (`text`, from
 * the streaming dissector) or else re-serialised, cut at `MAX_TEXT`
 * characters (`omitted` says how many more), in place of its value.
 */
function messageShown(record: ReportRecord): ReportRecord {
  const { message, text, ...rest } = record;
  const whole = typeof text === "string" ? text : JSON.stringify(message) ?? "undefined";
  if (whole.length <= MAX_TEXT) return { ...rest, text: whole };
  return { ...rest, text: whole.slice(0, MAX_TEXT), omitted: whole.length - MAX_TEXT };
}

/**
 * Packets in a compact form: a layer's field names and relative byte ranges
 * (its "shape") are listed once per chunk, each layer then being
 * `[shape, start, end, ...values]`, each packet
 * `[number, length, captured, time, bytes, layers, notes, rest]`.
 */
class PacketChunk {
  count = 0;
  firstNumber = 0;
  lastNumber = 0;
  #shapes: unknown[] = [];
  #shapeIds = new Map<string, number>();
  #packets: unknown[] = [];

  add(record: ReportRecord): void {
    const { type: _, number, length, captured, time, bytes, data, layers, notes, ...rest } = record;
    const encoded = Array.isArray(layers) ? layers.map((layer) => this.#layer(layer)) : [];
    const packet = [
      number,
      length,
      captured,
      time,
      typeof bytes === "string" ? bytes : data instanceof Uint8Array ? toHex(data) : null,
      encoded,
      Array.isArray(notes) && notes.length > 0 ? notes : null,
      Object.keys(rest).length > 0 ? rest : null,
    ];
    while (packet.at(-1) === null) packet.pop();
    this.#packets.push(packet);
    if (this.count === 0) this.firstNumber = Number(number);
    this.lastNumber = Number(number);
    this.count++;
  }

  #layer(layer: Record<string, unknown>): unknown[] {
    // The shape's key is built by hand: this runs for every layer of every packet.
    const base = Number(layer.start);
    const ranges = isRecord(layer.fieldRanges) ? layer.fieldRanges : {};
    const bits = isRecord(layer.fieldBits) ? layer.fieldBits : {};
    const keys: string[] = [];
    let key = `${layer.layer}|`;
    for (const name in layer) {
      if (SHAPE_KEYS.has(name)) continue;
      keys.push(name);
      key += name + ",";
    }
    key += "|";
    for (const name in ranges) {
      const range = ranges[name];
      if (Array.isArray(range)) key += `${name}:${range[0] - base}-${range[1] - base},`;
    }
    key += "|";
    for (const name in bits) key += `${name}:${bits[name]},`;
    let id = this.#shapeIds.get(key);
    if (id === undefined) {
      const relative: Record<string, [number, number]> = {};
      for (const name in ranges) {
        const range = ranges[name];
        if (Array.isArray(range)) relative[name] = [range[0] - base, range[1] - base];
      }
      id = this.#shapes.push([layer.layer, keys, relative, bits]) - 1;
      this.#shapeIds.set(key, id);
    }
    const encoded: unknown[] = [id, layer.start, layer.end];
    for (const name of keys) encoded.push(layer[name]);
    return encoded;
  }

  toJSON(): unknown {
    return { shapes: this.#shapes, packets: this.#packets };
  }
}

function toHex(data: Uint8Array): string {
  let hex = "";
  for (const byte of data) hex += HEX[byte];
  return hex;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * JSON safe inside a `<script>` element: no `<` (so no `</script>` or
 * `<!--`) and no raw control character; these only occur within strings.
 */
function json(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

function escapeHtml(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "\ufffd")
    .replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

let cachedAssets: Promise<{ style: string; script: string; policy: string }> | undefined;

/** The inline style and script, and a policy allowing exactly them and nothing from outside. */
function assets(): Promise<{ style: string; script: string; policy: string }> {
  cachedAssets ??= (async () => {
    const hash = async (text: string) => {
      const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
      return `'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`;
    };
    const policy = `default-src 'none'; style-src ${await hash(STYLE)}; script-src ${await hash(
      SCRIPT,
    )}; img-src data:; base-uri 'none'; form-action 'none'`;
    return { style: STYLE, script: SCRIPT, policy };
  })();
  return cachedAssets;
}

const BODY = `<body>
<header>
<h1>framecat dissect<span class="subtitle">%TITLE%</span></h1>
<p><span id="summary" role="status">This report needs JavaScript to show its packets.</span> <span id="hint"></span></p>
</header>
<main>
<section id="packets" aria-labelledby="packets-h">
<h2 id="packets-h" class="print-only">Packets</h2>
<div class="thead" aria-hidden="true"><span>No.</span><span>Time</span><span>Source</span><span>Destination</span><span>Protocol</span><span>Length</span><span>Info</span></div>
<div id="list" role="listbox" tabindex="0" aria-label="Packets (arrow keys move between them)"><div id="spacer" role="presentation"></div></div>
<table id="print-list" class="print-only"></table>
</section>
<div id="panes">
<section id="details" aria-label="Packet details" aria-live="polite"></section>
<section id="bytes" aria-label="Packet bytes: hover a byte to find its field; arrow keys move the cursor" tabindex="0"></section>
</div>
<section id="messages" aria-labelledby="messages-h">
<h2 id="messages-h">Messages</h2>
<div id="conns"></div>
</section>
</main>
<footer><p>Made by <code>framecat dissect --html</code>. Byte ranges are inclusive and count from 0.</p></footer>
`;

const STYLE = PAGE_STYLE;

// The page's program (lib/capture/page.js) and style (page.css), built
// into page_assets.ts by `deno task build:page`.
const SCRIPT = PAGE_SCRIPT;
