//! The HTTP + WebSocket server.

use crate::api::{NodeApi, RpcMetrics};
use crate::batch::RawTxBatchLayer;
use crate::eth::eth_module_sharing;
use crate::filters::HexIdProvider;
use crate::logs::LogLimits;
use jsonrpsee::core::middleware::RpcServiceBuilder;
use jsonrpsee::server::middleware::http::HostFilterLayer;
use jsonrpsee::server::{BatchRequestConfig, HttpBody, Server, ServerConfig, ServerHandle};
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

/// Default RPC address: loopback only unless told otherwise.
pub const DEFAULT_RPC_ADDR: &str = "127.0.0.1:8545";

/// Blocks below the latest that `eth_getProof` serves by default (geth keeps the state of the
/// latest 128 blocks).
pub const DEFAULT_PROOF_WINDOW: u64 = 128;

/// Server limits and options.
#[derive(Clone, Debug)]
pub struct RpcConfig {
    /// Listen address.
    pub addr: SocketAddr,
    /// Largest request body, in bytes.
    pub max_request_bytes: u32,
    /// Largest response body, in bytes.
    pub max_response_bytes: u32,
    /// Most open connections.
    pub max_connections: u32,
    /// Most calls in one batch.
    pub max_batch_len: u32,
    /// Allowed CORS origins; `*` allows any.
    pub cors: Vec<String>,
    /// Most subscriptions one WebSocket connection may hold.
    pub max_subscriptions_per_connection: u32,
    /// Limits on `eth_getLogs` and `eth_getFilterLogs`.
    pub log_limits: LogLimits,
    /// How many blocks below the latest `eth_getProof` serves.
    pub proof_window: u64,
    /// Serve RPC at all (`--no-rpc` turns it off).
    pub enabled: bool,
    /// Wall-clock bound of one `eth_call`, `eth_estimateGas` (all its runs),
    /// `eth_createAccessList` or trace (geth's `--rpc.evmtimeout`, 5 s).
    pub evm_timeout: std::time::Duration,
    /// Most instructions a struct-logger trace records (its log grows with each).
    pub trace_max_steps: u64,
    /// Most EVM calls (`eth_call`, estimates, access lists, traces) executing at once.
    pub max_evm_calls: usize,
    /// Host header values served (`*`: any); geth's `--http.vhosts`. Against DNS rebinding:
    /// a page whose name resolves to 127.0.0.1 sends its own name as the Host.
    pub vhosts: Vec<String>,
    /// The namespaces served (`eth`, `net`, …; see [`RPC_APIS`]).
    pub apis: Vec<String>,
}

/// Default of [`RpcConfig::evm_timeout`] (geth's).
pub const DEFAULT_EVM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Default of [`RpcConfig::trace_max_steps`].
pub const DEFAULT_TRACE_MAX_STEPS: u64 = 500_000;

/// Default of [`RpcConfig::max_evm_calls`]: the machine's cores, at least two.
pub fn default_max_evm_calls() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).max(2)
}

/// Default of [`RpcConfig::vhosts`]: the loopback names, any port (geth's `localhost`).
pub const DEFAULT_VHOSTS: &[&str] = &["localhost", "127.0.0.1", "[::1]"];

/// Every RPC namespace the node has.
pub const RPC_APIS: &[&str] =
    &["eth", "net", "web3", "txpool", "dag", "lattice", "debug", "admin", "personal"];
/// The namespaces served by default outside `--dev` (geth serves `eth,net,web3`); `debug`
/// (unbounded-looking tracing work), `admin`, `personal` and `lattice` (the node's own
/// services, e.g. where its Kubo is) must be asked for.
pub const DEFAULT_RPC_APIS: &[&str] = &["eth", "net", "web3", "txpool", "dag"];

impl RpcConfig {
    /// Whether `method` belongs to a namespace this server serves.
    pub fn serves(&self, method: &str) -> bool {
        let namespace = method.split('_').next().unwrap_or(method);
        self.apis.iter().any(|a| a == namespace)
    }

    /// Checks that every asked-for namespace exists.
    pub fn check_apis(&self) -> Result<(), String> {
        match self.apis.iter().find(|a| !RPC_APIS.contains(&a.as_str())) {
            Some(unknown) => {
                Err(format!("unknown RPC API `{unknown}`: the node has {}", RPC_APIS.join(", ")))
            }
            None => Ok(()),
        }
    }
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            addr: DEFAULT_RPC_ADDR.parse().expect("valid default address"),
            max_request_bytes: 15 * 1024 * 1024,
            max_response_bytes: 160 * 1024 * 1024,
            max_connections: 500,
            max_batch_len: 1_000,
            cors: Vec::new(),
            max_subscriptions_per_connection: 1024,
            log_limits: LogLimits::default(),
            proof_window: DEFAULT_PROOF_WINDOW,
            enabled: true,
            evm_timeout: DEFAULT_EVM_TIMEOUT,
            trace_max_steps: DEFAULT_TRACE_MAX_STEPS,
            max_evm_calls: default_max_evm_calls(),
            vhosts: DEFAULT_VHOSTS.iter().map(|h| h.to_string()).collect(),
            apis: DEFAULT_RPC_APIS.iter().map(|a| a.to_string()).collect(),
        }
    }
}

/// CORS for the origins given; none given, no CORS headers at all, so that browsers refuse
/// other sites' pages the node's answers (a node on 127.0.0.1 is otherwise reachable from any
/// page its operator visits).
fn cors_layer(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new().allow_methods(Any).allow_headers(Any);
    if origins.is_empty() {
        return CorsLayer::new();
    }
    if origins.iter().any(|o| o == "*") {
        layer.allow_origin(Any)
    } else {
        let list = origins.iter().filter_map(|o| o.parse().ok()).collect::<Vec<_>>();
        layer.allow_origin(AllowOrigin::list(list))
    }
}

/// Starts serving `node` on `config.addr` (HTTP and WebSocket on the same port). Returns the
/// bound address (useful with port 0) and the handle that stops the server.
pub async fn start_server<N: NodeApi>(
    config: &RpcConfig,
    node: Arc<N>,
    metrics: Option<Arc<dyn RpcMetrics>>,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let hosts = if config.vhosts.iter().any(|h| h == "*") {
        HostFilterLayer::disable()
    } else {
        let with_ports: Vec<String> = config.vhosts.iter().map(|h| format!("{h}:*")).collect();
        HostFilterLayer::new(with_ports)
            .map_err(|e| std::io::Error::other(format!("invalid --rpc-vhosts: {e}")))?
    };
    let http = tower::ServiceBuilder::new()
        .layer(hosts)
        .layer(WsOriginLayer(Arc::new(config.cors.clone())))
        .layer(cors_layer(&config.cors));
    let server_config = ServerConfig::builder()
        .max_request_body_size(config.max_request_bytes)
        .max_response_body_size(config.max_response_bytes)
        .max_connections(config.max_connections)
        .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch_len))
        .max_subscriptions_per_connection(config.max_subscriptions_per_connection)
        .set_id_provider(HexIdProvider)
        .build();
    let blocking_slots = crate::eth::new_blocking_slots();
    let batches = config.serves("eth_sendRawTransaction").then(|| {
        RawTxBatchLayer::new(
            node.clone(),
            metrics.clone(),
            blocking_slots.clone(),
            config.max_response_bytes,
        )
    });
    let server = Server::builder()
        .set_config(server_config)
        .set_http_middleware(http)
        .set_rpc_middleware(RpcServiceBuilder::new().option_layer(batches))
        .build(config.addr)
        .await?;
    let addr = server.local_addr()?;
    let mut module = eth_module_sharing(node, metrics, config, blocking_slots);
    let names: Vec<&'static str> = module.method_names().collect();
    for name in names.into_iter().filter(|n| !config.serves(n)) {
        module.remove_method(name);
    }
    let handle = server.start(module);
    Ok((addr, handle))
}

/// Refuses a WebSocket upgrade from a browser page (one that sends `Origin`) whose origin is
/// not allowed by `--rpc-cors`: browsers do not apply CORS to WebSockets, so without this any
/// page could open one to a node on 127.0.0.1. Clients that send no `Origin` (libraries,
/// `cast`, scripts) are not affected.
#[derive(Clone, Debug)]
struct WsOriginLayer(Arc<Vec<String>>);

impl<S> tower::Layer<S> for WsOriginLayer {
    type Service = WsOrigin<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WsOrigin { inner, allowed: self.0.clone() }
    }
}

#[derive(Clone, Debug)]
struct WsOrigin<S> {
    inner: S,
    allowed: Arc<Vec<String>>,
}

impl<S, B> tower::Service<http::Request<B>> for WsOrigin<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<HttpBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let upgrade = request.headers().get(http::header::UPGRADE);
        let websocket = upgrade.is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
        let origin = request.headers().get(http::header::ORIGIN).and_then(|v| v.to_str().ok());
        let allowed = |o: &str| self.allowed.iter().any(|a| a == "*" || a.eq_ignore_ascii_case(o));
        if websocket && origin.is_some_and(|o| !allowed(o)) {
            let refused = http::Response::builder()
                .status(http::StatusCode::FORBIDDEN)
                .body(HttpBody::from("WebSocket origin not allowed (--rpc-cors)\n"))
                .expect("a static response");
            return Box::pin(async move { Ok(refused) });
        }
        Box::pin(self.inner.call(request))
    }
}
