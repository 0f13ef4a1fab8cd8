//! `lattice status --rpc URL`: a one-screen summary of a running node read over its JSON-RPC
//! (any node, local or remote): client, chain, sink, blue score, tips, peers, pool, sync, and
//! the last chain blocks.

use crate::usage::UsageError;
use eyre::{eyre, Result};
use lattice_loadgen::Http;
use serde_json::{json, Value};
use std::fmt::{self, Write as _};
use std::time::Duration;

/// How long gathering the summary may take before the node counts as unreachable.
const TIMEOUT: Duration = Duration::from_secs(10);

/// What `lattice status` shows, as the node answered it.
#[derive(Clone, Debug)]
pub struct Status {
    /// The RPC URL asked.
    pub url: String,
    /// `web3_clientVersion`.
    pub client: String,
    /// `eth_chainId`.
    pub chain_id: u64,
    /// The latest chain block (`eth_getBlockByNumber("latest")`).
    pub sink: Value,
    /// `dag_getTips` (`None`: the node does not serve it, e.g. `--rpc-api` without `dag`).
    pub tips: Option<usize>,
    /// `net_peerCount` (`None`: not served).
    pub peers: Option<u64>,
    /// `txpool_status`: pending and queued (`None`: not served).
    pub pool: Option<(u64, u64)>,
    /// `eth_syncing`: `None` when in step, else starting, current and highest block.
    pub sync: Option<(u64, u64, u64)>,
    /// The last chain blocks, newest first.
    pub blocks: Vec<Value>,
    /// Seconds since the Unix epoch when the summary was taken.
    pub now_secs: u64,
}

fn qty(v: &Value) -> Result<u64> {
    let s = v.as_str().ok_or_else(|| eyre!("expected a quantity, got {v}"))?;
    u64::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|e| eyre!("bad quantity {s}: {e}"))
}

/// Reads the summary from the node at `url`, with the last `blocks` chain blocks. An
/// unreachable node is the user's to fix (a wrong URL, a node not running): a usage error.
pub async fn fetch(url: &str, blocks: u64) -> Result<Status> {
    let unreachable = |e: eyre::Report| {
        UsageError::report(
            format!("cannot read the node's status from {url}: {e}"),
            "is the node running, with its RPC on that address? pass --rpc http://HOST:PORT",
        )
    };
    let client = Http::new(url).map_err(unreachable)?;
    tokio::time::timeout(TIMEOUT, gather(&client, url, blocks))
        .await
        .map_err(|_| unreachable(eyre!("no answer within {TIMEOUT:?}")))?
        .map_err(unreachable)
}

async fn gather(client: &Http, url: &str, blocks: u64) -> Result<Status> {
    let calls = [
        ("web3_clientVersion", json!([])),
        ("eth_chainId", json!([])),
        ("eth_getBlockByNumber", json!(["latest", false])),
        ("dag_getTips", json!([])),
        ("net_peerCount", json!([])),
        ("txpool_status", json!([])),
        ("eth_syncing", json!([])),
    ];
    let answers = client.batch(&calls).await?;
    // The eth namespace is always served; the others may be turned off (`--rpc-api`), and
    // their fields then show as unknown.
    let mut values = Vec::with_capacity(answers.len());
    for ((method, _), answer) in calls.iter().zip(answers) {
        values.push(match answer {
            Ok(value) => Some(value),
            Err(_) if !method.starts_with("eth_") => None,
            Err(e) => return Err(eyre!("{method}: {e}")),
        });
    }
    let [client_version, chain_id, sink, tips, peers, pool, sync] =
        <[Option<Value>; 7]>::try_from(values).map_err(|_| eyre!("a batch answer is missing"))?;
    let (chain_id, sink, sync) = (
        chain_id.unwrap_or_default(),
        sink.ok_or_else(|| eyre!("no latest block"))?,
        sync.unwrap_or(Value::Bool(false)),
    );
    let head = qty(&sink["number"])?;
    let numbers: Vec<u64> = (0..blocks.min(head + 1)).map(|back| head - back).collect();
    let block_calls: Vec<(&str, Value)> = numbers
        .iter()
        .map(|n| ("eth_getBlockByNumber", json!([format!("{n:#x}"), false])))
        .collect();
    let mut last = Vec::with_capacity(block_calls.len());
    if !block_calls.is_empty() {
        for answer in client.batch(&block_calls).await? {
            last.push(answer.map_err(|e| eyre!("eth_getBlockByNumber: {e}"))?);
        }
    }
    let sync = match &sync {
        Value::Bool(false) => None,
        s => Some((qty(&s["startingBlock"])?, qty(&s["currentBlock"])?, qty(&s["highestBlock"])?)),
    };
    let now_secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(Status {
        url: url.to_string(),
        client: client_version.as_ref().and_then(Value::as_str).unwrap_or("?").to_string(),
        chain_id: qty(&chain_id)?,
        tips: tips.as_ref().and_then(Value::as_array).map(Vec::len),
        peers: peers.as_ref().map(qty).transpose()?,
        pool: pool
            .map(|p| Ok::<_, eyre::Report>((qty(&p["pending"])?, qty(&p["queued"])?)))
            .transpose()?,
        sink,
        sync,
        blocks: last.into_iter().filter(|b| !b.is_null()).collect(),
        now_secs,
    })
}

/// `0x1234…cdef`: a hash short enough for one line.
fn short(hash: &Value) -> String {
    let s = hash.as_str().unwrap_or("?");
    if s.len() > 14 {
        format!("{}…{}", &s[..8], &s[s.len() - 4..])
    } else {
        s.to_string()
    }
}

/// How long ago `timestamp` (a block's, in seconds) was.
fn ago(now: u64, timestamp: &Value) -> String {
    match qty(timestamp) {
        Ok(t) if now >= t => format!("{} s ago", now - t),
        Ok(_) => "just now".to_string(),
        Err(_) => "?".to_string(),
    }
}

fn count(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sink = &self.sink;
        let number = qty(&sink["number"]).unwrap_or(0);
        let mut out = String::new();
        let _ = writeln!(out, "node         {} at {}", self.client, self.url);
        let _ = writeln!(out, "chain        id {}", self.chain_id);
        let _ = writeln!(
            out,
            "sink         #{number} {} ({})",
            sink["hash"].as_str().unwrap_or("?"),
            ago(self.now_secs, &sink["timestamp"])
        );
        let _ = writeln!(
            out,
            "blue score   {}",
            qty(&sink["blueScore"]).map_or("?".to_string(), |s| s.to_string())
        );
        let unknown = || "? (not served)".to_string();
        let _ = writeln!(out, "tips         {}", self.tips.map_or_else(unknown, |t| t.to_string()));
        let _ =
            writeln!(out, "peers        {}", self.peers.map_or_else(unknown, |p| p.to_string()));
        let pool = self.pool.map_or_else(unknown, |(p, q)| format!("{p} pending, {q} queued"));
        let _ = writeln!(out, "pool         {pool}");
        let sync = match self.sync {
            None => "in step".to_string(),
            Some((start, current, highest)) => {
                let span = highest.saturating_sub(start).max(1);
                let done = current.saturating_sub(start) as f64 / span as f64 * 100.0;
                format!("catching up: {current} of {highest} ({done:.1}%, from {start})")
            }
        };
        let _ = writeln!(out, "sync         {sync}");
        if !self.blocks.is_empty() {
            let _ =
                writeln!(out, "last blocks  number   hash              txs  mergeset (red)  age");
            for b in &self.blocks {
                let _ = writeln!(
                    out,
                    "             #{:<7} {:<17} {:>4}  {:>3} ({})         {}",
                    qty(&b["number"]).unwrap_or(0),
                    short(&b["hash"]),
                    count(&b["transactions"]),
                    count(&b["mergesetBlues"]) + count(&b["mergesetReds"]),
                    count(&b["mergesetReds"]),
                    ago(self.now_secs, &b["timestamp"]),
                );
            }
        }
        f.write_str(out.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(n: u64, txs: usize, reds: usize) -> Value {
        json!({
            "number": format!("{n:#x}"),
            "hash": format!("0x{:064x}", n + 0xabc),
            "timestamp": "0x64",
            "blueScore": format!("{:#x}", n * 2),
            "transactions": vec![Value::Null; txs],
            "mergesetBlues": vec![Value::Null; 1],
            "mergesetReds": vec![Value::Null; reds],
        })
    }

    #[test]
    fn the_summary_shows_sink_sync_and_last_blocks() {
        let status = Status {
            url: "http://127.0.0.1:8545".into(),
            client: "Lattice/v0.1.0".into(),
            chain_id: 1337,
            sink: block(42, 3, 0),
            tips: Some(2),
            peers: Some(3),
            pool: Some((5, 1)),
            sync: Some((10, 30, 50)),
            blocks: vec![block(42, 3, 0), block(41, 0, 2)],
            now_secs: 103,
        };
        let text = status.to_string();
        assert!(text.contains("sink         #42 0x"), "{text}");
        assert!(text.contains("(3 s ago)"), "{text}");
        assert!(text.contains("blue score   84"), "{text}");
        assert!(text.contains("pool         5 pending, 1 queued"), "{text}");
        assert!(text.contains("catching up: 30 of 50 (50.0%, from 10)"), "{text}");
        assert!(text.contains("#41"), "{text}");
        assert!(text.contains("  3 (2)"), "{text}");
        let in_step = Status { sync: None, pool: None, ..status };
        assert!(in_step.to_string().contains("sync         in step"));
        assert!(in_step.to_string().contains("pool         ? (not served)"));
    }
}
