// ethers v6 against a running Lattice node: deploy, events over HTTP and WebSocket, revert
// decoding, the error codes ethers derives from geth's messages, every transaction type,
// batches and malformed JSON.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ethers } from "ethers";
import { RPC_URL, WS_URL, CHAIN_ID, MNEMONIC, compileEmitter, post, until, triggerUntil } from "./lib.mjs";

const provider = new ethers.JsonRpcProvider(RPC_URL, CHAIN_ID, { staticNetwork: true, pollingInterval: 100 });
const wallet = (i) => ethers.HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).connect(provider);
const alice = wallet(1);
const bob = wallet(2);
let emitter;

before(async () => {
  const { abi, bytecode } = compileEmitter();
  const factory = new ethers.ContractFactory(abi, bytecode, alice);
  emitter = await factory.deploy();
  await emitter.waitForDeployment();
});

after(() => provider.destroy());

test("the network is chain 1337 and blocks carry the DAG fields", async () => {
  const network = await provider.getNetwork();
  assert.equal(network.chainId, 1337n);
  const block = await provider.send("eth_getBlockByNumber", ["latest", false]);
  assert.ok(block.blueScore && block.blueWork && Array.isArray(block.mergesetBlues));
  assert.ok((await provider.getBlockNumber()) > 0);
});

test("events: queryFilter by event and by indexed key, receipts' logs parse", async () => {
  const receipts = [];
  for (const [key, value] of [[1n, 10n], [2n, 20n], [1n, 30n]]) {
    const tx = await emitter.store(key, value);
    receipts.push(await tx.wait());
  }
  const parsed = emitter.interface.parseLog(receipts[0].logs[0]);
  assert.equal(parsed.name, "Stored");
  assert.equal(parsed.args.value, 10n);
  // On a wide DAG a reorg may move (or for a moment undo) where a transaction executed after
  // its receipt was read: query the whole chain, and wait for the three logs rather than
  // assume the first receipt's block is final.
  const ours = (events) => events.filter((e) => e.args.key === 1n || e.args.key === 2n);
  const all = await until(async () => {
    const found = ours(await emitter.queryFilter(emitter.filters.Stored(), 0));
    return found.length === 3 ? found : null;
  }, 20000, "the three Stored events");
  assert.deepEqual(all.map((e) => e.args.value), [10n, 20n, 30n]);
  const keyOne = await emitter.queryFilter(emitter.filters.Stored(null, 1n), 0);
  assert.deepEqual(keyOne.map((e) => e.args.value), [10n, 30n]);
  const byAlice = ours(await emitter.queryFilter(emitter.filters.Stored(alice.address), 0));
  assert.equal(byAlice.length, 3);
  const logs = await provider.getLogs({ address: await emitter.getAddress(), fromBlock: 0, toBlock: "latest" });
  const mine = logs.filter((l) => receipts.some((r) => r.hash === l.transactionHash));
  assert.equal(mine.length, 3);
  assert.equal(mine[2].transactionHash, receipts[2].hash);
});

test("events over WebSocket: contract.on and newHeads", async () => {
  const ws = new ethers.WebSocketProvider(WS_URL, CHAIN_ID, { staticNetwork: true });
  try {
    const watched = emitter.connect(ws);
    // Filtered on the key: on a wide DAG a reorg may re-deliver earlier events too.
    let event;
    let head;
    await watched.on(emitter.filters.Stored(null, 7n), (...args) => { event ??= args.at(-1).args; });
    await ws.on("block", (n) => { head ??= n; });
    // Stores until the subscriptions have seen one: they are live once an event reaches them.
    // The nonce straight from the node: ethers caches the pending count for 250 ms, and on a
    // wide DAG a receipt can come back sooner than that.
    const store = async () => {
      const nonce = Number(await provider.send("eth_getTransactionCount", [alice.address, "pending"]));
      return (await emitter.store(7n, 77n, { nonce })).wait();
    };
    await triggerUntil(store, () => event && head, {
      what: "a Stored event and a new head over WebSocket",
    });
    assert.equal(event.key, 7n);
    assert.equal(event.value, 77n);
    assert.equal(event.who, alice.address);
    assert.ok(head > 0);
  } finally {
    await ws.destroy();
  }
});

test("a custom error and a require reason decode from eth_call and eth_estimateGas", async () => {
  await assert.rejects(emitter.store.staticCall(1n, 5000n), (e) => {
    assert.equal(e.code, "CALL_EXCEPTION");
    assert.equal(e.revert?.name, "TooBig");
    assert.deepEqual([...e.revert.args], [5000n, 1000n]);
    return true;
  });
  await assert.rejects(emitter.store.estimateGas(1n, 5000n), (e) => {
    // ethers decodes custom errors only for calls; for an estimate it hands over the data.
    assert.equal(e.code, "CALL_EXCEPTION");
    assert.equal(emitter.interface.parseError(e.data)?.name, "TooBig");
    return true;
  });
  await assert.rejects(emitter.positive.staticCall(0n), (e) => {
    assert.equal(e.code, "CALL_EXCEPTION");
    assert.equal(e.reason, "value must be positive");
    return true;
  });
  await assert.rejects(emitter.positive.estimateGas(0n), (e) => e.reason === "value must be positive");
  assert.equal(await emitter.positive(5n), 5n);
});

test("NONCE_EXPIRED and INSUFFICIENT_FUNDS", async () => {
  await assert.rejects(
    bob.sendTransaction({ to: alice.address, value: 1n, nonce: 0, gasLimit: 21000 }).then(async (tx) => {
      await tx.wait(); // bob's nonce 0 is used by this one; the next send reuses it
      return bob.sendTransaction({ to: alice.address, value: 1n, nonce: 0, gasLimit: 21000 });
    }),
    (e) => e.code === "NONCE_EXPIRED",
  );
  const poor = ethers.Wallet.createRandom().connect(provider);
  await assert.rejects(
    poor.sendTransaction({ to: alice.address, value: ethers.parseEther("1"), gasLimit: 21000 }),
    (e) => e.code === "INSUFFICIENT_FUNDS",
  );
});

test("legacy EIP-155, EIP-2930 and EIP-1559 transactions", async () => {
  const to = ethers.Wallet.createRandom().address;
  const feeData = await provider.getFeeData();
  // One at a time: ethers caches eth_getTransactionCount for 250 ms, so back-to-back sends
  // from one wallet would reuse a nonce (against any node).
  const requests = [
    { type: 0, to, value: 1n, gasPrice: feeData.gasPrice, chainId: CHAIN_ID },
    { type: 1, to, value: 2n, gasPrice: feeData.gasPrice, accessList: [{ address: to, storageKeys: [ethers.ZeroHash] }] },
    { type: 2, to, value: 3n },
  ];
  const sent = [];
  const receipts = [];
  for (const request of requests) {
    const tx = await alice.sendTransaction(request);
    sent.push(tx);
    receipts.push(await tx.wait());
  }
  assert.deepEqual(receipts.map((r) => r.type), [0, 1, 2]);
  assert.ok(receipts.every((r) => r.status === 1));
  const legacy = await provider.getTransaction(sent[0].hash);
  assert.equal(legacy.chainId, 1337n, "EIP-155 protected");
  assert.equal(await provider.getBalance(to), 6n);
});

test("batch requests and malformed JSON", async () => {
  const batch = await post([
    { jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] },
    { jsonrpc: "2.0", id: 2, method: "eth_blockNumber", params: [] },
    { jsonrpc: "2.0", id: 3, method: "no_such_method", params: [] },
  ]);
  assert.equal(batch.length, 3);
  const byId = Object.fromEntries(batch.map((r) => [r.id, r]));
  assert.equal(byId[1].result, "0x539");
  assert.match(byId[2].result, /^0x[0-9a-f]+$/);
  assert.equal(byId[3].error.code, -32601);
  const malformed = await post('{"jsonrpc": "2.0", "id": 1, "method": ');
  assert.equal(malformed.error.code, -32700);
  // ethers batches concurrent calls into one request.
  const [n, balance, code] = await Promise.all([
    provider.getBlockNumber(),
    provider.getBalance(alice.address),
    provider.getCode(await emitter.getAddress()),
  ]);
  assert.ok(n > 0 && balance > 0n && code.length > 2);
});

test("polled filters: eth_newFilter and eth_getFilterChanges", async () => {
  const address = await emitter.getAddress();
  const id = await provider.send("eth_newFilter", [{ address }]);
  const tx = await emitter.store(9n, 99n);
  await tx.wait();
  // On a DAG a reorg re-announces the logs of blocks it adds back to the chain (as geth does
  // on a reorg), so earlier logs may come first: look for this transaction's.
  const seen = [];
  const ours = await until(async () => {
    seen.push(...(await provider.send("eth_getFilterChanges", [id])));
    return seen.find((l) => l.transactionHash === tx.hash) ?? null;
  }, 20000, "filter changes");
  assert.equal(emitter.interface.parseLog(ours).args.value, 99n);
  assert.ok(seen.every((l) => l.address.toLowerCase() === address.toLowerCase()));
  assert.equal(await provider.send("eth_uninstallFilter", [id]), true);
});
