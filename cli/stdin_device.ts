/**
 * Whether standard input is a character device such as /dev/null, which
 * `send` with no MESSAGE answers with the seed's Hello World (an empty pipe
 * or file sends nothing). Deno 2 has no fstat of standard input of its own,
 * so the answer comes from the cheapest of three places:
 *
 * 1. `FRAMECAT_STDIN`, which the installed command's launcher sets from the
 *    shell's `[ -c /dev/stdin ]` (`tools/install.ts`), and which it alone may
 *    read (`--allow-env=FRAMECAT_STDIN`); it unsets it where the shell cannot
 *    see standard input (closed: Deno opens it on /dev/null);
 * 2. a stat of /dev/stdin, which Deno allows only with `--allow-all`;
 * 3. `node:fs`, whose `fstatSync` needs no permission but whose loading costs
 *    a start 20 to 25 ms.
 *
 * @module
 */

/** The variable the installed command's launcher sets: `device` or `other`. */
export const STDIN_VARIABLE = "FRAMECAT_STDIN";

/**
 * Whether standard input is a character device (and not a terminal, which
 * callers tell with `Deno.stdin.isTerminal()` first).
 *
 * @example
 * ```ts
 * import { stdinIsDevice } from "./stdin_device.ts";
 *
 * const device: boolean = await stdinIsDevice();
 * ```
 */
export async function stdinIsDevice(): Promise<boolean> {
  // Trusted only where this one variable may be read and no other, as the
  // launcher grants: under --allow-env or -A it may be the caller's own.
  const env = { name: "env", variable: STDIN_VARIABLE } as const;
  if (
    Deno.permissions.querySync(env).state === "granted" &&
    Deno.permissions.querySync({ name: "env" }).state !== "granted"
  ) {
    const said = Deno.env.get(STDIN_VARIABLE);
    if (said === "device" || said === "other") return said === "device";
  }
  try {
    return Deno.statSync("/dev/stdin").isCharDevice === true;
  } catch {
    // Not allowed without --allow-all, or no /dev/stdin (Windows).
  }
  const { fstatSync } = await import("node:fs");
  return fstatSync(0).isCharacterDevice();
}
