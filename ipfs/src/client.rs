//! A client of Kubo's HTTP RPC (`/api/v0`), bounded in time and bytes.
//!
//! Every call has a timeout, and every answer a size bound; a call that could not reach Kubo
//! (connection refused, name not resolved) is tried again with a doubling backoff, a call that
//! reached it is not (Kubo may be working on it). Errors say which of these happened, so that
//! callers can tell "Kubo is gone" from "Kubo refused this".

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::Duration;
use tokio::net::TcpStream;

/// Limits and retries of an [`IpfsClient`].
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Bound of one attempt of a call, from connecting to the last byte of the answer.
    pub timeout: Duration,
    /// Attempts of a call that could not reach Kubo (at least one).
    pub attempts: u32,
    /// Wait before the second attempt; doubled before each further one.
    pub backoff: Duration,
    /// Largest answer of the JSON calls (`cat` takes its own bound).
    pub max_response_bytes: usize,
}

/// Default of [`ClientConfig::timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`ClientConfig::attempts`].
pub const DEFAULT_ATTEMPTS: u32 = 3;

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            attempts: DEFAULT_ATTEMPTS,
            backoff: Duration::from_millis(250),
            max_response_bytes: 4 * 1024 * 1024,
        }
    }
}

/// What went wrong in a call to Kubo.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpfsError {
    /// The `--ipfs-api` value is not an `http://host:port` URL.
    #[error("invalid IPFS API URL `{url}`: {reason} (expected http://host:port)")]
    BadUrl {
        /// The value given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No connection could be made (after every attempt).
    #[error("Kubo at {url} is unreachable: {reason}")]
    Unreachable {
        /// The API's URL.
        url: String,
        /// The last connection error.
        reason: String,
    },
    /// Connected, but no whole answer within the timeout.
    #[error("Kubo at {url} did not answer {call} within {timeout:?}")]
    Timeout {
        /// The API's URL.
        url: String,
        /// The call (`pin/add`, …).
        call: String,
        /// The bound that passed.
        timeout: Duration,
    },
    /// Kubo answered with an error.
    #[error("Kubo refused {call} (HTTP {status}): {message}")]
    Api {
        /// The call.
        call: String,
        /// The HTTP status.
        status: u16,
        /// Kubo's `Message`, or the body.
        message: String,
    },
    /// The answer was larger than the call allows.
    #[error("Kubo's answer to {call} is over {limit} bytes")]
    TooLarge {
        /// The call.
        call: String,
        /// The bound.
        limit: usize,
    },
    /// The answer is not what Kubo's API returns.
    #[error("Kubo's answer to {call} is not what its API returns: {reason}")]
    Decode {
        /// The call.
        call: String,
        /// What did not parse.
        reason: String,
    },
    /// The connection broke while the call was under way.
    #[error("the connection to Kubo broke during {call}: {reason}")]
    Broken {
        /// The call.
        call: String,
        /// The transport's error.
        reason: String,
    },
}

impl IpfsError {
    /// Whether Kubo could not be reached or did not answer in time (as opposed to an answer
    /// that refused or could not be read).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Timeout { .. } | Self::Broken { .. })
    }
}

/// `version`'s answer.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Version {
    /// Kubo's version, e.g. `0.22.0`.
    #[serde(rename = "Version")]
    pub version: String,
}

/// `id`'s answer.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Identity {
    /// The node's peer id.
    #[serde(rename = "ID")]
    pub id: String,
    /// Its listen addresses.
    #[serde(rename = "Addresses", default)]
    pub addresses: Option<Vec<String>>,
    /// Its agent, e.g. `kubo/0.22.0/`.
    #[serde(rename = "AgentVersion", default)]
    pub agent_version: String,
}

/// `repo/stat`'s answer (asked with `size-only`, which spares Kubo counting its blocks).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub struct RepoStat {
    /// Bytes the repository takes.
    #[serde(rename = "RepoSize")]
    pub repo_size: u64,
    /// Blocks it holds, when the answer counts them.
    #[serde(rename = "NumObjects", default)]
    pub num_objects: Option<u64>,
}

/// `add`'s answer for one file.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Added {
    /// The file name given.
    #[serde(rename = "Name")]
    pub name: String,
    /// Its CID.
    #[serde(rename = "Hash")]
    pub cid: String,
    /// Its size, as Kubo reports it (a decimal string).
    #[serde(rename = "Size")]
    pub size: String,
}

/// `dag/stat`'s answer for one CID.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub struct DagStat {
    /// Bytes of every block of the DAG.
    #[serde(rename = "Size")]
    pub size: u64,
    /// Blocks in it.
    #[serde(rename = "NumBlocks")]
    pub num_blocks: u64,
}

/// `dag/stat`'s answer in either shape Kubo has used: one `{Size, NumBlocks}` (before
/// 0.21), or totals with a `DagStats` list per CID asked for (since).
#[derive(Deserialize)]
#[serde(untagged)]
enum DagStatAnswer {
    PerCid {
        #[serde(rename = "DagStats")]
        dag_stats: Vec<DagStat>,
    },
    One(DagStat),
}

#[derive(Deserialize)]
struct Pins {
    #[serde(rename = "Pins", default)]
    pins: Vec<String>,
}

#[derive(Deserialize)]
struct PinList {
    #[serde(rename = "Keys", default)]
    keys: std::collections::BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct KuboErrorBody {
    #[serde(rename = "Message")]
    message: String,
}

/// Where the API is.
#[derive(Clone, Debug)]
struct Endpoint {
    url: String,
    /// `host:port`, to connect to and for the `Host` header.
    authority: String,
}

impl Endpoint {
    fn parse(url: &str) -> Result<Self, IpfsError> {
        let bad = |reason: &str| IpfsError::BadUrl { url: url.into(), reason: reason.into() };
        let rest = url.strip_prefix("http://").ok_or_else(|| bad("only http:// is supported"))?;
        let authority = rest.trim_end_matches('/');
        if authority.contains('/') {
            return Err(bad("no path is expected: Kubo serves its API under /api/v0"));
        }
        let (host, port) = authority.rsplit_once(':').ok_or_else(|| bad("no port"))?;
        if host.is_empty() {
            return Err(bad("no host"));
        }
        port.parse::<u16>().map_err(|_| bad("the port is not a number below 65536"))?;
        Ok(Self { url: format!("http://{authority}"), authority: authority.to_string() })
    }
}

/// A client of one Kubo daemon's HTTP RPC. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct IpfsClient {
    endpoint: Endpoint,
    config: ClientConfig,
}

impl IpfsClient {
    /// A client of the API at `url` (`http://host:port`, Kubo's default being
    /// `http://127.0.0.1:5001`).
    pub fn new(url: &str, config: ClientConfig) -> Result<Self, IpfsError> {
        Ok(Self { endpoint: Endpoint::parse(url)?, config })
    }

    /// The API's URL.
    pub fn url(&self) -> &str {
        &self.endpoint.url
    }

    /// `version`.
    pub async fn version(&self) -> Result<Version, IpfsError> {
        self.json("version", &[]).await
    }

    /// `id`: the node's peer id and addresses.
    pub async fn id(&self) -> Result<Identity, IpfsError> {
        self.json("id", &[]).await
    }

    /// `repo/stat`: the repository's size.
    pub async fn repo_stat(&self) -> Result<RepoStat, IpfsError> {
        self.json("repo/stat", &[("size-only", "true")]).await
    }

    /// `add`: stores `data` as one file named `name`; returns its CID.
    pub async fn add(&self, name: &str, data: Vec<u8>) -> Result<Added, IpfsError> {
        // Random per request: content cannot contain it and end its part early.
        let boundary = format!("lattice-ipfs-{:032x}", rand::random::<u128>());
        let name = name.replace(['"', '\r', '\n'], "_");
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(&data);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let raw = self
            .call(
                "add",
                &[],
                Some((content_type, Bytes::from(body))),
                self.config.max_response_bytes,
            )
            .await?;
        decode("add", &raw)
    }

    /// `cat`: the content of `cid`, at most `max_bytes` of it (more is an error, not a
    /// truncation).
    pub async fn cat(&self, cid: &str, max_bytes: usize) -> Result<Vec<u8>, IpfsError> {
        self.call("cat", &[("arg", cid)], None, max_bytes).await
    }

    /// `pin/add` (recursive).
    pub async fn pin_add(&self, cid: &str) -> Result<(), IpfsError> {
        let pins: Pins = self.json("pin/add", &[("arg", cid)]).await?;
        expect_pinned("pin/add", cid, &pins.pins)
    }

    /// `pin/rm`.
    pub async fn pin_rm(&self, cid: &str) -> Result<(), IpfsError> {
        let pins: Pins = self.json("pin/rm", &[("arg", cid)]).await?;
        expect_pinned("pin/rm", cid, &pins.pins)
    }

    /// `pin/ls`: every pinned CID, or whether `cid` is pinned (an empty list if it is not).
    pub async fn pin_ls(&self, cid: Option<&str>) -> Result<Vec<String>, IpfsError> {
        let args: Vec<(&str, &str)> = cid.map(|c| ("arg", c)).into_iter().collect();
        match self.json::<PinList>("pin/ls", &args).await {
            Ok(list) => Ok(list.keys.into_keys().collect()),
            Err(IpfsError::Api { message, .. })
                if cid.is_some() && message.contains("not pinned") =>
            {
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }

    /// `dag/stat`: the size of the DAG under `cid` (not in `ipfs-api-backend-hyper`; Kubo has
    /// it).
    pub async fn dag_stat(&self, cid: &str) -> Result<DagStat, IpfsError> {
        match self.json("dag/stat", &[("arg", cid), ("progress", "false")]).await? {
            DagStatAnswer::One(stat) => Ok(stat),
            DagStatAnswer::PerCid { dag_stats } => dag_stats.into_iter().next().ok_or_else(|| {
                IpfsError::Decode { call: "dag/stat".into(), reason: "no DagStats entry".into() }
            }),
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        call: &str,
        args: &[(&str, &str)],
    ) -> Result<T, IpfsError> {
        let raw = self.call(call, args, None, self.config.max_response_bytes).await?;
        decode(call, &raw)
    }

    /// One call, tried again while Kubo cannot be reached.
    async fn call(
        &self,
        call: &str,
        args: &[(&str, &str)],
        body: Option<(String, Bytes)>,
        limit: usize,
    ) -> Result<Vec<u8>, IpfsError> {
        let mut path = format!("/api/v0/{call}");
        for (i, (key, value)) in args.iter().enumerate() {
            path.push(if i == 0 { '?' } else { '&' });
            path.push_str(key);
            path.push('=');
            path.push_str(&percent_encode(value));
        }
        let mut wait = self.config.backoff;
        let mut attempt = 1;
        loop {
            let once = self.once(call, &path, body.clone(), limit);
            let result = match tokio::time::timeout(self.config.timeout, once).await {
                Ok(result) => result,
                Err(_) => Err(IpfsError::Timeout {
                    url: self.endpoint.url.clone(),
                    call: call.to_string(),
                    timeout: self.config.timeout,
                }),
            };
            match result {
                Err(IpfsError::Unreachable { .. }) if attempt < self.config.attempts.max(1) => {
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn once(
        &self,
        call: &str,
        path: &str,
        body: Option<(String, Bytes)>,
        limit: usize,
    ) -> Result<Vec<u8>, IpfsError> {
        let broken = |e: &dyn std::fmt::Display| IpfsError::Broken {
            call: call.to_string(),
            reason: e.to_string(),
        };
        let stream = TcpStream::connect(&self.endpoint.authority).await.map_err(|e| {
            IpfsError::Unreachable { url: self.endpoint.url.clone(), reason: e.to_string() }
        })?;
        let _ = stream.set_nodelay(true);
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| broken(&e))?;
        let driver = tokio::spawn(connection);
        let mut request =
            http::Request::post(path).header(http::header::HOST, &self.endpoint.authority);
        let payload = match body {
            Some((content_type, bytes)) => {
                request = request.header(http::header::CONTENT_TYPE, content_type);
                bytes
            }
            None => Bytes::new(),
        };
        let request = request.body(Full::new(payload)).map_err(|e| broken(&e))?;
        let response = sender.send_request(request).await.map_err(|e| broken(&e));
        let result = match response {
            Ok(response) => {
                let status = response.status();
                match Limited::new(response.into_body(), limit).collect().await {
                    Ok(collected) => {
                        // Kubo reports an error met while streaming a 200 answer (`cat`,
                        // `add`) in this trailer: what came before it is not the whole answer.
                        let stream_error = collected
                            .trailers()
                            .and_then(|t| t.get("x-stream-error"))
                            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                        let bytes = collected.to_bytes().to_vec();
                        if let Some(message) = stream_error.filter(|m| !m.is_empty()) {
                            Err(IpfsError::Api {
                                call: call.to_string(),
                                status: status.as_u16(),
                                message,
                            })
                        } else if status.is_success() {
                            Ok(bytes)
                        } else {
                            let message = serde_json::from_slice::<KuboErrorBody>(&bytes)
                                .map(|e| e.message)
                                .unwrap_or_else(|_| {
                                    String::from_utf8_lossy(&bytes[..bytes.len().min(512)])
                                        .trim()
                                        .to_string()
                                });
                            Err(IpfsError::Api {
                                call: call.to_string(),
                                status: status.as_u16(),
                                message,
                            })
                        }
                    }
                    Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                        Err(IpfsError::TooLarge { call: call.to_string(), limit })
                    }
                    Err(e) => Err(broken(&e)),
                }
            }
            Err(e) => Err(e),
        };
        driver.abort();
        result
    }
}

fn decode<T: DeserializeOwned>(call: &str, raw: &[u8]) -> Result<T, IpfsError> {
    serde_json::from_slice(raw)
        .map_err(|e| IpfsError::Decode { call: call.to_string(), reason: e.to_string() })
}

fn expect_pinned(call: &str, cid: &str, pins: &[String]) -> Result<(), IpfsError> {
    if pins.is_empty() {
        return Err(IpfsError::Decode {
            call: call.to_string(),
            reason: format!("no pin listed for {cid}"),
        });
    }
    Ok(())
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_host_and_port() {
        assert!(Endpoint::parse("http://127.0.0.1:5001").is_ok());
        assert!(Endpoint::parse("http://localhost:5001/").is_ok());
        for bad in [
            "127.0.0.1:5001",
            "https://x:1",
            "http://x",
            "http://:5001",
            "http://x:99999",
            "http://x:1/api/v0",
        ] {
            assert!(matches!(Endpoint::parse(bad), Err(IpfsError::BadUrl { .. })), "{bad}");
        }
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(percent_encode("Qm1/a b&c=d"), "Qm1%2Fa%20b%26c%3Dd");
    }
}
