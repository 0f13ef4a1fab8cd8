//! Addresses on the command line. A bootstrap node is a multiaddr (`/ip4/1.2.3.4/tcp/30303`,
//! optionally ending in `/p2p/<peer-id>`), the short form `<peer-id>@host:port`, or a plain
//! `host:port` (`1.2.3.4:30303`, `[::1]:30303`, `boot.example.org:30303`). Without a peer id the
//! node dials the address and learns the peer's identity from the handshake, as libp2p allows.
//! A listen address is a multiaddr or `ip:port` / `host:port`.

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use std::net::{IpAddr, ToSocketAddrs};

/// A bootstrap node: where to reach it and, when given, its identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootstrapNode {
    /// Peer id, when the address named it.
    pub peer_id: Option<PeerId>,
    /// Address without the `/p2p` suffix.
    pub addr: Multiaddr,
}

/// `host:port` as a multiaddr: `/ip4`, `/ip6` or `/dns` with `/tcp`.
fn host_port(s: &str, what: &str) -> Result<Multiaddr, String> {
    let (host, port) = s.rsplit_once(':').ok_or_else(|| {
        format!("{what} `{s}`: expected host:port, <peer-id>@host:port or a multiaddr")
    })?;
    let port: u16 = port.parse().map_err(|_| format!("{what} `{s}`: invalid port `{port}`"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let mut addr = Multiaddr::empty();
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => addr.push(Protocol::Ip4(ip)),
        Ok(IpAddr::V6(ip)) => addr.push(Protocol::Ip6(ip)),
        Err(_) if !host.is_empty() && !host.contains(['/', '@', ' ']) => {
            addr.push(Protocol::Dns(host.to_string().into()))
        }
        Err(_) => return Err(format!("{what} `{s}`: missing or invalid host")),
    }
    addr.push(Protocol::Tcp(port));
    Ok(addr)
}

/// Parses one bootstrap node, with an error that says what is wrong.
pub fn parse_bootstrap_node(s: &str) -> Result<BootstrapNode, String> {
    let s = s.trim();
    if s.starts_with('/') {
        let mut addr: Multiaddr = s.parse().map_err(|e| format!("invalid multiaddr `{s}`: {e}"))?;
        let peer_id = match addr.iter().last() {
            Some(Protocol::P2p(peer_id)) => {
                addr.pop();
                Some(peer_id)
            }
            _ => None,
        };
        if !addr.iter().any(|p| matches!(p, Protocol::Tcp(_))) {
            return Err(format!("bootstrap node `{s}` has no /tcp/<port>"));
        }
        Ok(BootstrapNode { peer_id, addr })
    } else if let Some((peer, hostport)) = s.split_once('@') {
        let peer_id: PeerId =
            peer.parse().map_err(|e| format!("bootstrap node `{s}`: invalid peer id: {e}"))?;
        Ok(BootstrapNode { peer_id: Some(peer_id), addr: host_port(hostport, "bootstrap node")? })
    } else {
        Ok(BootstrapNode { peer_id: None, addr: host_port(s, "bootstrap node")? })
    }
}

/// Parses a listen address: a multiaddr, or `ip:port` / `host:port` (a name is resolved to
/// its first address now, since one listens on an address, not a name).
pub fn parse_listen_addr(s: &str) -> Result<Multiaddr, String> {
    let s = s.trim();
    if s.starts_with('/') {
        return s.parse().map_err(|e| format!("invalid multiaddr `{s}`: {e}"));
    }
    let addr = host_port(s, "listen address")?;
    if !matches!(addr.iter().next(), Some(Protocol::Dns(_))) {
        return Ok(addr);
    }
    let resolved = s
        .to_socket_addrs()
        .map_err(|e| format!("listen address `{s}`: cannot resolve: {e}"))?
        .next()
        .ok_or_else(|| format!("listen address `{s}`: the name has no address"))?;
    let mut addr = Multiaddr::empty();
    match resolved.ip() {
        IpAddr::V4(ip) => addr.push(Protocol::Ip4(ip)),
        IpAddr::V6(ip) => addr.push(Protocol::Ip6(ip)),
    }
    addr.push(Protocol::Tcp(resolved.port()));
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses() {
        let id = PeerId::random();
        let a = parse_bootstrap_node(&format!("/ip4/10.0.0.1/tcp/30303/p2p/{id}")).unwrap();
        let b = parse_bootstrap_node(&format!("{id}@10.0.0.1:30303")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.addr.to_string(), "/ip4/10.0.0.1/tcp/30303");
        let plain = parse_bootstrap_node("10.0.0.1:30303").unwrap();
        assert_eq!(plain, BootstrapNode { peer_id: None, addr: a.addr });
        assert_eq!(parse_bootstrap_node("/ip4/10.0.0.1/tcp/30303").unwrap(), plain);
        let v6 = parse_bootstrap_node("[::1]:30303").unwrap();
        assert_eq!(v6.addr.to_string(), "/ip6/::1/tcp/30303");
        let named = parse_bootstrap_node("boot.example.org:30303").unwrap();
        assert_eq!(named.addr.to_string(), "/dns/boot.example.org/tcp/30303");
        assert_eq!(
            parse_listen_addr("127.0.0.1:30303").unwrap().to_string(),
            "/ip4/127.0.0.1/tcp/30303"
        );
        assert_eq!(
            parse_listen_addr("localhost:30303").unwrap().iter().last(),
            Some(Protocol::Tcp(30303))
        );
        assert_eq!(
            parse_listen_addr("/ip4/0.0.0.0/tcp/1").unwrap().to_string(),
            "/ip4/0.0.0.0/tcp/1"
        );
    }

    #[test]
    fn malformed_entries_say_what_is_wrong() {
        let id = PeerId::random();
        assert!(parse_bootstrap_node("/ip4/10.0.0.1").unwrap_err().contains("/tcp"));
        assert!(parse_bootstrap_node("nonsense").unwrap_err().contains("expected host:port"));
        assert!(parse_bootstrap_node(&format!("{id}@10.0.0.1")).unwrap_err().contains("host:port"));
        assert!(parse_bootstrap_node("abc@10.0.0.1:1").unwrap_err().contains("peer id"));
        assert!(parse_bootstrap_node("10.0.0.1:99999").unwrap_err().contains("port"));
        assert!(parse_bootstrap_node(":30303").unwrap_err().contains("host"));
        assert!(parse_listen_addr("127.0.0.1").unwrap_err().contains("host:port"));
        assert!(parse_listen_addr("/not/a/multiaddr").unwrap_err().contains("invalid multiaddr"));
    }
}
