//! The HTTP + WebSocket server.

use crate::api::{NodeApi, RpcMetrics};
use crate::eth::eth_module;
use crate::filters::HexIdProvider;
use crate::logs::LogLimits;
use jsonrpsee::server::{BatchRequestConfig, Server, ServerConfig, ServerHandle};
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
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            addr: DEFAULT_RPC_ADDR.parse().expect("valid default address"),
            max_request_bytes: 15 * 1024 * 1024,
            max_response_bytes: 160 * 1024 * 1024,
            max_connections: 500,
            max_batch_len: 100,
            cors: vec!["*".to_string()],
            max_subscriptions_per_connection: 1024,
            log_limits: LogLimits::default(),
            proof_window: DEFAULT_PROOF_WINDOW,
        }
    }
}

fn cors_layer(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new().allow_methods(Any).allow_headers(Any);
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
    let http = tower::ServiceBuilder::new().layer(cors_layer(&config.cors));
    let server_config = ServerConfig::builder()
        .max_request_body_size(config.max_request_bytes)
        .max_response_body_size(config.max_response_bytes)
        .max_connections(config.max_connections)
        .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch_len))
        .max_subscriptions_per_connection(config.max_subscriptions_per_connection)
        .set_id_provider(HexIdProvider)
        .build();
    let server = Server::builder()
        .set_config(server_config)
        .set_http_middleware(http)
        .build(config.addr)
        .await?;
    let addr = server.local_addr()?;
    let handle = server.start(eth_module(node, metrics, config));
    Ok((addr, handle))
}
