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
let printed = 0;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

async function serve(conn: Deno.TcpConn): Promise<void> {
  const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
  const buffer = new Uint8Array(64 * 1024);
  let rest = new Uint8Array(0);
  try {
    for (let n; (n = await conn.read(buffer)) !== null;) {
      let data = rest.length > 0 ? concat(rest, buffer.subarray(0, n)) : buffer.subarray(0, n);
      const parts: Uint8Array[] = [];
      for (let lf; (lf = data.indexOf(10)) >= 0;) {
        let length = 0;
        for (let i = 0; i < lf; i++) length = length * 10 + data[i] - 48;
        if (data.length < lf + 1 + length) break;
        const payload = data.subarray(lf + 1, lf + 1 + length);
        parts.push(
          encoder.encode(
            json ? `{"peer":"${peer}","bytes":${length},"message":` : "Message from Sender :: ",
          ),
          payload,
          encoder.encode(json ? "}\n" : "\n"),
        );
        data = data.subarray(lf + 1 + length);
      }
      rest = data.slice();
      if (parts.length === 0) continue;
      const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
      parts.reduce((at, part) => (out.set(part, at), at + part.length), 0);
      for (let at = 0; at < out.length;) at += Deno.stdout.writeSync(out.subarray(at));
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
