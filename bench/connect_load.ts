/**
 * The seed's traffic pattern as a load: TOTAL connections to PORT on
 * loopback, CLIENTS at a time, each sending one frame (the seed's
 * `14\n"Hello World!"`) and closing, as the seed's sender.py does: the prefix
 * and the JSON in two writes.
 *
 * Connections go to 127.0.0.1 to 127.0.0.8 in turn (the receiver must listen
 * on 0.0.0.0): each closed connection holds its client port in TIME_WAIT for
 * a minute, and one destination has only ~28,000 of them, so that a few
 * rounds against one address stall on port reuse (1 s SYN retries) and
 * measure the kernel, not the receiver.
 *
 *   deno run --allow-net bench/connect_load.ts PORT TOTAL CLIENTS
 *
 * Prints how many connections were made and how many failed, as JSON.
 *
 * @module
 */

const [port, total, clients] = Deno.args.map(Number);
// As the seed's send_msg: the length prefix and the JSON in two writes, with
// Nagle's algorithm on (Deno's default, as Python's).
const prefix = new TextEncoder().encode("14\n");
const payload = new TextEncoder().encode('"Hello World!"');
let started = 0;
let failed = 0;

async function client(): Promise<void> {
  while (started < total) {
    started++;
    try {
      const hostname = `127.0.0.${1 + started % 8}`;
      const conn = await Deno.connect({ hostname, port });
      await conn.write(prefix);
      await conn.write(payload);
      conn.close();
    } catch {
      failed++;
    }
  }
}

await Promise.all(Array.from({ length: clients }, client));
console.log(JSON.stringify({ connections: total, failed }));
