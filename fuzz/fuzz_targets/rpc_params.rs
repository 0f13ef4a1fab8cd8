//! JSON-RPC requests as a caller sends them, through the node's real RPC module (`eth_module`,
//! jsonrpsee's dispatch and every method's parameter parsing and checks).
//!
//! The first byte picks a method (in the module's own sorted list) and the rest is its
//! `params`; a first byte of 255 sends the rest as the whole request, so jsonrpsee's request
//! parsing is fuzzed as well. Behind the module stands [`ChainOfThousand`], a node whose chain
//! is 1,001 empty blocks: enough for block tags, numbers and ranges to resolve, and small
//! enough to run a million requests. It checks what the RPC layer promises the node: block
//! numbers within the chain, log ranges and filters within their limits, `eth_getProof` key
//! counts bounded, and a bounded number of node reads per request. Each answer must be a
//! JSON-RPC response for the request, and never an internal error (this node never fails, so
//! an internal error means a handler panicked or mishandled its input).
#![no_main]

use alloy_consensus::TxEnvelope;
use alloy_eips::eip2930::AccessList;
use alloy_primitives::{Address, B256, U256};
use lattice_evm::trace::{GethDebugTracingOptions, GethTrace};
use lattice_evm::{CallError, CallOutcome, CallRequest};
use lattice_rpc::logs::{LogLimits, MAX_FILTER_ADDRESSES, MAX_FILTER_SUBTOPICS};
use lattice_rpc::{
    AccountView, BlockLogs, ChainBlock, ChainEvent, DagBlockView, EventBlock, NodeApi, PoolGroups,
    ReceiptView, RpcConfig, RpcError, TxView, MAX_FEE_HISTORY_BLOCKS, MAX_PROOF_KEYS,
};
use libfuzzer_sys::fuzz_target;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::broadcast;

/// Number of the newest block.
const LATEST: u64 = 1_000;
/// Number of the newest final block.
const FINALIZED: u64 = 990;
/// Most node reads one request may cause: a full `eth_feeHistory` reads a block per block
/// reported; nothing else comes close.
const READ_BUDGET: usize = 2 * MAX_FEE_HISTORY_BLOCKS as usize + 64;

/// The node behind the module: 1,001 empty chain blocks, an empty pool, no peers.
struct ChainOfThousand {
    reads: AtomicUsize,
    events: broadcast::Sender<Arc<ChainEvent>>,
    pending: broadcast::Sender<Arc<TxView>>,
}

impl ChainOfThousand {
    fn read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    /// A block number the RPC layer hands over must be on the chain.
    fn at(&self, number: u64) {
        self.read();
        assert!(number <= LATEST, "block {number} past the chain's {LATEST} reached the node");
    }
}

fn success(req: &CallRequest) -> CallOutcome {
    CallOutcome::Success {
        gas_used: 21_000,
        gas_spent: 21_000,
        output: req.input.clone(),
        logs: Vec::new(),
    }
}

impl NodeApi for ChainOfThousand {
    fn chain_id(&self) -> u64 {
        1337
    }
    fn peer_count(&self) -> usize {
        0
    }
    fn latest_number(&self) -> Result<u64, RpcError> {
        self.read();
        Ok(LATEST)
    }
    fn finalized_number(&self) -> Result<u64, RpcError> {
        self.read();
        Ok(FINALIZED)
    }
    fn number_of(&self, hash: B256) -> Result<Option<u64>, RpcError> {
        self.read();
        // Hashes 0x00…00nn name chain blocks; every other hash is unknown.
        Ok((hash[..30].iter().all(|b| *b == 0)).then(|| u64::from(hash[31]) % (LATEST + 1)))
    }
    fn chain_block(&self, number: u64) -> Result<Option<ChainBlock>, RpcError> {
        self.at(number);
        Ok(None)
    }
    fn account(&self, number: u64, _: Address) -> Result<AccountView, RpcError> {
        self.at(number);
        Ok(AccountView::default())
    }
    fn storage(&self, number: u64, _: Address, _: B256) -> Result<U256, RpcError> {
        self.at(number);
        Ok(U256::ZERO)
    }
    fn pending_nonce(&self, _: Address) -> Result<u64, RpcError> {
        self.read();
        Ok(0)
    }
    fn call(
        &self,
        number: u64,
        req: &CallRequest,
    ) -> Result<Result<CallOutcome, CallError>, RpcError> {
        self.at(number);
        Ok(Ok(success(req)))
    }
    fn estimate_gas(
        &self,
        number: u64,
        _: &CallRequest,
    ) -> Result<Result<Result<u64, CallOutcome>, CallError>, RpcError> {
        self.at(number);
        Ok(Ok(Ok(21_000)))
    }
    fn proof(
        &self,
        number: u64,
        address: Address,
        keys: Vec<alloy_serde::storage::JsonStorageKey>,
    ) -> Result<alloy_rpc_types_eth::EIP1186AccountProofResponse, RpcError> {
        self.at(number);
        assert!(keys.len() <= MAX_PROOF_KEYS, "{} proof keys reached the node", keys.len());
        Ok(alloy_rpc_types_eth::EIP1186AccountProofResponse { address, ..Default::default() })
    }
    fn create_access_list(
        &self,
        number: u64,
        req: &CallRequest,
    ) -> Result<Result<(AccessList, CallOutcome), CallError>, RpcError> {
        self.at(number);
        Ok(Ok((AccessList::default(), success(req))))
    }
    fn trace_call(
        &self,
        number: u64,
        _: &CallRequest,
        _: GethDebugTracingOptions,
    ) -> Result<Result<GethTrace, CallError>, RpcError> {
        self.at(number);
        Ok(Err(CallError::Invalid("this node executes nothing".into())))
    }
    fn trace_transaction(
        &self,
        _: B256,
        _: GethDebugTracingOptions,
    ) -> Result<Option<GethTrace>, RpcError> {
        self.read();
        Ok(None)
    }
    fn send_transaction(&self, tx: TxEnvelope) -> Result<B256, RpcError> {
        self.read();
        Ok(*tx.tx_hash())
    }
    fn transaction(&self, _: B256) -> Result<Option<TxView>, RpcError> {
        self.read();
        Ok(None)
    }
    fn receipt(&self, _: B256) -> Result<Option<ReceiptView>, RpcError> {
        self.read();
        Ok(None)
    }
    fn next_base_fee(&self) -> Result<u64, RpcError> {
        self.read();
        Ok(1_000_000_000)
    }
    fn suggested_tip(&self) -> u128 {
        1_000_000_000
    }
    fn accounts(&self) -> Vec<Address> {
        Vec::new()
    }
    fn sign_hash(&self, from: Address, _: B256) -> Result<alloy_primitives::Signature, RpcError> {
        Err(RpcError::Rejected(format!("unknown account {from}")))
    }
    fn txpool_content(&self) -> (PoolGroups, PoolGroups) {
        Default::default()
    }
    fn txpool_status(&self) -> (usize, usize) {
        (0, 0)
    }
    fn node_info(&self) -> Result<serde_json::Value, RpcError> {
        Ok(serde_json::json!({}))
    }
    fn peers(&self) -> Result<serde_json::Value, RpcError> {
        Ok(serde_json::json!([]))
    }
    fn syncing(&self) -> Option<(u64, u64, u64)> {
        None
    }
    fn log_candidates(
        &self,
        from: u64,
        to: u64,
        addresses: &[Address],
        topics: &[Vec<B256>],
    ) -> Result<Vec<u64>, RpcError> {
        self.at(to);
        let max = LogLimits::default().max_blocks;
        assert!(from <= to && to - from < max, "log range {from}..={to} reached the node");
        assert!(addresses.len() <= MAX_FILTER_ADDRESSES, "{} addresses", addresses.len());
        assert!(topics.len() <= 4, "{} topic positions reached the node", topics.len());
        assert!(topics.iter().all(|t| t.len() <= MAX_FILTER_SUBTOPICS), "topic alternatives");
        Ok(Vec::new())
    }
    fn block_logs(&self, number: u64) -> Result<Option<BlockLogs>, RpcError> {
        self.at(number);
        Ok(None)
    }
    fn assemble(&self, _: &EventBlock) -> Result<ChainBlock, RpcError> {
        unreachable!("this chain never moves")
    }
    fn chain_events(&self) -> broadcast::Receiver<Arc<ChainEvent>> {
        self.events.subscribe()
    }
    fn pending_transactions(&self) -> broadcast::Receiver<Arc<TxView>> {
        self.pending.subscribe()
    }
    fn dag_tips(&self) -> Result<Vec<B256>, RpcError> {
        self.read();
        Ok(Vec::new())
    }
    fn dag_block(&self, _: B256) -> Result<Option<DagBlockView>, RpcError> {
        self.read();
        Ok(None)
    }
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    node: Arc<ChainOfThousand>,
    module: jsonrpsee::RpcModule<lattice_rpc::RpcContext<ChainOfThousand>>,
    methods: Vec<&'static str>,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let node = Arc::new(ChainOfThousand {
            reads: AtomicUsize::new(0),
            events: broadcast::channel(16).0,
            pending: broadcast::channel(16).0,
        });
        // Every namespace, as `--dev` serves them.
        let config = RpcConfig {
            apis: lattice_rpc::RPC_APIS.iter().map(|a| a.to_string()).collect(),
            ..RpcConfig::default()
        };
        let module = {
            let _entered = runtime.enter();
            lattice_rpc::eth_module(node.clone(), None, &config)
        };
        let mut methods: Vec<&'static str> = module.method_names().collect();
        methods.sort_unstable();
        Harness { runtime, node, module, methods }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let Ok(rest) = std::str::from_utf8(rest) else { return };
    let h = harness();
    let (request, method) = if pick == 255 {
        (rest.to_owned(), None)
    } else {
        let method = h.methods[usize::from(pick) % h.methods.len()];
        (format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{rest}}}"#), Some(method))
    };
    h.node.reads.store(0, Ordering::Relaxed);
    let Ok((answer, _subscription)) = h.runtime.block_on(h.module.raw_json_request(&request, 1))
    else {
        return; // not a JSON-RPC request at all: the server answers a parse error
    };
    let reads = h.node.reads.load(Ordering::Relaxed);
    assert!(reads <= READ_BUDGET, "{method:?}: {reads} node reads for one request");

    let answer: serde_json::Value = serde_json::from_str(answer.get()).expect("the answer is JSON");
    assert_eq!(answer["jsonrpc"], "2.0", "{answer}");
    let has_result = answer.get("result").is_some();
    let error = answer.get("error");
    assert!(has_result != error.is_some(), "a result or an error, not both: {answer}");
    if let Some(error) = error {
        let code = error["code"].as_i64().expect("an error code");
        assert_ne!(code, -32603, "{method:?} failed inside: {answer}");
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "an error says what went wrong: {answer}"
        );
    }
});
