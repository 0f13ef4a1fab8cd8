//! The node's persistent identity.

use libp2p::identity::Keypair;
use std::path::Path;

/// Writes `bytes` to `path` readable by the owner only (0600), creating parent directories;
/// refuses to replace an existing file.
pub fn write_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Reads a secret file, warning when others than its owner may read it.
pub fn read_secret(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(target: "lattice::node", path = %path.display(), mode = format!("{:o}", mode & 0o777),
            "a key file is readable by others than its owner; chmod 600 it");
    }
    std::fs::read(path)
}

/// Loads the ed25519 key at `path`, creating it (mode 0600) on first use, so the peer id is
/// stable across restarts.
pub fn load_or_create_key(path: &Path) -> std::io::Result<Keypair> {
    if path.exists() {
        let bytes = read_secret(path)?;
        return Keypair::from_protobuf_encoding(&bytes).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("invalid node key {}: {e}", path.display()),
            )
        });
    }
    let key = Keypair::generate_ed25519();
    let bytes = key.to_protobuf_encoding().map_err(std::io::Error::other)?;
    write_secret(path, &bytes)?;
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
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the owner may read the node key");
        assert!(super::write_secret(&path, b"x").is_err(), "an existing key is never replaced");
    }
}
