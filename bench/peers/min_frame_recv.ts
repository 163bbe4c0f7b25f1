// A minimal Deno receiver of framecat's wire format, the runtime's level for
// many connections: serves every connection at once, cuts each one's bytes
// into `<length>\n<payload>` frames and prints a line per frame, all the
// lines of one read in one `Deno.stdout.writeSync`; no UTF-8 or JSON check,
// no limits, no connection events. Closes a connection at its end. With
// --json a line is `receive --json`'s {"peer":..,"bytes":N,"message":..}
// (the payload's bytes as they are), without it the seed's
// `Message from Sender :: <payload>`. Exits 0 once COUNT lines are printed.
//   deno run --allow-net min_frame_recv.ts HOST PORT [COUNT] [--json]
const [hostname, port] = [Deno.args[0], Number(Deno.args[1])];
const count = Deno.args[2] && Deno.args[2] !== "--json" ? Number(Deno.args[2]) : Infinity;
const json = Deno.args.includes("--json");
const encoder = new TextEncoder();
const SEED_HEAD = encoder.encode("Message from Sender :: ");
const LF = encoder.encode("\n");
const JSON_TAIL = encoder.encode("}\n");
let printed = 0;

async function serve(conn: Deno.TcpConn): Promise<void> {
  const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
  const tail = json ? JSON_TAIL : LF;
  let buffer = new Uint8Array(16 * 1024);
  let end = 0;
  try {
    for (;;) {
      if (end === buffer.length) {
        const bigger = new Uint8Array(buffer.length * 2);
        bigger.set(buffer);
        buffer = bigger;
      }
      const n = await conn.read(buffer.subarray(end));
      if (n === null) break;
      end += n;
      const parts: Uint8Array[] = [];
      let size = 0;
      let at = 0;
      for (let lf; (lf = buffer.indexOf(10, at)) >= 0 && lf < end;) {
        let length = 0;
        for (let i = at; i < lf; i++) length = length * 10 + buffer[i] - 48;
        if (end < lf + 1 + length) break;
        const head = json
          ? encoder.encode(`{"peer":"${peer}","bytes":${length},"message":`)
          : SEED_HEAD;
        const payload = buffer.subarray(lf + 1, lf + 1 + length);
        parts.push(head, payload, tail);
        size += head.length + payload.length + tail.length;
        at = lf + 1 + length;
      }
      if (parts.length === 0) continue;
      const out = new Uint8Array(size);
      parts.reduce((offset, part) => (out.set(part, offset), offset + part.length), 0);
      buffer.copyWithin(0, at, end);
      end -= at;
      for (let k = 0; k < out.length;) k += Deno.stdout.writeSync(out.subarray(k));
      printed += parts.length / 3;
      if (printed >= count) Deno.exit(0);
    }
  } catch {
    // reset by the sender
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

for await (const conn of Deno.listen({ hostname, port })) serve(conn);
