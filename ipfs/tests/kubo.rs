//! The client and the watcher against a real Kubo (`scripts/kubo-dev`: Kubo 0.22 as a
//! library behind its HTTP RPC), and against a Kubo that is gone or silent.

use lattice_ipfs::dev::{checkout_root, KuboDev};
use lattice_ipfs::{ClientConfig, IpfsClient, IpfsError, IpfsWatch};
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
    assert!(down.last_error.unwrap().contains("unreachable"));
    assert!(down.failed_checks >= 1);
    // What it learnt while Kubo answered is kept.
    assert_eq!(down.peer_id, up.peer_id);
    task.abort();
}
