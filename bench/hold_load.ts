/**
 * Many connections at once, as a load for a receiver's memory: opens CONNS
 * connections to 127.0.0.1:PORT (all open before any writes), then each writes
 * FRAMES frames whose payload is a JSON string of BYTES bytes, one write per
 * frame; `--short N` leaves the last N bytes of each connection's last frame
 * unsent (a frame that never completes). Writing stops at `--deadline`
 * seconds (default 60); then each connection is held until the receiver
 * closes it or `--hold` seconds (default 0) pass, and all are closed.
 *
 *   deno run --allow-net bench/hold_load.ts PORT CONNS FRAMES BYTES
 *     [--short N] [--deadline S] [--hold S]
 *
 * Prints {"connected","failed","written","complete","seconds"} as JSON:
 * `written` counts bytes, `complete` the connections that wrote everything.
 *
 * @module
 */

const [port, conns, frames, bytes] = Deno.args.slice(0, 4).map(Number);
function option(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}
const short = option("--short", 0);
const deadline = option("--deadline", 60) * 1000;
const hold = option("--hold", 0) * 1000;

const payload = new Uint8Array(bytes).fill(0x61);
payload[0] = payload[bytes - 1] = 0x22;
const prefix = new TextEncoder().encode(`${bytes}\n`);
const frame = new Uint8Array(prefix.length + bytes);
frame.set(prefix);
frame.set(payload, prefix.length);

const started = performance.now();
let failed = 0;
let written = 0;
let complete = 0;
const open: Deno.TcpConn[] = [];

// Connect in batches, so that a burst does not overflow the accept queue and
// measure SYN retries instead of the receiver.
for (let i = 0; i < conns; i += 100) {
  const batch = Array.from(
    { length: Math.min(100, conns - i) },
    () =>
      Deno.connect({ hostname: "127.0.0.1", port }).then(
        (conn) => void open.push(conn),
        () => void failed++,
      ),
  );
  await Promise.all(batch);
}

async function writeAll(conn: Deno.TcpConn, data: Uint8Array): Promise<void> {
  while (data.length > 0) {
    const n = await conn.write(data);
    written += n;
    data = data.subarray(n);
  }
}

async function feed(conn: Deno.TcpConn): Promise<void> {
  try {
    for (let f = 0; f < frames; f++) {
      const last = f === frames - 1;
      await writeAll(conn, last && short > 0 ? frame.subarray(0, frame.length - short) : frame);
    }
    complete++;
  } catch {
    // reset by the receiver, or closed at the deadline
  }
}

async function heldUntilClosed(conn: Deno.TcpConn): Promise<void> {
  const sink = new Uint8Array(4096);
  try {
    while ((await conn.read(sink)) !== null);
  } catch {
    // reset or closed
  }
}

function within(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise((resolve) => timer = setTimeout(resolve, ms)),
  ]).finally(() => clearTimeout(timer));
}

await within(Promise.all(open.map(feed)), deadline);
if (hold > 0) await within(Promise.all(open.map(heldUntilClosed)), hold);
const seconds = (performance.now() - started) / 1000;
for (const conn of open) {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
console.log(JSON.stringify({ connected: open.length, failed, written, complete, seconds }));
Deno.exit(0);
