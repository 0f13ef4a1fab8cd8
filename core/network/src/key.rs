//! The node's persistent identity.

use libp2p::identity::Keypair;
use std::path::Path;

/// Loads the ed25519 key at `path`, creating it on first use, so the peer id is stable across
/// restarts.
pub fn load_or_create_key(path: &Path) -> std::io::Result<Keypair> {
    if path.exists() {
        let bytes = std::fs::read(path)?;
        return Keypair::from_protobuf_encoding(&bytes).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("invalid node key {}: {e}", path.display()),
            )
        });
    }
    let key = Keypair::generate_ed25519();
    let bytes = key.to_protobuf_encoding().map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_key_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node-key");
        let a = super::load_or_create_key(&path).unwrap();
        let b = super::load_or_create_key(&path).unwrap();
        assert_eq!(a.public().to_peer_id(), b.public().to_peer_id());
    }
}
