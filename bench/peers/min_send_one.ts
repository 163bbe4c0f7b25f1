// The minimal Deno sender of one message, the start-up anchor for
// `framecat send`: connects to 127.0.0.1:PORT, writes the seed's frame
// `14\n"Hello World!"` in one write, closes. No options, no checks, no proof
// of delivery.
//   deno run --allow-net min_send_one.ts PORT
const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(Deno.args[0]) });
await conn.write(new TextEncoder().encode('14\n"Hello World!"'));
conn.close();
