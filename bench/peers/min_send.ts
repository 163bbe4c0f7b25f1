// The sending half of the minimal Deno pair, the Deno runtime's ceiling for
// moving bytes: reads standard input into one buffer of KIB KiB (default 64,
// framecat's read size) and writes each read whole to the connection; nothing
// parsed, nothing framed. At the end of its input it shuts its side down and
// waits for the receiver's end, as `nc -N` does.
//   deno run --allow-net min_send.ts HOST PORT [KIB] < INPUT
const conn = await Deno.connect({ hostname: Deno.args[0], port: Number(Deno.args[1]) });
const buffer = new Uint8Array(Number(Deno.args[2] ?? 64) * 1024);
for (let n; (n = await Deno.stdin.read(buffer)) !== null;) {
  for (let at = 0; at < n;) at += await conn.write(buffer.subarray(at, n));
}
await conn.closeWrite();
while ((await conn.read(buffer)) !== null);
conn.close();
