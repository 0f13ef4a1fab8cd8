//! The client and the watcher against a real Kubo (`scripts/kubo-dev`: Kubo 0.22 as a
//! library behind its HTTP RPC), and against a Kubo that is gone or silent.

use lattice_ipfs::dev::{checkout_root, KuboDev};
use lattice_ipfs::pinning::{PinEntry, PinPolicy, PinRequest, PinState, Pinner};
use lattice_ipfs::{merkle, ClientConfig, IpfsClient, IpfsError, IpfsWatch};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn start_kubo() -> KuboDev {
    KuboDev::start(&checkout_root()).expect("the development Kubo starts")
}

fn quick() -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(5),
        backoff: Duration::from_millis(50),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_speaks_kubos_api() {
    let kubo = start_kubo();
    let client = IpfsClient::new(kubo.url(), quick()).unwrap();
    assert_eq!(client.version().await.unwrap().version, "0.22.0");
    assert!(!client.id().await.unwrap().id.is_empty());

    let data: Vec<u8> =
        (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let added = client.add("model.bin", data.clone()).await.unwrap();
    assert_eq!(added.name, "model.bin");
    assert_eq!(added.size, "300000");
    assert_eq!(client.cat(&added.cid, 1 << 20).await.unwrap(), data);
    // Over the bound: an error, never a truncated answer.
    assert_eq!(
        client.cat(&added.cid, 1_000).await,
        Err(IpfsError::TooLarge { call: "cat".into(), limit: 1_000 })
    );

    client.pin_add(&added.cid).await.unwrap();
    assert_eq!(client.pin_ls(Some(&added.cid)).await.unwrap(), vec![added.cid.clone()]);
    assert!(client.pin_ls(None).await.unwrap().contains(&added.cid));
    client.pin_rm(&added.cid).await.unwrap();
    assert!(client.pin_ls(Some(&added.cid)).await.unwrap().is_empty());
    assert!(client.repo_stat().await.unwrap().repo_size > 300_000);

    // Kubo's own refusals come back as such, with its message.
    match client.pin_rm(&added.cid).await {
        Err(IpfsError::Api { call, status: 500, message }) => {
            assert_eq!(call, "pin/rm");
            assert!(message.contains("not pinned"), "{message}");
        }
        other => panic!("unpinning twice: {other:?}"),
    }
    match client.dag_stat(&added.cid).await {
        Err(e @ IpfsError::Api { .. }) => assert!(!e.is_unavailable()),
        other => panic!("kubo-dev has no dag/stat: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kubo_that_is_gone_or_silent_is_an_error_not_a_hang() {
    // Nothing listens: every attempt is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = IpfsClient::new(&format!("http://127.0.0.1:{port}"), quick()).unwrap();
    let err = client.version().await.unwrap_err();
    assert!(matches!(err, IpfsError::Unreachable { .. }) && err.is_unavailable(), "{err}");

    // It accepts and never answers: the call times out.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let config = ClientConfig { timeout: Duration::from_millis(500), ..quick() };
    let client = IpfsClient::new(&format!("http://{addr}"), config).unwrap();
    let err = client.pin_add("QmQTRqB66u1rkrsy9zjzNVSLCkNwDQAb1yhdpvmZM8NUp9").await.unwrap_err();
    assert!(matches!(err, IpfsError::Timeout { ref call, .. } if call == "pin/add"), "{err}");
    held.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_watcher_follows_kubo_going_away() {
    let mut kubo = start_kubo();
    let client = Arc::new(IpfsClient::new(kubo.url(), quick()).unwrap());
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let (watch, task) = IpfsWatch::spawn(client, Duration::from_millis(200), |_| {}, shutdown);
    let until = |want: bool| {
        let watch = watch.clone();
        async move {
            let started = Instant::now();
            loop {
                let status = watch.status();
                if status.checked_at_ms.is_some() && status.reachable == want {
                    return status;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "reachable never {want}: {status:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let up = until(true).await;
    assert_eq!(up.version.as_deref(), Some("0.22.0"));
    assert!(up.peer_id.is_some() && up.repo_size.is_some() && up.last_error.is_none());
    kubo.stop();
    let down = until(false).await;
    // Unreachable, or a connection that broke as Kubo went: an error either way.
    assert!(down.last_error.is_some(), "{down:?}");
    assert!(down.failed_checks >= 1);
    // What it learnt while Kubo answered is kept.
    assert_eq!(down.peer_id, up.peer_id);
    task.abort();
}

fn request(cid: &str, data: &[u8]) -> PinRequest {
    let c = merkle::commitment(data).unwrap();
    PinRequest {
        record_id: "1".into(),
        cid: cid.into(),
        size_bytes: c.size_bytes,
        leaf_count: c.leaf_count,
        merkle_root: c.merkle_root,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn only_content_that_matches_its_commitment_is_pinned() {
    let mut kubo = start_kubo();
    let client = Arc::new(IpfsClient::new(kubo.url(), quick()).unwrap());
    let pinner = Pinner::new(client.clone(), PinPolicy::default());
    let good: Vec<u8> = (0..5_000u32).map(|i| (i * 7 + 3) as u8).collect();
    let bad: Vec<u8> = (0..5_000u32).map(|i| (i * 11 + 5) as u8).collect();
    let good_cid = client.add("good", good.clone()).await.unwrap().cid;
    let bad_cid = client.add("bad", bad.clone()).await.unwrap().cid;
    // `add` pins what it stores, as Kubo's does: start from nothing pinned.
    for cid in [&good_cid, &bad_cid] {
        client.pin_rm(cid).await.unwrap();
    }

    let mut entry = PinEntry::new(request(&good_cid, &good));
    pinner.attempt(&mut entry, 1_000).await;
    assert_eq!(entry.state, PinState::Pinned, "{entry:?}");
    assert_eq!(entry.pinned_at_ms, Some(1_000));
    assert_eq!(client.pin_ls(Some(&good_cid)).await.unwrap(), vec![good_cid.clone()]);

    // The chain committed to other content than the CID holds: reported, not pinned.
    let mut wrong_root = PinEntry::new(request(&bad_cid, &good));
    pinner.attempt(&mut wrong_root, 1_000).await;
    assert_eq!(wrong_root.state, PinState::Mismatch, "{wrong_root:?}");
    assert!(wrong_root.last_error.as_deref().unwrap().contains("does not match"));
    // Committed smaller than it is: the fetch stops at the committed size.
    let mut short = PinEntry::new(request(&bad_cid, &bad[..2_000]));
    pinner.attempt(&mut short, 1_000).await;
    assert_eq!(short.state, PinState::Mismatch, "{short:?}");
    // A leaf count that no size gives.
    let mut impossible = PinEntry::new(PinRequest { leaf_count: 9, ..request(&bad_cid, &bad) });
    pinner.attempt(&mut impossible, 1_000).await;
    assert_eq!(impossible.state, PinState::Mismatch, "{impossible:?}");
    assert!(client.pin_ls(Some(&bad_cid)).await.unwrap().is_empty(), "mismatches stay unpinned");

    // Over the operator's bound: not even fetched.
    let small =
        Pinner::new(client.clone(), PinPolicy { max_pin_bytes: 1_000, ..Default::default() });
    let mut big = PinEntry::new(request(&bad_cid, &bad));
    small.attempt(&mut big, 1_000).await;
    assert_eq!(big.state, PinState::TooLarge, "{big:?}");

    // Kubo gone: waits and tries again later, with a doubling backoff; never given up.
    kubo.stop();
    let mut later = PinEntry::new(request(&bad_cid, &bad));
    pinner.attempt(&mut later, 1_000).await;
    assert_eq!(later.state, PinState::Waiting, "{later:?}");
    assert!(later.last_error.as_deref().unwrap().contains("unreachable"), "{later:?}");
    assert_eq!(later.next_try_ms, 1_000 + 5_000);
    assert!(!later.is_due(5_999) && later.is_due(6_000));
    pinner.attempt(&mut later, 6_000).await;
    assert_eq!((later.state, later.next_try_ms), (PinState::Waiting, 6_000 + 10_000));
}
