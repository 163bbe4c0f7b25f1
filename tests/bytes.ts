/**
 * Byte helpers for the tests and benchmarks.
 *
 * @module
 */

/** Joins byte arrays into one. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Splits `data` into chunks of `size` bytes (the last may be shorter). */
export function chunks(data: Uint8Array, size: number): Uint8Array[] {
  const out = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}
