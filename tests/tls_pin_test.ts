/**
 * TLS without a manual: `receive --tls` makes a certificate and prints its
 * fingerprint, `send --pin` trusts that one only, and openssl's usual
 * certificate, refused by TLS as a CA, is explained.
 */

import assert from "node:assert/strict";
import { framecat, needs, spawn, type StartedReceiver } from "./helpers.ts";

const FINGERPRINT = /SHA256:(?:[0-9A-F]{2}:){31}[0-9A-F]{2}/;

/** `receive --tls` on loopback, with what it printed of its certificate. */
async function startTlsReceiver(
  args: string[],
  permissions: string[] = [],
): Promise<StartedReceiver & { fingerprint: string }> {
  const running = spawn(["receive", "-H", "127.0.0.1", "-p", "0", ...args], { permissions });
  const port = Number((await running.waitFor(/Listening on 127\.0\.0\.1:(\d+)/))[1]);
  const fingerprint = running.stderr.match(FINGERPRINT)?.[0] ?? "";
  return Object.assign(running, { port, fingerprint });
}

Deno.test("framecat receive --tls makes a certificate whose fingerprint send --pin trusts", async () => {
  const receiver = await startTlsReceiver(["--tls", "--json", "--count", "2"]);
  assert.match(
    receiver.stderr,
    /^TLS certificate made for this run: SHA256:[0-9A-F:]{95}\nSenders connect with: framecat send --pin SHA256:[0-9A-F:]{95}\nListening on /,
  );
  const port = String(receiver.port);
  const pinned = await framecat([
    "send",
    "--tls",
    "--pin",
    receiver.fingerprint,
    "-p",
    port,
    "one",
  ]);
  assert.equal(pinned.code, 0, pinned.stderr);
  assert.match(pinned.stderr, /^Sent 1 message \(7 bytes\) to 127\.0\.0\.1:\d+\n$/);
  // --pin alone implies --tls; lowercase hex without colons is the same pin.
  const bare = receiver.fingerprint.slice(7).replaceAll(":", "").toLowerCase();
  const verbose = await framecat(["send", "-v", "--pin", bare, "-p", port, "two"]);
  assert.equal(verbose.code, 0, verbose.stderr);
  assert.ok(
    verbose.stderr.includes(
      `, TLS: its certificate ${receiver.fingerprint} is the pinned one\n`,
    ),
    verbose.stderr,
  );
  const { code, stdout } = await receiver.finished();
  assert.equal(code, 0);
  assert.deepEqual(stdout.trim().split("\n").map((line) => JSON.parse(line).message), [
    "one",
    "two",
  ]);
});

Deno.test("framecat send --pin refuses another certificate in one line, exit 1", async () => {
  const receiver = await startTlsReceiver(["--tls"]);
  try {
    const other = "SHA256:" + "AB:".repeat(31) + "AB";
    const { code, stderr } = await framecat(
      ["send", "--tls", "--pin", other, "-p", String(receiver.port), "secret"],
    );
    assert.equal(code, 1);
    assert.equal(
      stderr,
      `framecat: Cannot connect to 127.0.0.1:${receiver.port}: TLS: the receiver's certificate ` +
        `is ${receiver.fingerprint}, not the pinned ${other}: refusing it (another receiver, ` +
        "or one that made a new certificate: check the fingerprint it printed)\n",
    );
    // Without a pin or a CA, the made certificate is not trusted, and the words say why.
    const unpinned = await framecat(["send", "--tls", "-p", String(receiver.port), "secret"]);
    assert.equal(unpinned.code, 1);
    assert.match(unpinned.stderr, /not signed by an authority this sender trusts: .*--pin/);
  } finally {
    receiver.child.kill("SIGTERM");
    const { stdout } = await receiver.finished();
    assert.equal(stdout, "", "a refused sender sent nothing");
  }
});

Deno.test("framecat send --pin that is not a fingerprint is a usage error", async () => {
  for (const args of [["--pin", "SHA1:AB:CD"], ["--pin", "AB", "--tls", "--ca", "ca.pem"]]) {
    const { code, stderr } = await framecat(["send", ...args]);
    assert.equal(code, 2, stderr);
    assert.match(stderr, /^framecat send: (--pin: not a SHA-256 fingerprint|--ca or --pin)/);
  }
});

Deno.test(
  needs(
    "framecat send --ca with openssl's one-line certificate says what is wrong and the fix",
    "openssl",
  ),
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "framecat-openssl-" });
    try {
      // The usual one-liner: openssl makes it CA:TRUE, which TLS refuses for a server.
      const made = await new Deno.Command("openssl", {
        args: ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
          .concat(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
          .concat(["-addext", "subjectAltName=IP:127.0.0.1"])
          .concat(["-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`]),
        stdout: "null",
        stderr: "null",
      }).output();
      assert.ok(made.success);
      const openssl = await new Deno.Command("openssl", {
        args: ["x509", "-noout", "-fingerprint", "-sha256", "-in", `${dir}/cert.pem`],
        stdout: "piped",
      }).output();
      const fingerprint = "SHA256:" + new TextDecoder().decode(openssl.stdout).trim().split("=")[1];
      const tls = ["--tls-cert", `${dir}/cert.pem`, "--tls-key", `${dir}/key.pem`];
      const receiver = await startTlsReceiver(["-v", "--count", "1", ...tls], ["--allow-read"]);
      // -v says the fingerprint of a certificate from a file, as openssl computes it.
      assert.ok(receiver.stderr.includes(`TLS certificate ${dir}/cert.pem: ${fingerprint}\n`));
      const port = String(receiver.port);
      const refused = await framecat(
        ["send", "--tls", "--ca", `${dir}/cert.pem`, "-p", port, "x"],
        undefined,
        { permissions: ["--allow-read"] },
      );
      assert.equal(refused.code, 1);
      assert.equal(refused.stderr.split("\n").length, 2, refused.stderr);
      assert.match(
        refused.stderr,
        /TLS handshake failed: the receiver's certificate is a CA certificate \(basicConstraints CA:TRUE/,
      );
      assert.match(refused.stderr, /-addext basicConstraints=critical,CA:FALSE/);
      assert.ok(refused.stderr.includes(`replace --ca FILE with --pin ${fingerprint}\n`));
      // What it suggests works.
      const pinned = await framecat(["send", "--pin", fingerprint, "-p", port, "pinned"]);
      assert.equal(pinned.code, 0, pinned.stderr);
      assert.equal((await receiver.finished()).stdout, "Message from Sender :: pinned\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
