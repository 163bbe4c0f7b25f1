// The Deno counterpart of ack_receiver.py, for the --ack benchmark: what a
// Deno program that does the same work costs, the floor under framecat's
// receiver. For each frame: checks it is UTF-8 and JSON (TextDecoder fatal,
// JSON.parse), prints it as `receive --json` does with one synchronous write
// (as Python's write and flush), then answers with the frame {"ack":N}.
// Serves one connection at a time.
//   deno run --allow-net ack_receiver.ts HOST PORT COUNT   (exits once COUNT are printed)
const [hostname, port, count] = [Deno.args[0], Number(Deno.args[1]), Number(Deno.args[2])];
const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();
const listener = Deno.listen({ hostname, port });
let printed = 0;

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let n = 0; n < bytes.length;) n += await conn.write(bytes.subarray(n));
}

while (printed < count) {
  const conn = await listener.accept();
  conn.setNoDelay(true);
  const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
  let buf = new Uint8Array(64 * 1024);
  let start = 0;
  let end = 0;
  let n = 0;
  while (printed < count) {
    const lf = buf.subarray(start, end).indexOf(10);
    const from = start + lf + 1;
    const length = lf < 0 ? -1 : Number(decoder.decode(buf.subarray(start, from - 1)));
    if (lf >= 0 && end - from >= length) {
      const text = decoder.decode(buf.subarray(from, from + length));
      const value = JSON.parse(text);
      const json = /[\n\r]/.test(text) ? JSON.stringify(value) : text;
      const line = encoder.encode(`{"peer":"${peer}","bytes":${length},"message":${json}}\n`);
      for (let k = 0; k < line.length;) k += Deno.stdout.writeSync(line.subarray(k));
      start = from + length;
      n++;
      printed++;
      const ack = `{"ack":${n}}`;
      await writeAll(conn, encoder.encode(`${ack.length}\n${ack}`));
      continue;
    }
    if (start > 0) buf.copyWithin(0, start, end), end -= start, start = 0;
    if (end === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const got = await conn.read(buf.subarray(end));
    if (got === null) break;
    end += got;
  }
  conn.close();
}
listener.close();
