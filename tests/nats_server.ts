/**
 * Test helpers: real nats-server processes with JetStream, on loopback
 * ports the system chose, each in a temporary directory, stopped at the end.
 *
 * @module
 */

import { delay } from "./helpers.ts";

/** A loopback port free a moment ago: bound to 127.0.0.1:0, then released. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Options for {@linkcode startNats}. */
export interface NatsServerOptions {
  /** Extra nats-server arguments (`--user`, `--pass`, ...). */
  args?: string[];
  /** Leave JetStream off. */
  noJetStream?: boolean;
}

/** One nats-server process, which can be killed and started again on its port and directory. */
export class NatsServer {
  readonly port: number;
  readonly dir: string;
  readonly args: string[];
  child: Deno.ChildProcess | undefined;
  log = "";

  constructor(port: number, dir: string, args: string[]) {
    this.port = port;
    this.dir = dir;
    this.args = args;
  }

  /** `nats://127.0.0.1:PORT`. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts it and waits until it takes connections (10 s at most). */
  async start(): Promise<void> {
    this.child = new Deno.Command("nats-server", {
      args: ["-a", "127.0.0.1", "-p", String(this.port), ...this.args],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    (async () => {
      for await (const text of this.child!.stderr.pipeThrough(new TextDecoderStream())) {
        this.log += text;
      }
    })().catch(() => {});
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
        conn.close();
        return;
      } catch {
        await delay(20);
      }
    }
    throw new Error(`nats-server on port ${this.port} did not start:\n${this.log}`);
  }

  /** Sends `signal` (SIGKILL: kill -9) and, unless it is SIGSTOP/SIGCONT, waits for the end. */
  async signal(signal: Deno.Signal): Promise<void> {
    if (!this.child) return;
    this.child.kill(signal);
    if (signal === "SIGSTOP" || signal === "SIGCONT") return;
    await this.child.status;
    this.child = undefined;
  }

  /** Stops it (SIGKILL after SIGCONT, so that a stopped one ends too) and removes its directory. */
  async stop(): Promise<void> {
    if (this.child) {
      try {
        this.child.kill("SIGCONT");
        this.child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await this.child.status;
      this.child = undefined;
    }
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** Starts one nats-server, with JetStream (file storage in a temporary directory) unless told not. */
export async function startNats(options: NatsServerOptions = {}): Promise<NatsServer> {
  const dir = await Deno.makeTempDir({ prefix: "framecat_nats_" });
  const js = options.noJetStream ? [] : ["-js", "-sd", dir];
  const server = new NatsServer(freePort(), dir, [...js, ...(options.args ?? [])]);
  await server.start();
  return server;
}

/** Three nats-servers routed into one JetStream cluster, each with ports and a directory of its own. */
export async function startCluster(): Promise<NatsServer[]> {
  const routes = [freePort(), freePort(), freePort()];
  const servers = await Promise.all(routes.map(async (route, i) => {
    const dir = await Deno.makeTempDir({ prefix: `framecat_nats_${i}_` });
    const others = routes.filter((r) => r !== route).map((r) => `nats://127.0.0.1:${r}`);
    return new NatsServer(freePort(), dir, [
      "-js",
      "-sd",
      dir,
      "-n",
      `node${i + 1}`,
      "--cluster_name",
      "framecat",
      "--cluster",
      `nats://127.0.0.1:${route}`,
      "--routes",
      others.join(","),
    ]);
  }));
  await Promise.all(servers.map((server) => server.start()));
  return servers;
}
