//! JSON-RPC batches of `eth_sendRawTransaction` taken as one unit.
//!
//! jsonrpsee answers a batch's calls one after another, and each `eth_sendRawTransaction`
//! would take its own hop to the blocking pool and recover its sender alone. A batch made only
//! of `eth_sendRawTransaction` calls (what load generators, relayers and bundlers send) is
//! instead decoded on the connection's task and handed to [`NodeApi::send_transactions`] in one
//! blocking hop, where the node recovers the senders on all cores and reads each sender's
//! state once. Answers are the same, call by call and in order, as the one-by-one path gives;
//! any other batch goes through unchanged.

use crate::api::{NodeApi, RpcMetrics};
use crate::error::RpcError;
use crate::eth::{bad, decode_raw_transaction, take_blocking_slot};
use alloy_primitives::Bytes;
use jsonrpsee::core::middleware::{Batch, BatchEntry, Notification, RpcServiceT};
use jsonrpsee::core::server::{BatchResponseBuilder, MethodResponse, ResponsePayload};
use jsonrpsee::types::{ErrorObjectOwned, Id, Params, Request};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

/// The method this path takes batches of.
const SEND_RAW: &str = "eth_sendRawTransaction";

/// What the batch path shares across connections.
struct Shared<N> {
    node: Arc<N>,
    metrics: Option<Arc<dyn RpcMetrics>>,
    /// The bound on blocking calls, shared with the one-by-one path.
    slots: Arc<tokio::sync::Semaphore>,
    max_response_bytes: usize,
}

/// The layer that installs [`RawTxBatch`].
pub(crate) struct RawTxBatchLayer<N>(Arc<Shared<N>>);

impl<N> RawTxBatchLayer<N> {
    pub(crate) fn new(
        node: Arc<N>,
        metrics: Option<Arc<dyn RpcMetrics>>,
        slots: Arc<tokio::sync::Semaphore>,
        max_response_bytes: u32,
    ) -> Self {
        Self(Arc::new(Shared {
            node,
            metrics,
            slots,
            max_response_bytes: max_response_bytes as usize,
        }))
    }
}

impl<N> Clone for RawTxBatchLayer<N> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<S, N> tower::Layer<S> for RawTxBatchLayer<N> {
    type Service = RawTxBatch<S, N>;

    fn layer(&self, inner: S) -> Self::Service {
        RawTxBatch { inner, shared: self.0.clone() }
    }
}

/// Takes batches made only of `eth_sendRawTransaction` itself; passes everything else on.
pub(crate) struct RawTxBatch<S, N> {
    inner: S,
    shared: Arc<Shared<N>>,
}

impl<S: Clone, N> Clone for RawTxBatch<S, N> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), shared: self.shared.clone() }
    }
}

impl<S, N> RpcServiceT for RawTxBatch<S, N>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
    N: NodeApi,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.call(request)
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.notification(n)
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let only_raw = batch.len() > 1
            && batch.iter().all(|e| matches!(e, Ok(BatchEntry::Call(r)) if r.method == SEND_RAW));
        let inner = self.inner.clone();
        let shared = self.shared.clone();
        async move {
            if only_raw {
                shared.send_all(batch).await
            } else {
                inner.batch(batch).await
            }
        }
    }
}

impl<N: NodeApi> Shared<N> {
    async fn send_all(&self, batch: Batch<'_>) -> MethodResponse {
        let mut ids: Vec<Id<'static>> = Vec::with_capacity(batch.len());
        let mut raws: Vec<Result<Bytes, RpcError>> = Vec::with_capacity(batch.len());
        for entry in batch {
            let Ok(BatchEntry::Call(request)) = entry else {
                unreachable!("only batches of calls are taken")
            };
            let params = Params::new(request.params.as_ref().map(|p| p.get()));
            raws.push(params.one::<Bytes>().map_err(bad));
            ids.push(request.id.into_owned());
        }
        let count = raws.len();
        // As one by one: a call refused for want of a slot counts at the limit, not as a call;
        // a call that ran is charged its share of the batch's running time.
        let (results, share): (Vec<Result<_, ErrorObjectOwned>>, _) =
            match take_blocking_slot(&self.slots, &self.metrics).await {
                Ok(permit) => {
                    let started = Instant::now();
                    let node = self.node.clone();
                    let sent = tokio::task::spawn_blocking(move || {
                        let _permit = permit;
                        send_decoded(&*node, raws)
                    })
                    .await;
                    let results = match sent {
                        Ok(results) => {
                            results.into_iter().map(|r| r.map_err(ErrorObjectOwned::from)).collect()
                        }
                        Err(e) => vec![Err(RpcError::internal(e).into()); count],
                    };
                    (results, Some(started.elapsed() / count.max(1) as u32))
                }
                Err(busy) => {
                    if let Some(metrics) = &self.metrics {
                        for _ in 1..count {
                            metrics.on_limit("blocking_calls_busy");
                        }
                    }
                    (vec![Err(busy.into()); count], None)
                }
            };
        let mut out = BatchResponseBuilder::new_with_limit(self.max_response_bytes);
        for (id, result) in ids.into_iter().zip(results) {
            if let (Some(metrics), Some(share)) = (&self.metrics, share) {
                metrics.on_call(SEND_RAW, share, result.is_ok());
            }
            let response = match result {
                Ok(hash) => MethodResponse::response(
                    id,
                    ResponsePayload::success(hash),
                    self.max_response_bytes,
                ),
                Err(e) => MethodResponse::error(id, e),
            };
            if let Err(too_big) = out.append(response) {
                return too_big;
            }
        }
        MethodResponse::from_batch(out.finish())
    }
}

/// Decodes each raw transaction and sends those that decode as one batch; one result per
/// input, in order.
fn send_decoded<N: NodeApi>(
    node: &N,
    raws: Vec<Result<Bytes, RpcError>>,
) -> Vec<Result<alloy_primitives::B256, RpcError>> {
    let mut txs = Vec::with_capacity(raws.len());
    let refused: Vec<Option<RpcError>> = raws
        .into_iter()
        .map(|raw| match raw.and_then(|r| decode_raw_transaction(&r)) {
            Ok(tx) => {
                txs.push(tx);
                None
            }
            Err(e) => Some(e),
        })
        .collect();
    let mut sent = node.send_transactions(txs).into_iter();
    refused
        .into_iter()
        .map(|r| match r {
            None => {
                sent.next().unwrap_or_else(|| Err(RpcError::internal("a result per transaction")))
            }
            Some(e) => Err(e),
        })
        .collect()
}
