// The sending half of the minimal Deno pair, the Deno runtime's ceiling for
// moving bytes: reads standard input into one 1 MiB buffer and writes each
// read whole to the connection; nothing parsed, nothing framed. At the end of
// its input it shuts its side down and waits for the receiver's end, as
// `nc -N` does.
//   deno run --allow-net min_send.ts HOST PORT < INPUT
const conn = await Deno.connect({ hostname: Deno.args[0], port: Number(Deno.args[1]) });
const buffer = new Uint8Array(1024 * 1024);
for (let n; (n = await Deno.stdin.read(buffer)) !== null;) {
  for (let at = 0; at < n;) at += await conn.write(buffer.subarray(at, n));
}
await conn.closeWrite();
while ((await conn.read(buffer)) !== null);
conn.close();
