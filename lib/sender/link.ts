/**
 * One connection of a sender to a receiver, watched from its first byte to
 * its end: what was written on it, what the receiver said back
 * (acknowledgements, its close notice), when it closed and whether the
 * sender had finished by then, and writes or acknowledgements that stall.
 * `send()` in `../sender.ts` writes through it and decides from what it saw.
 *
 * @module
 */

import type { Conn } from "./connect.ts";
import { type CloseNotice, readCloseNotice } from "../close_notice.ts";
import { describeError } from "../errors.ts";
import { FrameReader } from "../framing.ts";
import { after, every, type Timer } from "../timer.ts";

/** A connection to a receiver: TCP, or TLS. */
export type { Conn } from "./connect.ts";

/** How the receiver's side of a connection ended, once it has. */
export interface LinkEnd {
  /** The receiver closed it (end of stream), rather than reset it or failing. */
  eof: boolean;
  /** Whether the sender had closed its own side first. */
  afterShutdown: boolean;
  /** The error reading ended with, if it did not end cleanly. */
  error?: unknown;
}

/** Options for {@linkcode Link}. */
export interface LinkOptions {
  /** Read `{"ack":N}` frames, and check each one. */
  ack: boolean;
  /** A write that makes no progress this long fails; 0 never. */
  writeTimeout: number;
  /** With `ack`: messages unacknowledged this long after the last acknowledgement fail; 0 never. */
  ackTimeout: number;
}

/** Frames the receiver sends back are small: a longer one is not framecat's. */
const MAX_REPLY_BYTES = 64 * 1024;

/** One connection to a receiver; see the module. */
export class Link {
  readonly conn: Conn;
  readonly peer: string;
  /** Messages whose write has begun. */
  issued = 0;
  /** Messages written whole. */
  written = 0;
  /** Messages acknowledged, with `ack`. */
  acked = 0;
  /** The receiver's close notice, if it sent one. */
  notice: CloseNotice | undefined;
  /** How the receiver's side ended, once it has. */
  end: LinkEnd | undefined;
  /** Why the link was given up: a stalled write, acknowledgements that break the protocol. */
  failure: Error | undefined;
  /** The receiver answered plain bytes with TLS. */
  tlsAnswer: Error | undefined;
  /** Reading the receiver's replies; resolves when they end. */
  readonly reading: Promise<void>;
  #options: LinkOptions;
  #shutdown = false;
  /** When the write under way began, or 0. */
  #writingSince = 0;
  /** When the oldest unacknowledged message was written, or the last acknowledgement came. */
  #ackClock = 0;
  #watch: Timer | undefined;
  #wake: (() => void) | undefined;

  /** Watches `conn`, whose receiver is `peer`. */
  constructor(conn: Conn, peer: string, options: LinkOptions) {
    this.conn = conn;
    this.peer = peer;
    this.#options = options;
    this.reading = this.#read();
    const bounds = [options.writeTimeout, options.ack ? options.ackTimeout : 0].filter((t) =>
      t > 0 && t < Infinity
    );
    if (bounds.length > 0) {
      this.#watch = every(Math.min(1000, ...bounds.map((t) => t / 4)), () => this.#check());
    }
  }

  /** Whether the receiver's side has ended, or the link was given up. */
  get closed(): boolean {
    return this.end !== undefined || this.failure !== undefined || this.notice !== undefined;
  }

  /** Writes one batch of `messages` frames whole; rejects if the connection fails or stalls. */
  async write(data: Uint8Array, messages: number): Promise<void> {
    if (this.acked === this.issued) this.#ackClock = Date.now();
    this.issued += messages;
    try {
      for (let n = 0; n < data.length;) {
        this.#writingSince = Date.now();
        const wrote = await this.conn.write(n === 0 ? data : data.subarray(n));
        if (wrote <= 0) throw new Deno.errors.WriteZero("the connection took no bytes");
        n += wrote;
      }
    } finally {
      this.#writingSince = 0;
    }
    this.written += messages;
  }

  /**
   * Closes the sending side (the receiver reads the end of the stream);
   * rejects if the connection is already gone.
   */
  async closeWrite(): Promise<void> {
    this.#shutdown = true;
    await this.conn.closeWrite();
  }

  /**
   * Resolves once `done()` is true, the receiver's side ends, the link is
   * given up, or `ms` have passed (then to `false`).
   */
  async until(done: () => boolean, ms: number): Promise<boolean> {
    let timer: Timer | undefined;
    let expired = false;
    const deadline = ms === Infinity ? undefined : new Promise<void>((resolve) => {
      timer = after(ms, () => {
        expired = true;
        resolve();
      });
    });
    try {
      while (!done() && !this.closed && !expired) {
        const woken = new Promise<void>((resolve) => this.#wake = resolve);
        await (deadline ? Promise.race([woken, deadline]) : woken);
      }
    } finally {
      timer?.cancel();
      this.#wake = undefined;
    }
    return !expired || done();
  }

  /** Stops watching and closes the connection. */
  close(): void {
    this.#watch?.cancel();
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  /** Gives the link up: the connection is closed, and `failure` says why. */
  #fail(error: Error): void {
    this.failure ??= error;
    this.close();
    this.#wake?.();
  }

  /** Checks for stalls: a write or an acknowledgement that does not come. */
  #check(): void {
    const now = Date.now();
    const { writeTimeout, ackTimeout, ack } = this.#options;
    if (writeTimeout > 0 && this.#writingSince > 0 && now - this.#writingSince >= writeTimeout) {
      this.#fail(
        new Error(`the receiver read nothing for ${seconds(writeTimeout)} (write timeout)`),
      );
    } else if (
      ack && ackTimeout > 0 && this.acked < this.issued && now - this.#ackClock >= ackTimeout
    ) {
      this.#fail(
        new Error(
          `Message ${this.acked + 1} was not acknowledged within ${seconds(ackTimeout)}`,
        ),
      );
    }
  }

  /** Reads what the receiver sends back until it ends. */
  async #read(): Promise<void> {
    const replies = new TlsSniffer(this.conn, this.peer);
    const reader = new FrameReader(replies, { maxBytes: MAX_REPLY_BYTES });
    try {
      while (true) {
        let frames;
        try {
          frames = await reader.readBatch();
        } catch (error) {
          if (replies.tlsAnswer || !(error instanceof SyntaxError || isFrameError(error))) {
            throw error;
          }
          // Not framecat's replies: without acknowledgements they are read
          // and dropped, so that they never fill the socket's buffers.
          if (this.#options.ack) {
            this.#fail(
              new Error(
                `the receiver sent what is not an acknowledgement: ${describeError(error)}`,
              ),
            );
            return;
          }
          await drain(replies);
          frames = null;
        }
        if (frames === null) break;
        for (const { value } of frames) this.#take(value);
        if (this.failure) return;
        this.#wake?.();
      }
      this.end = { eof: true, afterShutdown: this.#shutdown };
    } catch (error) {
      this.tlsAnswer = replies.tlsAnswer;
      this.end = { eof: false, afterShutdown: this.#shutdown, error };
    } finally {
      this.#wake?.();
    }
  }

  /** One frame from the receiver: a notice, an acknowledgement, or neither. */
  #take(value: unknown): void {
    const notice = readCloseNotice(value);
    if (notice) {
      this.notice ??= notice;
      return;
    }
    if (!this.#options.ack || this.notice) return;
    const n = (value as { ack?: unknown } | null)?.ack;
    const next = this.acked + 1;
    if (n !== next || next > this.issued) {
      const why = n !== next
        ? `expected the acknowledgement of message ${next}, got ${shown(value)}`
        : `it acknowledged message ${next}, which was not sent yet`;
      this.#fail(new Error(`The receiver's acknowledgements cannot be trusted: ${why}`));
      return;
    }
    this.acked = next;
    this.#ackClock = Date.now();
  }
}

/** A value as a message shows it: its JSON, cut at 100 characters. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 100 ? text.slice(0, 97) + "..." : text;
}

function seconds(ms: number): string {
  return `${ms / 1000} s`;
}

function isFrameError(error: unknown): boolean {
  return error instanceof Error && error.name === "FrameError";
}

/** Reads and drops the rest of what the receiver sends. */
async function drain(replies: TlsSniffer): Promise<void> {
  const buf = new Uint8Array(16 * 1024);
  while (await replies.read(buf) !== null) {
    // Nothing but frames is expected back.
  }
}

/**
 * Reads what the receiver sends back. On a plain connection, a first byte
 * that starts a TLS record (an alert or a handshake, then major version 3)
 * means the receiver speaks TLS: reading then fails, saying so.
 */
class TlsSniffer {
  /** The error reading failed with, if the receiver answered with TLS. */
  tlsAnswer: Error | undefined;
  #conn: Conn;
  #peer: string;
  #checked: boolean;

  constructor(conn: Conn, peer: string) {
    this.#conn = conn;
    this.#peer = peer;
    this.#checked = "handshake" in conn;
  }

  async read(p: Uint8Array): Promise<number | null> {
    const n = await this.#conn.read(p);
    if (!this.#checked && n !== null && n > 0) {
      this.#checked = true;
      if ((p[0] === 0x15 || p[0] === 0x16) && (n === 1 || p[1] === 0x03)) {
        this.tlsAnswer = new Error(
          `Cannot send to ${this.#peer}: the receiver answered with TLS; add --tls`,
        );
        throw this.tlsAnswer;
      }
    }
    return n;
  }
}
