// Shared by the client suites: where the node is, the test mnemonic, the compiled contract.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

export const RPC_URL = process.env.LATTICE_RPC_URL ?? "http://127.0.0.1:8545";
export const WS_URL = process.env.LATTICE_WS_URL ?? RPC_URL.replace(/^http/, "ws");
export const CHAIN_ID = 1337;
export const MNEMONIC = "test test test test test test test test test test test junk";

/** Emitter.sol compiled with solc-js (the compiler forge uses here too). */
export function compileEmitter() {
  const solc = require("solc");
  const input = {
    language: "Solidity",
    sources: { "Emitter.sol": { content: readFileSync(join(here, "Emitter.sol"), "utf8") } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "cancun",
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  const c = output.contracts["Emitter.sol"].Emitter;
  return { abi: c.abi, bytecode: "0x" + c.evm.bytecode.object };
}

/** Raw JSON-RPC over HTTP, for what the libraries hide (batches, malformed bodies). */
export async function post(body) {
  const res = await fetch(RPC_URL, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return res.json();
}

/** Resolves when `predicate()` is truthy, polling; rejects after `ms`. */
export async function until(predicate, ms = 20000, what = "condition") {
  const end = Date.now() + ms;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Calls `trigger()` (which makes something happen and returns what it made) again and again
 * until `seen(made)` is truthy, waiting up to `each` ms after each call; rejects after `ms`.
 * A subscription is proven live by an event that reaches it, never assumed live after a pause:
 * a trigger sent before the server registered the subscription is simply followed by another.
 */
export async function triggerUntil(trigger, seen, { ms = 60000, each = 3000, what = "event" } = {}) {
  const end = Date.now() + ms;
  const made = [];
  for (;;) {
    made.push(await trigger());
    const next = Math.min(end, Date.now() + each);
    for (;;) {
      const v = await seen(made);
      if (v) return { value: v, made };
      if (Date.now() >= next) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (Date.now() >= end) throw new Error(`timed out waiting for ${what} after ${made.length} triggers`);
  }
}
