/**
 * Installs the `framecat` command: `deno install --global` of framecat with
 * the permissions it needs (`--allow-net`, and `--allow-read` for TLS files
 * and captures), into `$DENO_INSTALL_ROOT/bin` (`~/.deno/bin` by default),
 * replacing an earlier install. Run it as `deno task install`, or
 * `npx -y deno@2.9.6 task install` where only Node.js is.
 *
 * What it installs is `main.ts` bundled by `deno bundle` into `dist/bundle/`:
 * one module for the dispatcher and one for each subcommand with what it
 * alone uses, loaded when it runs, and the chunks esbuild splits off that
 * the dispatcher and `send` import joined into one with `send`'s own,
 * `start.js`: a `framecat send` of a MESSAGE loads 2 modules (main.js and
 * start.js), not the 26 of the source nor the 10 esbuild writes for it. Where
 * `deno bundle` cannot run (it fetches esbuild from npm the first time), it
 * installs `main.ts` itself and says so.
 *
 * The command `deno install` writes runs `deno` from `PATH`; where Deno came
 * from npx, there is none, so the command is made to run the Deno that
 * installed it, by its full path. A Deno that lives in npm's cache (npx's
 * `_npx` folder) goes when the cache is cleared: that one is copied next to
 * the command first (`FRAMECAT_COPY_DENO=1` copies any), and the command
 * checks that its Deno is there, or says the one line that reinstalls it.
 *
 * @example
 * ```sh
 * DENO_INSTALL_ROOT=/tmp/fc deno task install && /tmp/fc/bin/framecat --version
 * ```
 *
 * @module
 */

/**
 * What the command may do: the network, reading TLS files and captures, and
 * one variable, which its launcher sets (see `cli/stdin_device.ts`).
 */
const PERMISSIONS = ["--allow-net", "--allow-read", "--allow-env=FRAMECAT_STDIN"];

/**
 * The launcher's line that tells framecat whether standard input is a
 * character device such as /dev/null: the shell's `test` knows at no cost,
 * where framecat itself would load `node:fs` (20 to 25 ms) to know. Where
 * the shell cannot see it (standard input closed, `<&-`, which Deno opens
 * on /dev/null; or no /dev/stdin), it says nothing, and framecat looks itself.
 */
const STDIN_LINE = "if [ ! -e /dev/stdin ]; then unset FRAMECAT_STDIN; " +
  "elif [ ! -t 0 ] && [ -c /dev/stdin ]; then export FRAMECAT_STDIN=device; " +
  "else export FRAMECAT_STDIN=other; fi";

/**
 * Flags for a faster start, about 1.5 ms of a `framecat send` together (see
 * the README's benchmark):
 * - `--unstable-lazy-dynamic-imports`: Deno reads a subcommand's modules when
 *   it runs, not every subcommand's (dissect's alone is 97 KB) before any.
 * - `--v8-flags=--no-lazy`: V8 compiles every function of a module with the
 *   module, so that Deno's code cache holds them all. Otherwise the functions
 *   a run calls are compiled anew in every run. Code without a cache compiles
 *   slower so, which Node's modules that Deno loads on demand are: a `send`
 *   from /dev/null and a `receive --ack`, which load `node:fs`, start about
 *   4 ms later.
 */
const START_FLAGS = ["--unstable-lazy-dynamic-imports", "--v8-flags=--no-lazy"];

/** Options for {@linkcode install}. */
export interface InstallOptions {
  /** Where Deno's installs go; `bin/framecat` is put in it. Defaults to Deno's own choice. */
  root?: string;
  /**
   * Copy the Deno that runs this next to the command (`bin/framecat-deno/deno`)
   * and run that one. Defaults to copying a Deno that lives in npm's cache.
   */
  copyDeno?: boolean;
}

/** What {@linkcode install} did. */
export interface Installed {
  /** The `framecat` command's file. */
  command: string;
  /** The Deno it runs. */
  deno: string;
  /** Why it installed `main.ts` rather than the bundle, if it did. */
  unbundled?: string;
  /** The folder of the Deno copied for it, if one was. */
  copied?: string;
}

/** Whether a Deno lives in npm's cache, which `npm cache clean` empties. */
function inNpmCache(path: string): boolean {
  return /[\/\\](_npx|\.npm)[\/\\]/.test(path);
}

/** The one line that installs framecat again, from its clone. */
function reinstall(): string {
  const repo = REPO.replace(/[\/\\]$/, "");
  return `cd '${repo.replaceAll("'", `'\\''`)}' && npx -y deno@${Deno.version.deno} task install`;
}

const REPO = new URL("../", import.meta.url).pathname;

/**
 * Bundles `main.ts` into `outdir` with `deno bundle`, split by subcommand,
 * and returns the path of the entry module there.
 *
 * @example
 * ```ts ignore
 * import { bundle } from "./install.ts";
 *
 * const entry = await bundle("/tmp/framecat-bundle");
 * ```
 */
export async function bundle(outdir: string): Promise<string> {
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--code-splitting",
      "--config",
      `${REPO}deno.json`,
      "--outdir",
      outdir,
      `${REPO}main.ts`,
    ],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!success) {
    const why = new TextDecoder().decode(stderr).trim().split("\n")[0];
    throw new Error(`deno bundle failed: ${why}`);
  }
  try {
    await joinSendChunks(outdir);
  } catch {
    // The bundle as esbuild split it works too, a little slower.
  }
  return `${outdir}/main.js`;
}

/** A module `deno bundle` wrote: its file name and the modules of the bundle it imports. */
interface Chunk {
  name: string;
  text: string;
  /** The bundle's modules it imports with `import`, loaded before it runs. */
  imports: string[];
}

/** An `import ... from "./x.js";` or `import "./x.js";` of a module of the bundle. */
const STATIC_IMPORT =
  /^import\s*(?:\{[^}]*\}\s*from\s*|[\w$]+\s+from\s*|\*\s*as\s+[\w$]+\s+from\s*)?"\.\/([^"\/]+\.js)";$/gm;

/** The name of the module that holds the chunks `send` starts with. */
const JOINED = "start.js";

/**
 * Joins into one module `send`'s module and the chunks that a `framecat
 * send` loads at start beside `main.js`, which then imports `send` from the
 * module it has loaded already. esbuild gives each small module shared by
 * subcommands (the timer, the errors, the address) a chunk of its own, and
 * each module loaded costs a start (the chunks of `send`, about 1.5 ms in
 * 8; `send`'s own, about 0.5 ms).
 *
 * It joins them with `deno bundle` itself, which renames what would clash.
 * Each module of the bundle is still in one file only: what it joins is
 * closed under `import` (every chunk a joined chunk imports is joined too),
 * so that the joined module imports none of the others, and every import of
 * a joined chunk is made an import of the joined module. A subcommand that
 * needs only some of them loads the rest with them: `wireshark` and
 * `--version` load the sender's 60 KB without running any of it.
 */
async function joinSendChunks(outdir: string): Promise<void> {
  const chunks = new Map<string, Chunk>();
  for await (const entry of Deno.readDir(outdir)) {
    if (!entry.isFile || !entry.name.endsWith(".js")) continue;
    const text = await Deno.readTextFile(`${outdir}/${entry.name}`);
    const imports = [...text.matchAll(STATIC_IMPORT)].map((m) => m[1]);
    chunks.set(entry.name, { name: entry.name, text, imports });
  }
  const send = /\bimport\("\.\/(send-[\w-]+\.js)"\)/.exec(chunks.get("main.js")!.text)?.[1];
  if (send === undefined || chunks.has(JOINED)) throw new Error("no send chunk");
  // What main.js and send's chunk import, and all that imports in turn.
  const joined = new Set<string>();
  const visit = (name: string) => {
    for (const dep of chunks.get(name)!.imports) {
      if (dep === "main.js" || dep === send) throw new Error(`${name} imports ${dep}`);
      if (!joined.has(dep)) {
        joined.add(dep);
        visit(dep);
      }
    }
  };
  visit("main.js");
  visit(send);
  joined.add(send);
  // Imports first: export * takes them in the order they run.
  const order: string[] = [];
  const place = (name: string) => {
    if (order.includes(name)) return;
    for (const dep of chunks.get(name)!.imports) place(dep);
    order.push(name);
  };
  for (const name of [...joined].sort()) place(name);
  // export * drops a name two of them export: none may.
  const exported = new Set<string>();
  for (const name of order) {
    const block = /^export \{([^}]*)\};\s*$/m.exec(chunks.get(name)!.text)?.[1] ?? "";
    for (const item of block.split(",").map((s) => s.trim()).filter(Boolean)) {
      const as = item.split(/\s+as\s+/).at(-1)!;
      if (exported.has(as)) throw new Error(`${as} exported twice`);
      exported.add(as);
    }
  }
  const entry = `${outdir}/joined_entry.mjs`;
  await Deno.writeTextFile(entry, order.map((name) => `export * from "./${name}";\n`).join(""));
  // Chunks that no joined chunk imports statically (loaded on demand) stay out.
  const others = [...chunks.keys()].filter((name) => !joined.has(name));
  const { success } = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--no-config",
      ...others.flatMap((name) => ["--external", `./${name}`]),
      "--output",
      `${outdir}/${JOINED}`,
      entry,
    ],
    stdout: "null",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).output();
  await Deno.remove(entry);
  if (!success) throw new Error("deno bundle could not join the chunks");
  const text = await Deno.readTextFile(`${outdir}/${JOINED}`);
  // It must import none of the bundle's other modules statically.
  if ([...text.matchAll(STATIC_IMPORT)].length > 0) {
    await Deno.remove(`${outdir}/${JOINED}`);
    throw new Error("the joined chunks import others");
  }
  // main.js loads send's module as the joined one, already loaded with it.
  for (const name of others) {
    const chunk = chunks.get(name)!;
    const rewritten = chunk.text.replace(`import("./${send}")`, `import("./${JOINED}")`).replace(
      /(^import\s*(?:\{[^}]*\}\s*from\s*|[\w$]+\s+from\s*|\*\s*as\s+[\w$]+\s+from\s*)?)"\.\/([^"\/]+\.js)";$/gm,
      (line, head: string, dep: string) => joined.has(dep) ? `${head}"./${JOINED}";` : line,
    );
    if (rewritten !== chunk.text) await Deno.writeTextFile(`${outdir}/${name}`, rewritten);
  }
  for (const name of joined) await Deno.remove(`${outdir}/${name}`);
}

/**
 * Installs `main.ts` as the `framecat` command, run by this Deno.
 *
 * @example
 * ```ts ignore
 * import { install } from "./install.ts";
 *
 * const { command } = await install({ root: "/tmp/framecat" });
 * ```
 */
export async function install(options: InstallOptions = {}): Promise<Installed> {
  const repo = REPO;
  let entry = `${repo}main.ts`;
  let unbundled: string | undefined;
  try {
    // Built beside the bundle that commands installed before run, which is
    // replaced only once the new one is whole.
    const outdir = `${repo}dist/bundle`;
    const fresh = `${outdir}.new`;
    await Deno.remove(fresh, { recursive: true }).catch(() => {});
    await bundle(fresh);
    await Deno.remove(outdir, { recursive: true }).catch(() => {});
    await Deno.rename(fresh, outdir);
    entry = `${outdir}/main.js`;
  } catch (error) {
    unbundled = (error as Error).message;
  }
  const root = options.root === undefined ? [] : ["--root", options.root];
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "install",
      "--global",
      "--force",
      "--name",
      "framecat",
      ...root,
      ...PERMISSIONS,
      ...START_FLAGS,
      "--no-config",
      entry,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const said = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  if (!success) throw new Error(`deno install failed: ${said.trim()}`);
  // It names the file it wrote on a line of its own.
  const command = /^(.*[\/\\]framecat(?:\.cmd)?)$/m.exec(said)?.[1]?.trim();
  if (!command) throw new Error(`deno install did not say where it put framecat: ${said.trim()}`);
  let deno = Deno.execPath();
  let copied: string | undefined;
  const windows = Deno.build.os === "windows";
  if (!windows && (options.copyDeno ?? inNpmCache(deno))) {
    copied = command.replace(/[^/\\]*$/, "framecat-deno");
    await Deno.mkdir(copied, { recursive: true });
    // Copied beside, then renamed: a command running the old copy keeps it.
    await Deno.copyFile(deno, `${copied}/deno.new`);
    await Deno.chmod(`${copied}/deno.new`, 0o755);
    await Deno.rename(`${copied}/deno.new`, `${copied}/deno`);
    deno = `${copied}/deno`;
  }
  const script = await Deno.readTextFile(command);
  const shellWord = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  const quoted = windows ? `"${deno}"` : shellWord(deno);
  // deno install still names a config of its own, `{"workspace": []}`, and
  // reading one costs about 0.8 ms of a start; --no-config reads none.
  // The path is one shell word, quoted in parts where it holds a quote.
  let run = script.replace(/\bdeno run\b/, `${quoted} run`)
    .replace(/ --config (?:'[^']*'|"(?:[^"\\]|\\.)*"|\\.|[^\s'"\\])+/, " --no-config");
  if (!windows) {
    // A Deno gone (npm's cache cleared) is said in one line, with the fix.
    const gone = `framecat: the Deno it runs, ${deno}, is gone; install framecat again: ` +
      reinstall();
    run = run.replace(
      /^exec /m,
      `[ -x ${quoted} ] || { echo ${shellWord(gone)} >&2; exit 127; }\n${STDIN_LINE}\nexec `,
    );
  }
  await Deno.writeTextFile(command, run);
  if (Deno.build.os !== "windows") {
    // What was written must run.
    const { success, stdout, stderr } = await new Deno.Command(command, {
      args: ["--version"],
      stdin: "null",
    }).output();
    const said = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    if (!success || !said.startsWith("framecat ")) {
      throw new Error(`the installed ${command} does not run: ${said.trim().split("\n")[0]}`);
    }
  }
  return { command, deno, unbundled, copied };
}

if (import.meta.main) {
  try {
    const copy = Deno.env.get("FRAMECAT_COPY_DENO");
    const { command, deno, unbundled, copied } = await install({
      copyDeno: copy === undefined ? undefined : copy === "1",
    });
    if (unbundled) console.log(`Installing main.ts as it is (${unbundled}).`);
    const bin = command.replace(/[/\\][^/\\]*$/, "");
    const separator = Deno.build.os === "windows" ? ";" : ":";
    const onPath = (Deno.env.get("PATH") ?? "").split(separator).includes(bin);
    console.log(`Installed framecat as ${command}, run by the Deno at ${deno}.`);
    if (!onPath) console.log(`Add ${bin} to PATH:\n  export PATH="${bin}:$PATH"`);
    // A command that works without deno on PATH.
    const quote = (path: string) => `'${path.replaceAll("'", `'\\''`)}'`;
    const remove = Deno.build.os === "windows"
      ? `del "${command}"`
      : `rm -f ${quote(command)}` + (copied ? ` && rm -rf ${quote(copied)}` : "");
    if (copied) console.log(`Copied the Deno it runs to ${copied}.`);
    console.log(`Remove it with: ${remove}`);
  } catch (error) {
    console.error(`framecat: cannot install: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
