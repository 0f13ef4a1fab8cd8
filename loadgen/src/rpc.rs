//! A small JSON-RPC client: HTTP/1.1 keep-alive connections (calls and batches) and one
//! WebSocket subscriptions (`newHeads`, and any other through [`subscribe`]).

use eyre::{bail, eyre, Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::compat::TokioAsyncReadCompatExt;

/// Largest response accepted (a block's receipts under load are a few MB).
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// How long one HTTP exchange may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// An error answer of a JSON-RPC call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcError {
    /// The JSON-RPC error code.
    pub code: i64,
    /// The error message.
    pub message: String,
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

/// Where a node's JSON-RPC listens.
#[derive(Clone, Debug)]
struct Endpoint {
    /// `host:port`, to connect to.
    addr: String,
    /// The Host header.
    host: String,
    /// The request path.
    path: String,
}

impl Endpoint {
    fn parse(url: &str, schemes: &[&str]) -> Result<Self> {
        let uri: hyper::Uri = url.parse().wrap_err_with(|| format!("not a URL: {url}"))?;
        let scheme = uri.scheme_str().unwrap_or("");
        if !schemes.contains(&scheme) {
            bail!("{url}: the scheme must be one of {schemes:?} (TLS is not supported)");
        }
        let host = uri.host().ok_or_else(|| eyre!("{url} has no host"))?.to_string();
        let port = uri.port_u16().unwrap_or(80);
        let path = uri.path_and_query().map_or("/".to_string(), |p| p.as_str().to_string());
        Ok(Self { addr: format!("{host}:{port}"), host: format!("{host}:{port}"), path })
    }
}

/// JSON-RPC over HTTP/1.1, with a pool of keep-alive connections (one per request in flight).
pub struct Http {
    endpoint: Endpoint,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

impl Http {
    /// A client of the node at `url` (`http://host:port[/path]`).
    pub fn new(url: &str) -> Result<Self> {
        Ok(Self { endpoint: Endpoint::parse(url, &["http"])?, idle: Mutex::new(Vec::new()) })
    }

    async fn connection(&self) -> Result<SendRequest<Full<Bytes>>> {
        loop {
            let idle = self.idle.lock().expect("never poisoned").pop();
            match idle {
                Some(mut c) => {
                    if c.ready().await.is_ok() {
                        return Ok(c);
                    }
                }
                None => break,
            }
        }
        let stream = TcpStream::connect(&self.endpoint.addr)
            .await
            .wrap_err_with(|| format!("cannot connect to {}", self.endpoint.addr))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Posts `body` and returns the parsed answer.
    async fn post(&self, body: Vec<u8>) -> Result<Value> {
        let mut conn = self.connection().await?;
        let request = hyper::Request::post(&self.endpoint.path)
            .header("host", &self.endpoint.host)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))?;
        let exchange = async {
            let response = conn.send_request(request).await?;
            let status = response.status();
            let body = http_body_util::Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| eyre!("reading the answer: {e}"))?
                .to_bytes();
            if !status.is_success() {
                bail!("HTTP {status}: {}", String::from_utf8_lossy(&body[..body.len().min(200)]));
            }
            Ok::<_, eyre::Report>(body)
        };
        let body = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| eyre!("no answer within {REQUEST_TIMEOUT:?}"))??;
        self.idle.lock().expect("never poisoned").push(conn);
        serde_json::from_slice(&body).wrap_err("the answer is not JSON")
    }

    /// Calls `method`; an error answer is an `Err` that names the method.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let answer = self.post(serde_json::to_vec(&body)?).await?;
        outcome(&answer).map_err(|e| eyre!("{method}: {e}"))
    }

    /// Sends `calls` as one batch; the outcomes in the calls' order.
    pub async fn batch(&self, calls: &[(&str, Value)]) -> Result<Vec<Result<Value, RpcError>>> {
        let body: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(id, (method, params))| {
                json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
            })
            .collect();
        let answer = self.post(serde_json::to_vec(&body)?).await?;
        let Value::Array(answers) = answer else {
            // A batch refused as a whole (too large, say) is answered with one error.
            return Err(eyre!(
                "batch refused: {}",
                outcome(&answer)
                    .err()
                    .unwrap_or_else(|| { RpcError { code: 0, message: answer.to_string() } })
            ));
        };
        let mut outcomes = vec![None; calls.len()];
        for a in answers {
            let id = a["id"].as_u64().map(|i| i as usize).filter(|i| *i < calls.len());
            let Some(id) = id else { bail!("an answer with an unknown id: {a}") };
            outcomes[id] = Some(outcome(&a));
        }
        outcomes
            .into_iter()
            .map(|o| o.ok_or_else(|| eyre!("the batch answer misses a call")))
            .collect()
    }
}

fn outcome(answer: &Value) -> Result<Value, RpcError> {
    if let Some(error) = answer.get("error") {
        return Err(RpcError {
            code: error["code"].as_i64().unwrap_or(0),
            message: error["message"].as_str().unwrap_or("").to_string(),
        });
    }
    match answer.get("result") {
        Some(result) => Ok(result.clone()),
        None => Err(RpcError { code: 0, message: format!("neither result nor error: {answer}") }),
    }
}

/// A new chain head, as `newHeads` announces it.
#[derive(Clone, Copy, Debug)]
pub struct Head {
    /// Its number.
    pub number: u64,
    /// Its hash.
    pub hash: alloy_primitives::B256,
}

/// Subscribes to `newHeads` at `url` (`ws://host:port[/path]`); the heads arrive on the
/// returned channel until the connection ends.
pub async fn new_heads(url: &str) -> Result<mpsc::UnboundedReceiver<Head>> {
    let mut notes = subscribe(url, json!(["newHeads"])).await?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(head) = notes.recv().await {
            let number = head["number"]
                .as_str()
                .and_then(|n| u64::from_str_radix(n.trim_start_matches("0x"), 16).ok());
            let hash = head["hash"].as_str().and_then(|h| h.parse().ok());
            if let (Some(number), Some(hash)) = (number, hash) {
                if tx.send(Head { number, hash }).is_err() {
                    return;
                }
            }
        }
    });
    Ok(rx)
}

/// Opens a WebSocket to `url` (`ws://host:port[/path]`) and calls `eth_subscribe` with
/// `params` (e.g. `["logs", {"address": …}]`); each notification's `result` arrives on the
/// returned channel, in order, until the connection ends or the receiver is dropped.
pub async fn subscribe(url: &str, params: Value) -> Result<mpsc::UnboundedReceiver<Value>> {
    let endpoint = Endpoint::parse(url, &["ws"])?;
    let stream = TcpStream::connect(&endpoint.addr)
        .await
        .wrap_err_with(|| format!("cannot connect to {}", endpoint.addr))?;
    stream.set_nodelay(true)?;
    let mut client =
        soketto::handshake::Client::new(stream.compat(), &endpoint.host, &endpoint.path);
    match client.handshake().await? {
        soketto::handshake::ServerResponse::Accepted { .. } => {}
        soketto::handshake::ServerResponse::Redirect { status_code, .. }
        | soketto::handshake::ServerResponse::Rejected { status_code } => {
            bail!("{url} refused the WebSocket upgrade: HTTP {status_code}")
        }
    }
    let mut builder = client.into_builder();
    builder.set_max_message_size(MAX_RESPONSE_BYTES);
    let (mut sender, mut receiver) = builder.finish();
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": params});
    sender.send_text(request.to_string()).await?;
    sender.flush().await?;
    let mut data = Vec::new();
    receiver.receive_data(&mut data).await?;
    let answer: Value = serde_json::from_slice(&data)?;
    outcome(&answer).map_err(|e| eyre!("eth_subscribe {params}: {e}"))?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let _sender = sender; // closing it would end the subscription
        let mut data = Vec::new();
        loop {
            data.clear();
            if receiver.receive_data(&mut data).await.is_err() {
                return;
            }
            let Ok(mut note) = serde_json::from_slice::<Value>(&data) else { continue };
            if tx.send(note["params"]["result"].take()).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}
