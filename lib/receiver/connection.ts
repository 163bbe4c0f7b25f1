/**
 * One connection a receiver serves: its read buffer and where its frames
 * stand in it, the large frame being read, the time it spent waiting on its
 * peer, what it writes back (acknowledgements, then the close notice), and
 * its close with a reason.
 *
 * @module
 */

import { type CloseCode, closeNoticeFrame } from "../close_notice.ts";
import { type FrameError, frameError, type FrameErrorCode } from "../framing.ts";
import { writeAll } from "../io.ts";
import { after, type Timer } from "../timer.ts";
import type { TlsServerConn } from "../tls_server.ts";
import type { PayloadSource } from "./destination.ts";

/** A connection accepted: TCP, or TLS over TCP. */
export type Conn = Deno.TcpConn | TlsServerConn;

/** How a connection learns that its messages are out for good, and its first buffer. */
export interface Settling {
  /** Resolves once everything handed over is out for good. */
  settle: () => Promise<void>;
  /** Whether everything handed over is out for good now (written at once if it can be). */
  settledNow: () => boolean;
  /** Its first read buffer, {@linkcode FIRST_BUFFER} bytes. */
  buf: Uint8Array;
  /** Takes back a first read buffer it no longer reads into. */
  give: (buf: Uint8Array) => void;
}

/** A `goodbye` already over. */
const CLOSED: Promise<void> = Promise.resolve();

const LF = 0x0a;
const decoder = new TextDecoder();
/** The read buffer starts this small, and grows fourfold while reads fill it. */
export const FIRST_BUFFER = 4 * 1024;
/**
 * A connection accepted while many are open starts reading into this little
 * (each waiting connection holds its buffer), grows to what its frames need,
 * and comes back to it whenever it holds no part of a frame.
 */
export const CROWDED_FIRST_BUFFER = 1024;
/**
 * How long a close notice may wait to be written (a peer that reads
 * nothing): the connection is closed then all the same.
 */
const NOTICE_WAIT = 1000;

/** A connection and its state; see the module. */
export class Connection implements PayloadSource {
  readonly conn: Conn;
  readonly peer: string;
  readonly id: number;
  mark?: Uint8Array;
  markSize?: number;
  markFor?: number;
  markPeer?: Uint8Array;
  /** The read buffer: bytes `start` to `end` are read and not yet taken. */
  buf: Uint8Array;
  start = 0;
  end = 0;
  /** Stream offset of `buf[0]`. */
  base = 0;
  /**
   * The size of the frame at `start`, prefix and payload, once its prefix
   * has arrived and not all of it: the room a buffer must have for it; 0
   * otherwise.
   */
  need = 0;
  /** Messages handed over. */
  frames = 0;
  /** Messages known to be out for good (their lines written): what its peer is told. */
  written = 0;
  /** A large frame being read: its declared length and payload bytes so far; -1 if none. */
  largeLength = -1;
  largeGot = 0;
  /** Stream offset of that frame. */
  largeStart = 0;
  /**
   * When the read under way began (`Date.now()`), or 0 while it is not
   * being read: its timeouts count only time spent waiting on its peer,
   * never time it waits on the receiver (output, memory, another
   * connection's line, a stopped process).
   */
  readingSince = 0;
  /** Milliseconds spent waiting on the peer since the partial frame began. */
  frameWaited = 0;
  /** Why the receiver closed it, once it has, in words and as a code for its peer. */
  closedFor?: string;
  closeCode?: CloseCode;
  /** Made on first use (most connections never wait): aborted when it is closed. */
  #closing: AbortController | undefined;
  /** Set while one of its payloads is being handed over (a long rewrite). */
  handing: Promise<void> | null = null;
  /** The close notice being written, then the close. */
  goodbye: Promise<void> | null = null;
  /** Everything written to the peer (acknowledgements, the close notice), in order. */
  #writes: Promise<void> | undefined;
  /** Resolves once everything handed over is out for good (the destination's settle). */
  #settle: () => Promise<void>;
  /** Whether everything handed over is out for good now (written at once if it can be). */
  #settledNow: () => boolean;
  #giveBuffer: (buf: Uint8Array) => void;
  /** Whether the read under way began inside a frame. */
  #partialRead = false;

  /**
   * A connection from `peer`, the `id`th of the receiver, whose messages are
   * out for good once `settle` resolves (or at once when `settledNow()` says
   * so), read into `buf`.
   */
  constructor(conn: Conn, peer: string, id: number, settling: Settling) {
    this.conn = conn;
    this.peer = peer;
    this.id = id;
    this.#settle = settling.settle;
    this.#settledNow = settling.settledNow;
    this.#giveBuffer = settling.give;
    this.buf = settling.buf;
  }

  /** Aborted when it is closed: ends its waits on memory and output. */
  get signal(): AbortSignal {
    if (this.#closing === undefined) {
      this.#closing = new AbortController();
      if (this.closedFor !== undefined) this.#closing.abort();
    }
    return this.#closing.signal;
  }

  /** Whether it is closed and nothing of it is left to write (no need to wait on `goodbye`). */
  get ended(): boolean {
    return this.goodbye === CLOSED;
  }

  /** Whether bytes of a frame not yet complete have arrived. */
  get partial(): boolean {
    return this.largeLength >= 0 || this.end > this.start;
  }

  /**
   * Reads from the peer into `p`. The wait is timed: only time spent
   * waiting on the peer counts toward its idle and frame timeouts.
   */
  async read(p: Uint8Array): Promise<number | null> {
    const partial = this.partial;
    this.readingSince = Date.now();
    try {
      return await this.conn.read(p);
    } finally {
      if (partial) this.frameWaited += Date.now() - this.readingSince;
      this.readingSince = 0;
    }
  }

  /**
   * Makes room to read more bytes into the buffer, first moving the partial
   * frame to the front when little room is left, and growing the buffer up
   * to `maxBuffer` while reads fill it (with `fit`, many connections open:
   * only as far as the frame in it needs); returns where to read into. The
   * wait is timed from now: only time spent waiting on the peer counts
   * toward its idle and frame timeouts. {@linkcode filled} takes the read's
   * outcome. (Two calls around the read, not one async function: a read
   * waiting on its peer holds the fewest objects.)
   */
  toFill(maxBuffer: number, fit = false): Uint8Array {
    let buf = this.buf;
    const held = this.end - this.start;
    if (fit && held === 0 && buf.length > CROWDED_FIRST_BUFFER) {
      // Many connections open and nothing of a frame held: wait on the peer
      // with a small buffer again, not the one its last frame needed (1,000
      // connections of 10 KB frames: 5 MiB less at the peak).
      this.base += this.start;
      this.start = this.end = 0;
      this.#replace(buf = new Uint8Array(CROWDED_FIRST_BUFFER));
    }
    if (buf.length - this.end < 1024 && this.start > 0 || this.end === buf.length) {
      if (buf.length < maxBuffer && (fit ? this.need > buf.length : held * 2 > buf.length)) {
        buf = this.#larger(maxBuffer, fit);
      }
      buf.set(this.buf.subarray(this.start, this.end));
      this.#replace(buf);
      this.base += this.start;
      this.start = 0;
      this.end = held;
    }
    this.#partialRead = this.partial;
    this.readingSince = Date.now();
    // The whole buffer itself where it is empty: one object fewer a read.
    return this.end === 0 ? buf : buf.subarray(this.end);
  }

  /**
   * Takes the outcome of the read into what {@linkcode toFill} returned: `n`
   * bytes, or `null` at the end of the stream. Returns false at a clean end;
   * throws a `TRUNCATED` {@linkcode FrameError} at an end inside a frame.
   * When a read fills the buffer, it grows for the next one (not with
   * `fit`: `toFill` grows it once the frame's size is known).
   */
  filled(n: number | null, maxBuffer: number, fit = false): boolean {
    if (this.#partialRead) this.frameWaited += Date.now() - this.readingSince;
    this.readingSince = 0;
    if (n === null) {
      if (this.end > this.start) throw this.truncated();
      return false;
    }
    const buf = this.buf;
    this.end += n;
    if (this.end === buf.length && this.start === 0 && buf.length < maxBuffer && !fit) {
      // Reads fill the buffer: a faster sender; grow it for the next read.
      const grown = this.#larger(maxBuffer, false);
      grown.set(buf.subarray(0, this.end));
      this.#replace(grown);
    }
    return true;
  }

  /**
   * A larger read buffer: four times as large, at most `maxBuffer` (no
   * step between that would be garbage at once); with `fit`, as large as
   * the frame in it needs, in steps of 256 bytes, at most `maxBuffer`.
   */
  #larger(maxBuffer: number, fit: boolean): Uint8Array {
    const size = fit ? Math.ceil(this.need / 256) * 256 : this.buf.length * 4;
    return new Uint8Array(Math.max(this.buf.length, Math.min(maxBuffer, size)));
  }

  /** Reads into `buf` from now on; the first buffer goes back to be reused. */
  #replace(buf: Uint8Array): void {
    if (buf !== this.buf && this.buf.length === FIRST_BUFFER) this.#giveBuffer(this.buf);
    this.buf = buf;
  }

  /**
   * Writes acknowledgements of messages `first` to `first + count - 1` once
   * `settled` resolves (their lines are out). Chained at once, so that a
   * close notice follows every acknowledgement of a message handed over.
   */
  ack(first: number, count: number): Promise<void> {
    let writes: Promise<void>;
    if (this.#writes === undefined && this.#settledNow()) {
      // Nothing written to the peer is under way and the lines are out: at
      // once (stop-and-wait, one message a read, comes here).
      this.written = Math.max(this.written, first + count - 1);
      writes = writeAll(this.conn, ackFrames(first, count));
    } else {
      writes = (this.#writes ?? Promise.resolve()).then(async () => {
        await this.#settle();
        this.written = Math.max(this.written, first + count - 1);
        await writeAll(this.conn, ackFrames(first, count));
      });
    }
    this.#writes = writes;
    // Once written, and nothing after it, the next write need not wait on it.
    writes.then(() => {
      if (this.#writes === writes) this.#writes = undefined;
    }, () => {});
    return writes;
  }

  /**
   * Closes the connection for a reason of the receiver's own: nothing more
   * of it is handed over, its peer is told why and how many of its messages
   * were taken, then it is closed (which also ends a read under way).
   */
  close(code: CloseCode, why: string): void {
    if (this.closedFor !== undefined) return;
    this.closedFor = why;
    this.closeCode = code;
    this.#closing?.abort();
    this.goodbye = this.#sayGoodbye(code, why);
  }

  /**
   * At the end of its serving: a refused frame (`code`) is said to the
   * peer, as `close` does. A connection its peer ended is closed once its
   * messages are out for good, so that its peer may take the close for
   * "printed"; if they cannot be, the peer is told `OUTPUT_FAILED` instead.
   */
  finish(code: CloseCode | undefined, why: string): void {
    if (this.goodbye !== null) return;
    if (code !== undefined) {
      this.goodbye = this.#sayGoodbye(code, why);
      return;
    }
    if (this.#settledNow()) {
      // The common end: its lines are written already, nothing to wait for.
      this.#closeQuietly();
      this.goodbye = CLOSED;
      return;
    }
    // A write that failed just now closed it, saying so.
    if (this.goodbye !== null) return;
    this.goodbye = this.#settle().then(
      () => this.#closeQuietly(),
      () => this.#sayGoodbye("OUTPUT_FAILED", "the receiver cannot write its output"),
    );
  }

  #closeQuietly(): void {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  /**
   * Writes the close notice after whatever is being written to the peer,
   * waiting at most {@linkcode NOTICE_WAIT} for a peer that reads nothing,
   * then closes the connection.
   */
  async #sayGoodbye(code: CloseCode, why: string): Promise<void> {
    // A payload of its being handed over counts, once it is out for good:
    // the notice says how many messages were printed, not queued.
    while (this.handing) await this.handing.catch(() => {});
    if (this.#settledNow()) {
      // Its lines are written already (a stop closes every connection at once: no promise).
      this.written = this.frames;
    } else {
      try {
        await this.#settle();
        this.written = this.frames;
      } catch {
        // The output failed: only what was known written counts.
      }
    }
    const notice = closeNoticeFrame({ closed: code, reason: why, messages: this.written });
    // After every acknowledgement, also when one could not be written.
    const writes = this.#writes;
    const written = writes === undefined
      ? writeAll(this.conn, notice)
      : writes.catch(() => {}).then(() => writeAll(this.conn, notice));
    await noticeWritten(written);
    this.#closeQuietly();
  }

  /** The error for frame `frames + 1`, starting at stream byte `offset`. */
  frameError(code: FrameErrorCode, offset: number, why: string): FrameError {
    return frameError(code, { frame: this.frames + 1, offset, reason: why });
  }

  /**
   * The error for a payload the checker refused: not UTF-8 if any of its
   * bytes are not (as a decoder would find first), else not JSON.
   */
  payloadError(offset: number, pieces: Uint8Array[], why: string): FrameError {
    const length = pieces.reduce((n, p) => n + p.length, 0);
    const size = length === 1 ? "1 byte" : `${length} bytes`;
    let utf8 = why.startsWith("invalid UTF-8");
    if (!utf8) {
      try {
        const strict = new TextDecoder("utf-8", { fatal: true });
        for (const p of pieces) strict.decode(p, { stream: true });
        strict.decode();
      } catch {
        utf8 = true;
        why = "a byte sequence is not UTF-8";
      }
    }
    return this.frameError(
      utf8 ? "INVALID_UTF8" : "INVALID_JSON",
      offset,
      utf8 ? `payload of ${size} is not valid UTF-8: ${why}` : `payload is not valid JSON: ${why}`,
    );
  }

  /** The error for a stream that ended inside a frame. */
  truncated(): FrameError {
    const offset = this.largeLength >= 0 ? this.largeStart : this.base + this.start;
    return this.frameError("TRUNCATED", offset, `stream ended ${this.describePartial()!}`);
  }

  /** How many complete frames wait in the buffer, not handed over. */
  unprinted(): number {
    let count = 0;
    for (let pos = this.start; pos < this.end; count++) {
      const lf = this.buf.subarray(pos, Math.min(this.end, pos + 11)).indexOf(LF);
      if (lf <= 0) break;
      const length = Number(decoder.decode(this.buf.subarray(pos, pos + lf)));
      if (!Number.isSafeInteger(length) || pos + lf + 1 + length > this.end) break;
      pos += lf + 1 + length;
    }
    return count;
  }

  /** Where the frame being read stands, or `undefined` between frames. */
  describePartial(): string | undefined {
    if (this.largeLength >= 0) return `after ${this.largeGot} of ${this.largeLength} payload bytes`;
    if (this.end === this.start) return undefined;
    const lf = this.buf.subarray(this.start, this.end).indexOf(LF);
    if (lf < 0) {
      const shown = JSON.stringify(decoder.decode(this.buf.subarray(this.start, this.end)));
      return `inside the length prefix ${shown}`;
    }
    const length = Number(decoder.decode(this.buf.subarray(this.start, this.start + lf)));
    const got = this.end - this.start - lf - 1;
    // Whole frames left unprinted (past `count`) are not partial.
    return got >= length ? undefined : `after ${got} of ${length} payload bytes`;
  }
}

/** Close notices being written, that one timer gives up on together. */
interface NoticeBatch {
  since: number;
  waiting: Set<() => void>;
  timer: Timer;
}

/** The batch that notices begun now join. */
let batch: NoticeBatch | undefined;

/**
 * Resolves once `written` settles, or after {@linkcode NOTICE_WAIT} (to 50
 * ms more). Notices begun within 50 ms of each other share one timer: a
 * receiver that stops closes every connection at once, and a timer each
 * would hold memory for each.
 */
function noticeWritten(written: Promise<void>): Promise<void> {
  const now = Date.now();
  let owner = batch;
  if (owner === undefined || now - owner.since > 50) {
    const fresh: NoticeBatch = { since: now, waiting: new Set(), timer: { cancel(): void {} } };
    fresh.timer = after(NOTICE_WAIT + 50, () => {
      for (const done of fresh.waiting) done();
    });
    owner = batch = fresh;
  }
  const joined = owner;
  return new Promise<void>((resolve) => {
    const done = () => {
      if (!joined.waiting.delete(done)) return;
      resolve();
      if (joined.waiting.size > 0) return;
      joined.timer.cancel();
      if (batch === joined) batch = undefined;
    };
    joined.waiting.add(done);
    written.then(done, done);
  });
}

const encoder = new TextEncoder();

/** The acknowledgement frames for messages `first` to `first + count - 1`. */
function ackFrames(first: number, count: number): Uint8Array {
  let text = "";
  for (let n = first; n < first + count; n++) {
    const json = `{"ack":${n}}`;
    text += `${json.length}\n${json}`;
  }
  return encoder.encode(text);
}
