/**
 * Installs the `framecat` command: `deno install --global` of `main.ts` with
 * the permissions framecat needs (`--allow-net`, and `--allow-read` for TLS
 * files and captures), into `$DENO_INSTALL_ROOT/bin` (`~/.deno/bin` by
 * default), replacing an earlier install. Run it as `deno task install`, or
 * `npx -y deno@2.9.6 task install` where only Node.js is.
 *
 * The command `deno install` writes runs `deno` from `PATH`; where Deno came
 * from npx, there is none, so the command is made to run the Deno that
 * installed it, by its full path.
 *
 * @example
 * ```sh
 * DENO_INSTALL_ROOT=/tmp/fc deno task install && /tmp/fc/bin/framecat --version
 * ```
 *
 * @module
 */

const PERMISSIONS = ["--allow-net", "--allow-read"];

/** Options for {@linkcode install}. */
export interface InstallOptions {
  /** Where Deno's installs go; `bin/framecat` is put in it. Defaults to Deno's own choice. */
  root?: string;
}

/** What {@linkcode install} did. */
export interface Installed {
  /** The `framecat` command's file. */
  command: string;
  /** The Deno it runs. */
  deno: string;
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
  const repo = new URL("../", import.meta.url).pathname;
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
      "--config",
      `${repo}deno.json`,
      `${repo}main.ts`,
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
  const deno = Deno.execPath();
  const script = await Deno.readTextFile(command);
  const quoted = Deno.build.os === "windows" ? `"${deno}"` : `'${deno.replaceAll("'", `'\\''`)}'`;
  await Deno.writeTextFile(command, script.replace(/\bdeno run\b/, `${quoted} run`));
  return { command, deno };
}

if (import.meta.main) {
  try {
    const { command, deno } = await install();
    const bin = command.replace(/[/\\][^/\\]*$/, "");
    const separator = Deno.build.os === "windows" ? ";" : ":";
    const onPath = (Deno.env.get("PATH") ?? "").split(separator).includes(bin);
    console.log(`Installed framecat as ${command}, run by the Deno at ${deno}.`);
    if (!onPath) console.log(`Add ${bin} to PATH:\n  export PATH="${bin}:$PATH"`);
    console.log("Remove it with: deno task uninstall");
  } catch (error) {
    console.error(`framecat: cannot install: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
