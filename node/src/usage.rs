//! Mistakes in how the node was started: a flag, a file, a port, a data directory. The binary
//! reports them as one line and a hint, with exit status 2 and never a backtrace; any other
//! error is a fault of the machine or a bug and keeps its whole report.

/// A mistake of whoever started the node, with what to do about it.
#[derive(Debug)]
pub struct UsageError {
    /// What is wrong, on one line, with the reason the system gave.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

impl UsageError {
    /// The error as a report, for `?`.
    pub fn report(message: impl Into<String>, hint: impl Into<String>) -> eyre::Report {
        eyre::Report::new(Self { message: message.into(), hint: hint.into() })
    }
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}

/// An error's message followed by its causes', on one line (each said once).
pub fn one_line(error: &eyre::Report) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if part.is_empty() || text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// Whether an error says that an address is taken.
pub fn address_in_use(error: &eyre::Report) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::AddrInUse)
            || cause.to_string().contains("in use")
    })
}

/// A failed listen on `addr` (flag `flag`): a usage error when the address is taken or cannot
/// be had here, the original error otherwise.
pub fn listen_failed(error: eyre::Report, what: &str, addr: &str, flag: &str) -> eyre::Report {
    let text = one_line(&error);
    if address_in_use(&error) {
        UsageError::report(
            format!("cannot listen for {what} on {addr}: {text}"),
            format!("another program (perhaps another lattice node) holds it: stop it, or pass {flag} with a free port"),
        )
    } else if text.contains("Cannot assign requested address") || text.contains("Permission denied")
    {
        UsageError::report(
            format!("cannot listen for {what} on {addr}: {text}"),
            format!("pass {flag} with an address of this machine (ports below 1024 need root)"),
        )
    } else {
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_is_a_usage_error_with_the_flag_in_the_hint() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let error = std::net::TcpListener::bind(addr).unwrap_err();
        let report = listen_failed(
            eyre::Report::new(error).wrap_err("bind"),
            "JSON-RPC",
            &addr.to_string(),
            "--rpc-addr",
        );
        let usage = report.downcast_ref::<UsageError>().expect("a usage error");
        assert!(usage.message.contains("in use"), "{}", usage.message);
        assert!(usage.hint.contains("--rpc-addr"), "{}", usage.hint);
    }

    #[test]
    fn other_failures_are_left_as_they_are() {
        let report = listen_failed(eyre::eyre!("the runtime is gone"), "metrics", "x", "--f");
        assert!(report.downcast_ref::<UsageError>().is_none());
        assert_eq!(one_line(&report.wrap_err("outer")), "outer: the runtime is gone");
    }
}
