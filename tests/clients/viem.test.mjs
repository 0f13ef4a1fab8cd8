// viem against a running Lattice node: deploy, write, logs and contract events, WebSocket
// watches of events and of pending transactions, revert decoding, and the node's own accounts (eth_sendTransaction,
// eth_signTypedData_v4).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import {
  createPublicClient, createWalletClient, http, webSocket, defineChain, parseAbiItem,
  BaseError, ContractFunctionRevertedError, verifyTypedData, parseEther,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { RPC_URL, WS_URL, CHAIN_ID, MNEMONIC, compileEmitter, triggerUntil } from "./lib.mjs";

const lattice = defineChain({
  id: CHAIN_ID,
  name: "Lattice dev",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [RPC_URL], webSocket: [WS_URL] } },
});
const publicClient = createPublicClient({ chain: lattice, transport: http(), pollingInterval: 100 });
const account = mnemonicToAccount(MNEMONIC, { addressIndex: 3 });
const wallet = createWalletClient({ account, chain: lattice, transport: http() });
const { abi, bytecode } = compileEmitter();
let address;

before(async () => {
  const hash = await wallet.deployContract({ abi, bytecode });
  const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  assert.equal(receipt.status, "success");
  address = receipt.contractAddress;
});

test("write, then getLogs and getContractEvents", async () => {
  const hashes = [];
  for (const [key, value] of [[1n, 11n], [2n, 22n]]) {
    hashes.push(await wallet.writeContract({ address, abi, functionName: "store", args: [key, value] }));
  }
  const receipts = [];
  for (const hash of hashes) receipts.push(await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 }));
  const fromBlock = receipts[0].blockNumber;
  const event = parseAbiItem("event Stored(address indexed who, uint256 indexed key, uint256 value)");
  const logs = await publicClient.getLogs({ address, event, fromBlock });
  assert.deepEqual(logs.map((l) => l.args.value), [11n, 22n]);
  const keyTwo = await publicClient.getContractEvents({ address, abi, eventName: "Stored", args: { key: 2n }, fromBlock });
  assert.equal(keyTwo.length, 1);
  assert.equal(keyTwo[0].args.who, account.address);
  assert.equal(await publicClient.readContract({ address, abi, functionName: "values", args: [2n] }), 22n);
});

test("watchContractEvent over WebSocket", async () => {
  const wsClient = createPublicClient({ chain: lattice, transport: webSocket() });
  const logs = [];
  let failed;
  const unwatch = wsClient.watchContractEvent({
    address, abi, eventName: "Stored",
    onLogs: (l) => logs.push(...l),
    onError: (e) => { failed = e; },
  });
  const store = async () => {
    const hash = await wallet.writeContract({ address, abi, functionName: "store", args: [5n, 55n] });
    await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
    return hash;
  };
  // Stores until the subscription has seen one of them: it is live once an event reaches it.
  const { made } = await triggerUntil(store, (hashes) => failed || logs.some((l) => hashes.includes(l.transactionHash)), {
    what: "a Stored log over WebSocket",
  });
  unwatch();
  assert.equal(failed, undefined);
  const log = logs.find((l) => made.includes(l.transactionHash));
  assert.equal(log.args.value, 55n);
  await wsClient.transport.getRpcClient().then((c) => c.close());
});

test("watchPendingTransactions over WebSocket (eth_subscribe newPendingTransactions)", async () => {
  const wsClient = createPublicClient({ chain: lattice, transport: webSocket() });
  const announced = [];
  let failed;
  const unwatch = wsClient.watchPendingTransactions({
    onTransactions: (hashes) => announced.push(...hashes),
    onError: (e) => { failed = e; },
  });
  // Sends until the subscription has announced one of them: it is live once one reaches it.
  const send = () => wallet.writeContract({ address, abi, functionName: "store", args: [6n, 66n] });
  const { made } = await triggerUntil(send, (hashes) => failed || hashes.some((h) => announced.includes(h)), {
    what: "a pending transaction's hash over WebSocket",
  });
  unwatch();
  assert.equal(failed, undefined);
  for (const hash of made) await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  await wsClient.transport.getRpcClient().then((c) => c.close());
});

test("simulateContract decodes a custom error; estimateContractGas a require reason", async () => {
  await assert.rejects(
    publicClient.simulateContract({ account, address, abi, functionName: "store", args: [1n, 5000n] }),
    (e) => {
      assert.ok(e instanceof BaseError);
      const revert = e.walk((x) => x instanceof ContractFunctionRevertedError);
      assert.equal(revert?.data?.errorName, "TooBig");
      assert.deepEqual(revert.data.args, [5000n, 1000n]);
      return true;
    },
  );
  await assert.rejects(
    publicClient.estimateContractGas({ account, address, abi, functionName: "positive", args: [0n] }),
    (e) => {
      const revert = e.walk((x) => x instanceof ContractFunctionRevertedError);
      assert.equal(revert?.reason, "value must be positive");
      return true;
    },
  );
});

test("the node's accounts: eth_sendTransaction and eth_signTypedData_v4", async () => {
  const [first] = await createWalletClient({ chain: lattice, transport: http() }).getAddresses();
  const nodeAccount = mnemonicToAccount(MNEMONIC, { addressIndex: 0 }).address;
  assert.equal(first, nodeAccount);
  const nodeWallet = createWalletClient({ account: nodeAccount, chain: lattice, transport: http() });
  const to = mnemonicToAccount(MNEMONIC, { addressIndex: 4 }).address;
  const before = await publicClient.getBalance({ address: to });
  const hash = await nodeWallet.sendTransaction({ to, value: parseEther("0.5") });
  const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  assert.equal(receipt.from.toLowerCase(), nodeAccount.toLowerCase());
  assert.equal(await publicClient.getBalance({ address: to }), before + parseEther("0.5"));

  const typed = {
    domain: { name: "Lattice", version: "1", chainId: CHAIN_ID, verifyingContract: address },
    types: { Order: [{ name: "maker", type: "address" }, { name: "amount", type: "uint256" }] },
    primaryType: "Order",
    message: { maker: nodeAccount, amount: 42n },
  };
  const signature = await nodeWallet.signTypedData(typed);
  assert.ok(await verifyTypedData({ address: nodeAccount, signature, ...typed }));
});
