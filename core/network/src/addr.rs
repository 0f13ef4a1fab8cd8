//! Bootstrap node addresses: a multiaddr `/ip4/1.2.3.4/tcp/30303/p2p/<peer-id>` or the short
//! form `<peer-id>@1.2.3.4:30303` (also `<peer-id>@host.name:30303`).

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use std::net::IpAddr;

/// A bootstrap node: its identity and where to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootstrapNode {
    /// Peer id.
    pub peer_id: PeerId,
    /// Address without the `/p2p` suffix.
    pub addr: Multiaddr,
}

/// Parses one bootstrap node, with an error that says what is wrong.
pub fn parse_bootstrap_node(s: &str) -> Result<BootstrapNode, String> {
    let s = s.trim();
    if s.starts_with('/') {
        let mut addr: Multiaddr = s.parse().map_err(|e| format!("invalid multiaddr `{s}`: {e}"))?;
        match addr.pop() {
            Some(Protocol::P2p(peer_id)) => Ok(BootstrapNode { peer_id, addr }),
            _ => Err(format!("bootstrap node `{s}` must end with /p2p/<peer-id>")),
        }
    } else {
        let (peer, hostport) = s.split_once('@').ok_or_else(|| {
            format!("bootstrap node `{s}`: expected <peer-id>@host:port or a multiaddr")
        })?;
        let peer_id: PeerId =
            peer.parse().map_err(|e| format!("bootstrap node `{s}`: invalid peer id: {e}"))?;
        let (host, port) = hostport
            .rsplit_once(':')
            .ok_or_else(|| format!("bootstrap node `{s}`: missing :port"))?;
        let port: u16 =
            port.parse().map_err(|_| format!("bootstrap node `{s}`: invalid port `{port}`"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let mut addr = Multiaddr::empty();
        match host.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => addr.push(Protocol::Ip4(ip)),
            Ok(IpAddr::V6(ip)) => addr.push(Protocol::Ip6(ip)),
            Err(_) if !host.is_empty() => addr.push(Protocol::Dns(host.to_string().into())),
            Err(_) => return Err(format!("bootstrap node `{s}`: missing host")),
        }
        addr.push(Protocol::Tcp(port));
        Ok(BootstrapNode { peer_id, addr })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_parse_to_the_same_node() {
        let id = PeerId::random();
        let a = parse_bootstrap_node(&format!("/ip4/10.0.0.1/tcp/30303/p2p/{id}")).unwrap();
        let b = parse_bootstrap_node(&format!("{id}@10.0.0.1:30303")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.addr.to_string(), "/ip4/10.0.0.1/tcp/30303");
    }

    #[test]
    fn malformed_entries_say_what_is_wrong() {
        let id = PeerId::random();
        assert!(parse_bootstrap_node("/ip4/10.0.0.1/tcp/30303").unwrap_err().contains("/p2p/"));
        assert!(parse_bootstrap_node("nonsense").unwrap_err().contains("expected"));
        assert!(parse_bootstrap_node(&format!("{id}@10.0.0.1")).unwrap_err().contains("port"));
        assert!(parse_bootstrap_node("abc@10.0.0.1:1").unwrap_err().contains("peer id"));
        assert!(parse_bootstrap_node(&format!("{id}@10.0.0.1:99999"))
            .unwrap_err()
            .contains("port"));
    }
}
