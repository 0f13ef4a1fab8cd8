//! The `lattice` binary: parse flags, launch the node, stop on Ctrl-C or SIGTERM.

use clap::Parser;
use lattice_node::cli::{Cli, Command, DagCommand};
use lattice_node::NodeConfig;
use std::io::Write;
use tracing_subscriber::EnvFilter;

fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Dag { command: DagCommand::Replay { file } }) = cli.command {
        let json = std::fs::read_to_string(&file)
            .map_err(|e| eyre::eyre!("cannot read {}: {e}", file.display()))?;
        let stdout = std::io::stdout().lock();
        let mut out = std::io::BufWriter::new(stdout);
        lattice_consensus::replay::replay(&json, &mut out)
            .map_err(|e| eyre::eyre!("{}: {e}", file.display()))?;
        out.flush()?;
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = cli.node.with_config_file().map_err(|e| eyre::eyre!(e))?;
    let config = NodeConfig::from_args(args)?;
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        let handle = lattice_node::launch(config).await?;
        wait_for_signal().await;
        tracing::info!(target: "lattice::node", "shutting down");
        handle.stop().await
    })
}

async fn wait_for_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
