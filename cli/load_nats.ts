/**
 * Loading the NATS parts of the commands (`nats.ts`) only when they are
 * asked for: `receive --to nats://...`, `consume`.
 *
 * @module
 */

/** What {@linkcode loadNats} resolves to: `nats.ts`. */
export type Nats = typeof import("./nats.ts");

/**
 * Loads `nats.ts` (and the npm NATS client under it) at run time. The
 * specifier is computed, so that it stays out of the module graph Deno
 * builds when framecat starts: otherwise Deno would resolve the npm
 * packages at every start, NATS asked for or not (a few milliseconds and
 * a megabyte more). Loading it so needs read access (`--allow-read`, which
 * the installed command and the compiled binary have); without it, the
 * error says so. `deno compile` includes it by name (`tools/compile.ts`).
 *
 * @example Needs the npm packages (downloaded on first use)
 * ```ts ignore
 * import { loadNats } from "./load_nats.ts";
 *
 * const { parseNatsTarget } = await loadNats();
 * console.log(parseNatsTarget("nats://127.0.0.1:4222/orders").servers);
 * ```
 */
export async function loadNats(): Promise<Nats> {
  const specifier = new URL(["nats", "ts"].join("."), import.meta.url).href;
  try {
    return await import(specifier);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable || /--allow-read/.test(String(error))) {
      throw new Error(
        "the NATS client is loaded from disk: run framecat with --allow-read too",
        { cause: error },
      );
    }
    throw error;
  }
}
