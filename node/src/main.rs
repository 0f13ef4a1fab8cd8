//! The `lattice` binary: parse flags, then run the node (until Ctrl-C or SIGTERM) or a tool.

use clap::Parser;
use lattice_node::cli::{Cli, Command, DagCommand, IpfsCommand, NodeArgs};
use lattice_node::{NodeConfig, UsageError};
use std::io::Write;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    match command(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => exit_with(&error),
    }
}

/// A usage mistake: one line, a hint and status 2, whatever `RUST_BACKTRACE` says. Anything
/// else: the whole report (with a backtrace when asked for) and status 1.
fn exit_with(error: &eyre::Report) -> std::process::ExitCode {
    match error.chain().find_map(|cause| cause.downcast_ref::<UsageError>()) {
        Some(usage) => {
            eprintln!("error: {}", lattice_node::usage::one_line(error));
            eprintln!("hint: {}", usage.hint);
            std::process::ExitCode::from(2)
        }
        None => {
            eprintln!("Error: {error:?}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn command(cli: Cli) -> eyre::Result<()> {
    match cli.command {
        Some(Command::Dag { command: DagCommand::Replay { file } }) => replay(&file),
        Some(Command::Verify { node }) => {
            init_logging();
            verify(node)
        }
        Some(Command::Devnet { node }) => {
            init_logging();
            run(NodeArgs { dev: true, ..node })
        }
        Some(Command::Keygen { out }) => print(lattice_node::tools::keygen(out.as_deref())?),
        Some(Command::Init { node }) => {
            init_logging();
            print(lattice_node::tools::init(&offline_config(node)?)?)
        }
        Some(Command::GenesisInfo { node }) => {
            print(lattice_node::tools::genesis_info(&offline_config(node)?)?)
        }
        Some(Command::Loadgen(args)) => loadgen(&args),
        Some(Command::Ipfs { command: IpfsCommand::Add(args) }) => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            print!("{}", runtime.block_on(lattice_node::ipfs_cli::add(&args))?);
            Ok(())
        }
        Some(Command::Status { rpc, blocks }) => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            println!("{}", runtime.block_on(lattice_node::status::fetch(&rpc, blocks))?);
            Ok(())
        }
        None => {
            init_logging();
            run(cli.node)
        }
    }
}

fn loadgen(args: &lattice_loadgen::LoadgenArgs) -> eyre::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = runtime.block_on(lattice_loadgen::run(args))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    // Every accepted transaction must be included: otherwise the run failed.
    if report.missing > 0 {
        std::process::exit(2);
    }
    Ok(())
}

fn print(value: serde_json::Value) -> eyre::Result<()> {
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
}

/// The configuration the flags, the environment and the config file give; every mistake in
/// them is a usage error.
fn config(args: NodeArgs) -> eyre::Result<NodeConfig> {
    let args = args.with_config_file().map_err(|e| {
        UsageError::report(e, "fix the config file, or leave --config out (see `lattice --help`)")
    })?;
    NodeConfig::from_args(args).map_err(|e| {
        if e.chain().any(|cause| cause.is::<UsageError>()) {
            e
        } else {
            UsageError::report(
                lattice_node::usage::one_line(&e),
                "check the flag named above; `lattice --help` lists them all",
            )
        }
    })
}

/// The configuration of a tool that reads or writes a data directory but joins no network:
/// network flags are not asked for.
fn offline_config(args: NodeArgs) -> eyre::Result<NodeConfig> {
    config(NodeArgs { bootstrap: true, ..args })
}

fn run(args: NodeArgs) -> eyre::Result<()> {
    let config = config(args)?;
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        let handle = lattice_node::launch(config).await?;
        let failure = tokio::select! {
            _ = wait_for_signal() => None,
            why = handle.storage_failure() => Some(why),
        };
        match &failure {
            None => tracing::info!(target: "lattice::node", "shutting down"),
            Some(why) => tracing::error!(target: "lattice::node", reason = %why,
                "the database refused a write; stopping (what was committed before stays)"),
        }
        let stopped = handle.stop().await;
        match failure {
            None => stopped,
            Some(why) => Err(eyre::eyre!(
                "stopped: the database refused a write ({why}). Free space on the data \
                 directory's disk or make it writable, then start the node again: it continues \
                 from its last committed block"
            )),
        }
    })
}

fn replay(file: &std::path::Path) -> eyre::Result<()> {
    let json = std::fs::read_to_string(file)
        .map_err(|e| eyre::eyre!("cannot read {}: {e}", file.display()))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    lattice_consensus::replay::replay(&json, &mut out)
        .map_err(|e| eyre::eyre!("{}: {e}", file.display()))?;
    out.flush()?;
    Ok(())
}

fn verify(args: NodeArgs) -> eyre::Result<()> {
    let report = lattice_node::verify::verify(&offline_config(args)?)?;
    let verdict = if report.problems.is_empty() {
        "every state root matches".to_string()
    } else {
        format!("{} problems", report.problems.len())
    };
    let disqualified = match report.disqualified {
        0 => String::new(),
        n => {
            format!(" ({n} disqualified for a wrong commitment, none applied by the stored chain)")
        }
    };
    println!(
        "verified {} blocks, {} chain blocks, {} transactions in {:.2} s{disqualified}: {verdict}",
        report.blocks, report.chain_blocks, report.transactions, report.seconds
    );
    for problem in &report.problems {
        println!("  {problem}");
    }
    std::process::exit(if report.problems.is_empty() { 0 } else { 1 });
}

async fn wait_for_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
