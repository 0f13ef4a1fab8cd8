//! The database handle and write batches.

use crate::codec::{Codec, CodecError};
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DBCompressionType, Direction, IteratorMode,
    Options, WriteBatch, DB,
};
use std::path::Path;

/// A table: a column family with typed keys and values.
pub trait Table {
    /// Column family name.
    const NAME: &'static str;
    /// Key type.
    type Key: Codec;
    /// Value type.
    type Value: Codec;
}

/// One decoded entry of table `T`.
pub type Entry<T> = (<T as Table>::Key, <T as Table>::Value);

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// RocksDB reported an error.
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// A stored key or value failed to decode.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// A table was used that the database was not opened with.
    #[error("table {0} is not open in this database")]
    UnknownTable(&'static str),
}

/// Bytes of data blocks RocksDB caches, shared by every table.
pub const BLOCK_CACHE_BYTES: usize = 128 << 20;
/// Bytes all tables' memtables may hold before RocksDB flushes them.
pub const WRITE_BUFFER_BYTES: usize = 128 << 20;
/// Table files RocksDB keeps open at once.
pub const MAX_OPEN_FILES: i32 = 512;

/// A RocksDB database opened with a fixed set of tables.
pub struct Db {
    inner: DB,
    tables: Vec<&'static str>,
    /// The first write RocksDB refused, kept for whoever must stop the process.
    write_failure: std::sync::OnceLock<String>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.inner.path()).finish()
    }
}

impl Db {
    /// Opens (creating if needed) the database at `path` with one column family per table name.
    pub fn open(path: &Path, tables: &[&'static str]) -> Result<Self, StorageError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(DBCompressionType::Lz4);
        opts.increase_parallelism(2);
        // RocksDB's memory and file handles are bounded for the whole database, not per table:
        // one block cache shared by every table, one budget for all memtables, and a cap on
        // open table files (by default RocksDB keeps every file of a growing database open).
        opts.set_db_write_buffer_size(WRITE_BUFFER_BYTES);
        opts.set_max_open_files(MAX_OPEN_FILES);
        let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&cache);
        let cfs = tables.iter().map(|name| {
            let mut cf = Options::default();
            cf.set_compression_type(DBCompressionType::Lz4);
            cf.set_block_based_table_factory(&table);
            ColumnFamilyDescriptor::new(*name, cf)
        });
        let inner = DB::open_cf_descriptors(&opts, path, cfs)?;
        Ok(Self { inner, tables: tables.to_vec(), write_failure: std::sync::OnceLock::new() })
    }

    fn cf<T: Table>(&self) -> Result<&rocksdb::ColumnFamily, StorageError> {
        self.inner.cf_handle(T::NAME).ok_or(StorageError::UnknownTable(T::NAME))
    }

    /// Reads one value.
    pub fn get<T: Table>(&self, key: &T::Key) -> Result<Option<T::Value>, StorageError> {
        let cf = self.cf::<T>()?;
        match self.inner.get_pinned_cf(cf, key.encode())? {
            Some(bytes) => Ok(Some(T::Value::decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Whether `key` is present.
    pub fn contains<T: Table>(&self, key: &T::Key) -> Result<bool, StorageError> {
        let cf = self.cf::<T>()?;
        Ok(self.inner.get_pinned_cf(cf, key.encode())?.is_some())
    }

    /// Entries from the first key `>= start` onwards, in key order, while `keep(key)` holds.
    pub fn scan_from<T: Table>(
        &self,
        start: &[u8],
        mut keep: impl FnMut(&[u8]) -> bool,
    ) -> Result<Vec<Entry<T>>, StorageError> {
        let cf = self.cf::<T>()?;
        let mut out = Vec::new();
        for item in self.inner.iterator_cf(cf, IteratorMode::From(start, Direction::Forward)) {
            let (k, v) = item?;
            if !keep(&k) {
                break;
            }
            out.push((T::Key::decode(&k)?, T::Value::decode(&v)?));
        }
        Ok(out)
    }

    /// All entries whose encoded key starts with `prefix`, in key order.
    pub fn scan_prefix<T: Table>(&self, prefix: &[u8]) -> Result<Vec<Entry<T>>, StorageError> {
        self.scan_from::<T>(prefix, |k| k.starts_with(prefix))
    }

    /// The first entry with key `>= start` whose encoded key starts with `prefix`.
    pub fn seek<T: Table>(
        &self,
        start: &[u8],
        prefix: &[u8],
    ) -> Result<Option<Entry<T>>, StorageError> {
        let cf = self.cf::<T>()?;
        let mut iter = self.inner.iterator_cf(cf, IteratorMode::From(start, Direction::Forward));
        match iter.next() {
            Some(item) => {
                let (k, v) = item?;
                if k.starts_with(prefix) {
                    Ok(Some((T::Key::decode(&k)?, T::Value::decode(&v)?)))
                } else {
                    Ok(None)
                }
            }
            None => Ok(None),
        }
    }

    /// The entry with the greatest key, if any.
    pub fn last<T: Table>(&self) -> Result<Option<Entry<T>>, StorageError> {
        let cf = self.cf::<T>()?;
        match self.inner.iterator_cf(cf, IteratorMode::End).next() {
            Some(item) => {
                let (k, v) = item?;
                Ok(Some((T::Key::decode(&k)?, T::Value::decode(&v)?)))
            }
            None => Ok(None),
        }
    }

    /// The last `limit` entries, last key first.
    pub fn last_n<T: Table>(&self, limit: usize) -> Result<Vec<Entry<T>>, StorageError> {
        let cf = self.cf::<T>()?;
        let mut out = Vec::with_capacity(limit.min(4096));
        for item in self.inner.iterator_cf(cf, IteratorMode::End).take(limit) {
            let (k, v) = item?;
            out.push((T::Key::decode(&k)?, T::Value::decode(&v)?));
        }
        Ok(out)
    }

    /// Starts an empty batch.
    pub fn batch(&self) -> Batch<'_> {
        Batch { db: self, inner: WriteBatch::default() }
    }

    /// Flushes memtables to disk (used at shutdown; writes are durable through the WAL anyway).
    pub fn flush(&self) -> Result<(), StorageError> {
        self.written(self.inner.flush_wal(true))?;
        // Memtables too: otherwise the next open replays up to WRITE_BUFFER_BYTES of
        // write-ahead log before it can serve anything (seconds on a long chain).
        for name in &self.tables {
            if let Some(cf) = self.inner.cf_handle(name) {
                self.written(self.inner.flush_cf(cf))?;
            }
        }
        Ok(())
    }

    /// The first write RocksDB refused (a full disk, a read-only file system, an I/O error),
    /// if any. RocksDB takes no more writes after such an error, and what was committed
    /// before it stays: the process should stop cleanly and be started again once the cause
    /// is fixed.
    pub fn write_failure(&self) -> Option<&str> {
        self.write_failure.get().map(String::as_str)
    }

    /// Notes the first refused write.
    fn written(&self, result: Result<(), rocksdb::Error>) -> Result<(), StorageError> {
        result.map_err(|e| {
            let _ = self.write_failure.set(e.to_string());
            StorageError::Rocks(e)
        })
    }
}

/// Writes staged for one atomic commit.
pub struct Batch<'a> {
    db: &'a Db,
    inner: WriteBatch,
}

impl Batch<'_> {
    /// Stages a put.
    pub fn put<T: Table>(&mut self, key: &T::Key, value: &T::Value) -> Result<(), StorageError> {
        let cf = self.db.cf::<T>()?;
        self.inner.put_cf(cf, key.encode(), value.encode());
        Ok(())
    }

    /// Stages a delete.
    pub fn delete<T: Table>(&mut self, key: &T::Key) -> Result<(), StorageError> {
        let cf = self.db.cf::<T>()?;
        self.inner.delete_cf(cf, key.encode());
        Ok(())
    }

    /// Number of staged operations.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Applies every staged write atomically. The write-ahead log is written before this
    /// returns, so a killed process loses nothing committed; it is not fsynced per batch
    /// (an operating-system crash may lose the last moments, as with geth and reth), and
    /// [`Db::flush`] syncs it at shutdown.
    pub fn commit(self) -> Result<(), StorageError> {
        self.db.written(self.db.inner.write(self.inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::B256;

    struct Numbers;
    impl Table for Numbers {
        const NAME: &'static str = "numbers";
        type Key = u64;
        type Value = B256;
    }

    #[test]
    fn batch_is_atomic_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = Db::open(dir.path(), &[Numbers::NAME]).unwrap();
            let mut b = db.batch();
            for i in 0..300u64 {
                b.put::<Numbers>(&i, &B256::with_last_byte(i as u8)).unwrap();
            }
            assert_eq!(db.get::<Numbers>(&5).unwrap(), None, "nothing visible before commit");
            b.commit().unwrap();
        }
        let db = Db::open(dir.path(), &[Numbers::NAME]).unwrap();
        assert_eq!(db.get::<Numbers>(&299).unwrap(), Some(B256::with_last_byte(299u64 as u8)));
        let (k, _) = db.last::<Numbers>().unwrap().unwrap();
        assert_eq!(k, 299, "big-endian keys iterate in numeric order");
        let from = db.scan_from::<Numbers>(&250u64.encode(), |_| true).unwrap();
        assert_eq!(from.len(), 50);
        let last: Vec<u64> = db.last_n::<Numbers>(3).unwrap().into_iter().map(|(k, _)| k).collect();
        assert_eq!(last, vec![299, 298, 297]);
    }
}
