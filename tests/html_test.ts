import assert from "node:assert/strict";
import { type ReportRecord, writeHtmlReport } from "../lib/capture/html.ts";
import { dissectRecords } from "../lib/capture/report.ts";
import { Chromium } from "./chromium.ts";
import { writeExchange } from "./capture_builder.ts";
import { framecat, MAIN, needs } from "./helpers.ts";

const FIXTURE = new URL("./fixtures/framecat_and_seed.pcapng", import.meta.url);

/** The fixture's records, each packet's bytes in hex. */
async function fixtureRecords(): Promise<ReportRecord[]> {
  const records: ReportRecord[] = [];
  for await (const record of dissectRecords([await Deno.readFile(FIXTURE)])) {
    if (record.type !== "packet") records.push({ ...record });
    else {
      // The packet's bytes are only valid until the next record: keep them as hex.
      const { data, ...rest } = record;
      records.push({
        ...rest,
        bytes: [...data].map((b) => b.toString(16).padStart(2, "0")).join(""),
      });
    }
  }
  return records;
}

/** The page for `records`, as text. */
async function page(
  records: ReportRecord[],
  options: Parameters<typeof writeHtmlReport>[2] = {},
): Promise<string> {
  let html = "";
  const decoder = new TextDecoder();
  await writeHtmlReport(records, {
    write: (p) => (html += decoder.decode(p, { stream: true }), Promise.resolve(p.length)),
  }, options);
  return html + decoder.decode();
}

/** The contents of the page's `<script type="application/json" class=...>` elements. */
function dataOf(html: string, kind: "fc-p" | "fc-m"): { attributes: string; json: unknown }[] {
  const pattern = new RegExp(
    `<script type="application/json" class="${kind}"([^>]*)>([^<]*)</script>`,
    "g",
  );
  return [...html.matchAll(pattern)].map((m) => ({ attributes: m[1], json: JSON.parse(m[2]) }));
}

Deno.test("writeHtmlReport() writes a page that needs nothing from outside the file", async () => {
  const html = await page(await fixtureRecords(), { title: "framecat_and_seed.pcapng" });
  assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
  assert.match(html, /<\/html>\n$/);
  // No element loads anything: no src or href at all, no <link>, no CSS url() or @import.
  assert.doesNotMatch(html, /\s(src|href|srcset|action|poster|data)\s*=/i);
  assert.doesNotMatch(html, /<(link|iframe|object|embed|img|base)\b/i);
  assert.doesNotMatch(html, /url\(|@import|https?:\/\//i);
  // And the page forbids itself to: everything but its own inline style and script.
  const policy = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/)?.[1];
  assert.ok(policy, "a Content-Security-Policy");
  assert.match(policy, /^default-src 'none'; style-src 'sha256-[^']+'; script-src 'sha256-[^']+';/);
  const digest = async (text: string) =>
    btoa(String.fromCharCode(
      ...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))),
    ));
  const style = html.match(/<style>([^<]*)<\/style>/)![1];
  const script = html.match(/<script>([^]*?)<\/script>/)![1];
  assert.ok(policy.includes(`style-src 'sha256-${await digest(style)}'`));
  assert.ok(policy.includes(`script-src 'sha256-${await digest(script)}'`));
  // All 18 packets and both messages are in it.
  const packets = dataOf(html, "fc-p");
  assert.equal(packets.length, 1);
  assert.match(packets[0].attributes, /data-first="0" data-count="18" data-n0="1" data-n1="18"/);
  const others = dataOf(html, "fc-m").flatMap((d) => d.json as ReportRecord[]);
  assert.deepEqual(others.map((r) => JSON.parse(String(r.text))), ["Hello World!", "héllo"]);
});

Deno.test("writeHtmlReport() escapes </script> and control characters in messages", async () => {
  const nasty =
    "</script><script>alert(1)</script><!-- \u0000\u0007\u001b[31m\u007f\u0085\u2028 &amp;";
  const records: ReportRecord[] = [
    { type: "message", stream: "a</script> > b", packets: [1], bytes: 90, message: nasty },
    { type: "message", stream: "a > b", packets: [1], bytes: 20, message: { "</SCRIPT>": nasty } },
    { type: "problem", stream: "a > b", reason: "bad prefix <b>\u0001</b>" },
  ];
  const html = await page(records, { title: "</title><script>\u0007$&" });
  // Exactly the page's own elements end: the data chunk and the program.
  assert.equal(html.match(/<\/script/gi)?.length, 2);
  assert.equal(html.match(/<\/title/gi)?.length, 1);
  assert.match(html, /<span class="subtitle">: &lt;\/title&gt;&lt;script&gt;\ufffd\$&amp;<\/span>/);
  assert.doesNotMatch(html, /<!--/);
  assert.match(
    html,
    /<title>framecat dissect: &lt;\/title&gt;&lt;script&gt;\ufffd\$&amp;<\/title>/,
  );
  // No raw control character anywhere (line breaks aside), nor a line or paragraph separator.
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(html, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
  // And the records read back exactly, each message as its JSON text.
  assert.deepEqual(
    dataOf(html, "fc-m").flatMap((d) => d.json as ReportRecord[]),
    records.map(({ message, ...r }) =>
      r.type === "message" ? { ...r, text: JSON.stringify(message) } : r
    ),
  );
});

Deno.test("writeHtmlReport() keeps a message's text as it arrived, up to 65,536 characters", async () => {
  const long = `"${"x".repeat(70_000)}"`;
  const html = await page([
    { type: "message", stream: "a > b", packets: [1], bytes: 20, message: 1e400, text: "1e400" },
    { type: "message", stream: "a > b", packets: [2], bytes: 70_002, message: "", text: long },
  ]);
  const [exact, cut] = dataOf(html, "fc-m").flatMap((d) => d.json as ReportRecord[]);
  assert.deepEqual(exact, {
    type: "message",
    stream: "a > b",
    packets: [1],
    bytes: 20,
    text: "1e400",
  });
  assert.equal(cut.text, long.slice(0, 65_536));
  assert.equal(cut.omitted, 70_002 - 65_536);
});

Deno.test("writeHtmlReport() embeds packets in chunks the page decodes one at a time", async () => {
  const records = await fixtureRecords();
  const html = await page(records, { chunkSize: 5 });
  const chunks = dataOf(html, "fc-p");
  assert.deepEqual(
    chunks.map((c) => c.attributes.trim()),
    [
      'data-first="0" data-count="5" data-n0="1" data-n1="5"',
      'data-first="5" data-count="5" data-n0="6" data-n1="10"',
      'data-first="10" data-count="5" data-n0="11" data-n1="15"',
      'data-first="15" data-count="3" data-n0="16" data-n1="18"',
    ],
  );
  // A layer's field names and ranges are said once per chunk, not once per packet.
  const first = chunks[0].json as { shapes: unknown[][]; packets: unknown[][] };
  // (TCP's differ by options and by what is known of the connection yet.)
  assert.deepEqual(first.shapes.map((s) => s[0]), [
    "ethernet",
    "ipv4",
    "tcp",
    "tcp",
    "tcp",
    "payload",
    "framecat",
  ]);
  assert.equal(first.packets.flatMap((p) => p[5] as unknown[]).length, 17);
  const fourth = first.packets[3];
  const original = records.find((r) => r.number === 4)!;
  assert.deepEqual(fourth.slice(0, 5), [4, 83, 83, original.time, original.bytes]);
  assert.ok(html.length < 2 * JSON.stringify(records).length);
  await assert.rejects(() => page(records, { chunkSize: 0 }), RangeError);
});

Deno.test("writeHtmlReport() writes as the records come, not at the end", async () => {
  const packets = (await fixtureRecords()).filter((r) => r.type === "packet");
  const total = 20_000;
  let asked = 0;
  function* records(): Generator<ReportRecord> {
    for (; asked < total; asked++) yield { ...packets[asked % packets.length], number: asked + 1 };
  }
  const askedAtWrite: number[] = [];
  let written = 0;
  await writeHtmlReport(records(), {
    write: (p) => {
      askedAtWrite.push(asked);
      const n = Math.min(p.length, 65536); // short writes are retried
      written += n;
      return Promise.resolve(n);
    },
  });
  assert.ok(askedAtWrite[0] < total / 2, `first write after ${askedAtWrite[0]} records`);
  assert.ok(written > 4 * 2 ** 20);
});

Deno.test("framecat dissect --html writes the page, a broken file's problem on it too; not with --json", async () => {
  const html = await framecat(["dissect", "--html", "-"], await Deno.readFile(FIXTURE));
  assert.equal(html.code, 0);
  assert.equal(html.stdout, await page(await fixtureRecords(), { title: "standard input" }));
  const cut = await framecat(
    ["dissect", "--html", "-"],
    (await Deno.readFile(FIXTURE)).slice(0, 1500),
  );
  assert.equal(cut.code, 1);
  assert.match(cut.stderr, /^framecat: Cannot read capture from standard input: /);
  const said = dataOf(cut.stdout, "fc-m").flatMap((d) => d.json as ReportRecord[]);
  assert.deepEqual(said.at(-1), { type: "problem", reason: cut.stderr.slice(10).trim() });
  assert.match(cut.stdout, /<\/html>\n$/);
  const both = await framecat(["dissect", "--html", "--json", "-"], "");
  assert.equal(both.code, 2);
  assert.match(both.stderr, /give --json or --html, not both/);
});

const inChromium = needs(
  "framecat dissect --html works in Chromium: no errors, no requests, hover lights up exactly a field's bytes",
  "chromium",
);
Deno.test(inChromium, async (t) => {
  const records = await fixtureRecords();
  const dir = await Deno.makeTempDir({ prefix: "framecat_html_test_" });
  const report = `${dir}/report.html`;
  const run = await framecat(["dissect", "--html", FIXTURE.pathname], undefined, {
    permissions: ["--allow-read"],
  });
  assert.deepEqual([run.code, run.stderr], [0, ""]);
  await Deno.writeTextFile(report, run.stdout);
  const url = new URL(`file://${report}`).href;
  const browser = await Chromium.launch("chromium", { width: 1280, height: 1000 });
  try {
    await browser.open(url);
    assert.equal(await browser.evaluate("document.documentElement.dataset.ready"), "true");
    const lit = () =>
      browser.evaluate<{ hex: number[]; ascii: number[]; fields: string[] }>(`({
        hex: [...document.querySelectorAll("#bytes .hex .b.hl")].map((b) => +b.dataset.i),
        ascii: [...document.querySelectorAll("#bytes .asc .b.hl")].map((b) => +b.dataset.i),
        fields: [...document.querySelectorAll("#details .hl")].map((f) =>
          f.closest(".layer").dataset.layer + "." + (f.dataset.key ?? "")),
      })`);
    const span = ([from, to]: number[]) =>
      Array.from({ length: to - from + 1 }, (_, i) => from + i);
    const rangeOf = (number: number, layer: string, field: string) => {
      const packet = records.find((r) => r.type === "packet" && r.number === number)!;
      const layers = packet.layers as { layer: string; fieldRanges: Record<string, number[]> }[];
      return layers.find((l) => l.layer === layer)!.fieldRanges[field];
    };

    await t.step("the page opens on the first packet that carries a message", async () => {
      const first = Math.min(
        ...records.flatMap((r) => r.type === "message" ? r.packets as number[] : []),
      );
      assert.equal(
        await browser.evaluate(`document.querySelector("#details h2").textContent`),
        `Packet ${first}`,
      );
      assert.equal(await browser.evaluate("location.hash"), `#${first}`);
      assert.match(
        await browser.evaluate<string>(`document.getElementById("summary").textContent`),
        /^18 packets, 2 framecat messages/,
      );
    });

    await t.step("Tab reaches the list and arrow keys move between packets", async () => {
      await browser.press("Tab");
      assert.equal(await browser.evaluate("document.activeElement.id"), "list");
      await browser.press("Home");
      for (let i = 0; i < 4; i++) await browser.press("ArrowDown");
      await browser.press("ArrowUp");
      assert.equal(
        await browser.evaluate(`document.querySelector("#details h2").textContent`),
        "Packet 4",
      );
      assert.equal(
        await browser.evaluate(
          `document.querySelector("#list .row.sel").getAttribute("aria-selected")`,
        ),
        "true",
      );
    });

    await t.step("values are shown as the text output shows them", async () => {
      const shown = await browser.evaluate<string[]>(
        `[...document.querySelectorAll("#details .f")].map((f) => f.textContent)`,
      );
      assert.ok(shown.some((f) => /^etherType: 0x0800 \(IPv4\)/.test(f)), shown.join("\n"));
      assert.ok(
        shown.some((f) => /^checksum: 0x[0-9a-f]{4} \(correct\)/.test(f)),
        shown.join("\n"),
      );
      assert.ok(shown.some((f) => /^flags: 0x018 \(PSH, ACK\)/.test(f)), shown.join("\n"));
      assert.equal(shown.some((f) => /^(checksumStatus|flagBits)/.test(f)), false);
      // The framecat layer: the length prefix as the text shows it, and the JSON's bytes.
      assert.ok(shown.some((f) => f.startsWith('prefix: "14\\n"')), shown.join("\n"));
      assert.ok(shown.some((f) => f.startsWith("json: bytes 0-13 of 14")), shown.join("\n"));
    });

    await t.step("hovering a field lights up exactly its bytes, in hex and ASCII", async () => {
      for (const [layer, field] of [["tcp", "seq"], ["ipv4", "src"], ["ethernet", "etherType"]]) {
        await browser.hover(`.layer[data-layer="${layer}"] .f[data-key="${field}"]`);
        const bytes = span(rangeOf(4, layer, field));
        assert.deepEqual(
          await lit(),
          { hex: bytes, ascii: bytes, fields: [] },
          `${layer}.${field}`,
        );
        // And the field says the same range, inclusive.
        const [from, to] = rangeOf(4, layer, field);
        assert.match(
          await browser.evaluate<string>(
            `document.querySelector('.layer[data-layer="${layer}"] .f[data-key="${field}"] .r').textContent`,
          ),
          new RegExp(`\\[bytes ${from}–${to}\\]`),
        );
      }
      // The payload: the framecat frame `14\n"Hello World!"`, bytes 66 to 82.
      await browser.hover(`.layer[data-layer="payload"] .lh`);
      assert.deepEqual((await lit()).hex, span([66, 82]));
    });

    await t.step("hovering a byte lights up its field and that field's bytes", async () => {
      await browser.hover(`#bytes .asc .b[data-i="17"]`);
      assert.deepEqual(await lit(), {
        hex: span(rangeOf(4, "ipv4", "totalLength")),
        ascii: span(rangeOf(4, "ipv4", "totalLength")),
        fields: ["ipv4.totalLength"],
      });
    });

    const shot = `${dir}/dissect_html.png`;
    await t.step("focusing a field by keyboard lights up its bytes", async () => {
      await browser.evaluate(
        `document.querySelector('.layer[data-layer="ipv4"] .f[data-key="ttl"]').focus()`,
      );
      await browser.press("Tab");
      assert.equal(await browser.evaluate(`document.activeElement.dataset.key`), "protocol");
      await browser.page("Input.dispatchMouseEvent", { type: "mouseMoved", x: 1, y: 1 });
      assert.deepEqual((await lit()).hex, span(rangeOf(4, "ipv4", "protocol")));
    });

    await t.step("a message's packet number chooses that packet", async () => {
      await browser.click(`#conns button.pk[data-n="14"]`);
      assert.equal(
        await browser.evaluate(`document.querySelector("#details h2").textContent`),
        "Packet 14",
      );
      assert.equal(await browser.evaluate("document.activeElement.id"), "list");
      assert.match(
        await browser.evaluate<string>(`document.querySelector("#list .row.sel").textContent`),
        /framecat.*"h(é|\\u00e9)llo"/, // as it arrived: the seed escapes non-ASCII
      );
    });

    await t.step(
      "screenshot: the seed's JSON segment, its TCP sequence number hovered",
      async () => {
        await browser.evaluate("window.scrollTo(0, 0)");
        await browser.hover(`.layer[data-layer="tcp"] .f[data-key="seq"]`);
        const bytes = span(rangeOf(14, "tcp", "seq"));
        assert.deepEqual(await lit(), { hex: bytes, ascii: bytes, fields: [] });
        await Deno.writeFile(shot, await browser.screenshot());
        console.log(`html_test: screenshot of the report, a field hovered: ${shot}`);
        const copy = Deno.env.get("FRAMECAT_SCREENSHOT");
        if (copy) await Deno.copyFile(shot, copy);
      },
    );

    await t.step("bytes as data, bit ranges, meanings and text as it arrived", async () => {
      const ip = "4500001c000040004006000001020304050607080102030405060708090a0b0c";
      const other = `${dir}/other.html`;
      await Deno.writeTextFile(
        other,
        await page([{
          type: "packet",
          number: 7,
          length: 32,
          captured: 32,
          time: 1,
          data: Uint8Array.from(ip.match(/../g)!, (h) => parseInt(h, 16)),
          layers: [{
            layer: "ipv4",
            start: 0,
            end: 19,
            version: 4,
            protocol: 6,
            protocolName: "TCP",
            fieldRanges: { version: [0, 0], protocol: [9, 9] },
            fieldBits: { version: [7, 4] },
          }, { layer: "undissected", start: 20, end: 31 }],
        }, {
          type: "message",
          stream: "1.2.3.4:1 > 5.6.7.8:1234",
          packets: [7],
          bytes: 30,
          message: 1e400,
          text: '{"n":1e400,"s":"\u202e\u0007"}',
        }]),
      );
      await browser.open(new URL(`file://${other}`).href);
      const shown = await browser.evaluate<string[]>(
        `[...document.querySelectorAll("#details .f, #conns .msg")].map((e) => e.textContent)`,
      );
      assert.deepEqual(shown, [
        "version: 4  [byte 0, bits 7–4]",
        "protocol: 6 (TCP)  [byte 9]",
        '{"n":1e400,"s":"\\u202e\\u0007"}',
      ]);
      assert.equal(
        await browser.evaluate(`[...document.querySelectorAll("#bytes .hex .b")].length`),
        32,
      );
      await browser.hover(`.f[data-key="protocol"]`);
      assert.deepEqual(await lit(), { hex: [9], ascii: [9], fields: [] });
    });

    await t.step("thousands of messages are drawn as they scroll into view", async () => {
      const many: ReportRecord[] = records.filter((r) => r.type === "packet");
      for (let i = 0; i < 3000; i++) {
        many.push({
          type: "message",
          stream: `127.0.0.1:${40000 + i % 3} > 127.0.0.1:1234`,
          packets: [i % 2 ? 4 : 14],
          bytes: 9,
          message: { i },
        });
      }
      const other = `${dir}/many.html`;
      await Deno.writeTextFile(other, await page(many));
      await browser.open(new URL(`file://${other}`).href);
      const rows = () =>
        browser.evaluate<string[]>(
          `[...document.querySelectorAll("#mlist .mrow")].map((r) => r.textContent)`,
        );
      const first = await rows();
      assert.ok(first.length < 100, `${first.length} rows drawn`);
      assert.equal(first[0], "127.0.0.1:40000 > 127.0.0.1:1234  ·  1000 messages");
      assert.match(first[1], /^1\.\{"i":0\} 9 bytes; packet 14$/);
      await browser.evaluate(`new Promise((resolve) => {
        const list = document.getElementById("mlist");
        list.scrollTop = list.scrollHeight;
        requestAnimationFrame(() => requestAnimationFrame(resolve));
      })`);
      assert.match((await rows()).at(-1)!, /^1000\.\{"i":2999\} 9 bytes; packet 4$/);
      await browser.click(`#mlist .mrow:last-child button.pk`);
      assert.equal(
        await browser.evaluate(`document.querySelector("#details h2").textContent`),
        "Packet 4",
      );
    });

    await t.step(
      "report.html#7 opens on packet 7, and the address follows the choice",
      async () => {
        await browser.open(`${url}#7`);
        assert.equal(
          await browser.evaluate(`document.querySelector("#details h2").textContent`),
          "Packet 7",
        );
        await browser.evaluate(`location.hash = "#9"`);
        await browser.evaluate(`new Promise((resolve) => setTimeout(resolve, 50))`);
        assert.equal(
          await browser.evaluate(`document.querySelector("#details h2").textContent`),
          "Packet 9",
        );
      },
    );

    await t.step("no errors and no request beyond the file itself", () => {
      assert.deepEqual(browser.errors(), []);
      assert.deepEqual([...new Set(browser.requests())], [
        url,
        new URL(`file://${dir}/other.html`).href,
        new URL(`file://${dir}/many.html`).href,
      ]);
    });
  } finally {
    await browser.close();
    // The screenshot stays, where the test said.
    for (const name of ["report.html", "other.html", "many.html"]) {
      await Deno.remove(`${dir}/${name}`).catch(() => {});
    }
  }
});

Deno.test("framecat dissect --html writes 100,000 messages within a 48 MiB heap", async () => {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const messages = await writeExchange(path, { packets: 210_000 });
    assert.ok(messages > 99_000, `${messages} messages`);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--v8-flags=--max-old-space-size=48",
        MAIN,
        "dissect",
        "--html",
        path,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Counted as it streams: the page is over 100 MB.
    let found = 0;
    let tail = "";
    const counting = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stdout) {
        // The last 15 characters are looked at again: too few to hold a whole match.
        const text = tail + decoder.decode(chunk, { stream: true });
        found += text.split('"type":"message"').length - 1;
        tail = text.slice(-15);
      }
    })();
    const [status, stderr] = await Promise.all([
      child.status,
      new Response(child.stderr).text(),
      counting,
    ]);
    assert.equal(stderr, "");
    assert.equal(status.code, 0);
    assert.equal(found, messages);
  } finally {
    await Deno.remove(path);
  }
});
