// The receiving half of the minimal Deno pair, the Deno runtime's ceiling for
// moving bytes: accepts one connection on 127.0.0.1:PORT, reads it into one
// buffer of KIB KiB (default 64, framecat's read size) and writes each read to
// standard output with `Deno.stdout.writeSync`; nothing parsed. Exits at the
// connection's end.
//   deno run --allow-net min_recv.ts PORT [KIB] > OUTPUT
const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args[0]) });
const conn = await listener.accept();
listener.close();
const buffer = new Uint8Array(Number(Deno.args[1] ?? 64) * 1024);
for (let n; (n = await conn.read(buffer)) !== null;) {
  for (let at = 0; at < n;) at += Deno.stdout.writeSync(buffer.subarray(at, n));
}
conn.close();
