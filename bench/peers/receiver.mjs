// deno-lint-ignore-file explicit-function-return-type
// A hand-written Node receiver of framecat's wire format, the peer that
// framecat's receiver must beat: reads each `<length>\n<JSON>` frame, checks
// it is UTF-8 and JSON (TextDecoder fatal, JSON.parse), and prints it as
// `receive --json` does, one `{"peer":..,"bytes":N,"message":..}` line per
// message, all the lines of one read in one write.
//   node receiver.mjs PORT [COUNT]     (exits 0 once COUNT messages are printed)
import net from "node:net";

const port = Number(process.argv[2]);
const count = Number(process.argv[3] ?? Infinity);
const decoder = new TextDecoder("utf-8", { fatal: true });
let printed = 0;

function line(peer, bytes) {
  const text = decoder.decode(bytes);
  const value = JSON.parse(text);
  const json = text.includes("\n") || text.includes("\r") ? JSON.stringify(value) : text;
  return `{"peer":"${peer}","bytes":${bytes.length},"message":${json}}\n`;
}

net.createServer((socket) => {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  let rest = null; // the start of a length prefix
  let body = null; // a payload longer than what has arrived, filled in as it comes
  let filled = 0;
  socket.on("data", (chunk) => {
    try {
      read(chunk);
    } catch {
      socket.destroy(); // a frame that is not UTF-8 or not JSON ends its connection
    }
  });
  const read = (chunk) => {
    let data = chunk, at = 0, out = "", n = 0;
    if (body) {
      at = Math.min(body.length - filled, chunk.length);
      filled += chunk.copy(body, filled, 0, at);
      if (filled < body.length) return;
      out += line(peer, body), n++, body = null;
    } else if (rest) data = Buffer.concat([rest, chunk]), rest = null;
    for (let lf; (lf = data.indexOf(10, at)) >= 0;) {
      const length = Number(data.latin1Slice(at, lf));
      if (!Number.isSafeInteger(length) || lf === at) return socket.destroy();
      if (lf + 1 + length > data.length) {
        body = Buffer.allocUnsafe(length), filled = data.copy(body, 0, lf + 1), at = data.length;
        break;
      }
      out += line(peer, data.subarray(lf + 1, lf + 1 + length)), n++, at = lf + 1 + length;
    }
    if (!body && at < data.length) rest = data.subarray(at);
    if (n > 0) process.stdout.write(out);
    if ((printed += n) >= count) process.exit(0);
  };
  socket.on("error", () => {});
}).listen(port, "127.0.0.1");
