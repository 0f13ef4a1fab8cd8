//! Encoding of keys and values.

use alloy_primitives::{Address, Bytes, B256, U256};

/// A value or key that can be stored.
pub trait Codec: Sized {
    /// Appends the encoding of `self` to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);
    /// Decodes a value from exactly `bytes`.
    fn decode(bytes: &[u8]) -> Result<Self, CodecError>;

    /// The encoding of `self` as a fresh vector.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_to(&mut out);
        out
    }
}

/// A stored value could not be decoded: the database is corrupt or from another version.
#[derive(Debug, thiserror::Error)]
#[error("cannot decode {what}: {reason}")]
pub struct CodecError {
    /// Type being decoded.
    pub what: &'static str,
    /// Why it failed.
    pub reason: String,
}

impl CodecError {
    /// A decoding failure of `what`.
    pub fn new(what: &'static str, reason: impl ToString) -> Self {
        Self { what, reason: reason.to_string() }
    }
}

fn fixed<const N: usize>(bytes: &[u8], what: &'static str) -> Result<[u8; N], CodecError> {
    bytes
        .try_into()
        .map_err(|_| CodecError::new(what, format!("expected {N} bytes, got {}", bytes.len())))
}

impl Codec for u64 {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        Ok(u64::from_be_bytes(fixed(bytes, "u64")?))
    }
}

impl Codec for () {
    fn encode_to(&self, _out: &mut Vec<u8>) {}
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        if bytes.is_empty() {
            Ok(())
        } else {
            Err(CodecError::new("()", "expected no bytes"))
        }
    }
}

impl Codec for B256 {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_slice());
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        Ok(B256::from(fixed::<32>(bytes, "B256")?))
    }
}

impl Codec for Address {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_slice());
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        Ok(Address::from(fixed::<20>(bytes, "Address")?))
    }
}

impl Codec for U256 {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes::<32>());
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        Ok(U256::from_be_bytes(fixed::<32>(bytes, "U256")?))
    }
}

impl Codec for Bytes {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        Ok(Bytes::copy_from_slice(bytes))
    }
}

impl Codec for Vec<u8> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        Ok(bytes.to_vec())
    }
}

/// A value stored as JSON (for structured values of crates that define no RLP encoding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: serde::Serialize + serde::de::DeserializeOwned> Codec for Json<T> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        serde_json::to_writer(out, &self.0).expect("serialising to memory cannot fail");
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        serde_json::from_slice(bytes)
            .map(Json)
            .map_err(|e| CodecError::new(std::any::type_name::<T>(), e))
    }
}

/// Composite keys: fixed-size parts concatenated, so a prefix of the key is a prefix of the
/// bytes and iteration orders by the first part, then the second.
macro_rules! tuple_codec {
    ($($name:ident : $ty:ty = $len:expr),+) => {
        impl Codec for ($($ty,)+) {
            fn encode_to(&self, out: &mut Vec<u8>) {
                let ($($name,)+) = self;
                $( $name.encode_to(out); )+
            }
            fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
                let total = 0 $( + $len )+;
                if bytes.len() != total {
                    return Err(CodecError::new("composite key", format!("expected {total} bytes, got {}", bytes.len())));
                }
                let mut at = 0;
                $(
                    let $name = <$ty>::decode(&bytes[at..at + $len])?;
                    at += $len;
                )+
                let _ = at;
                Ok(($($name,)+))
            }
        }
    };
}
tuple_codec!(a: B256 = 32, b: B256 = 32);
tuple_codec!(a: U256 = 32, b: B256 = 32);
tuple_codec!(a: B256 = 32, b: u64 = 8);
tuple_codec!(a: Address = 20, b: u64 = 8);
tuple_codec!(a: u64 = 8, b: B256 = 32);
tuple_codec!(a: B256 = 32, b: B256 = 32, c: u64 = 8);
tuple_codec!(a: u64 = 8, b: B256 = 32, c: B256 = 32);

/// Declares tables: for each `Name: Key => Value` a type implementing [`Table`](crate::Table)
/// whose column family is its name, plus a constant listing the names for
/// [`Db::open`](crate::Db::open).
#[macro_export]
macro_rules! tables {
    ($(#[$list_doc:meta])* const $list:ident;
     $( $(#[$doc:meta])* $name:ident : $key:ty => $value:ty ),+ $(,)?) => {
        $(
            $(#[$doc])*
            #[derive(Debug)]
            pub struct $name;
            impl $crate::Table for $name {
                const NAME: &'static str = stringify!($name);
                type Key = $key;
                type Value = $value;
            }
        )+
        $(#[$list_doc])*
        pub const $list: &[&str] = &[$(stringify!($name)),+];
    };
}

/// Implements [`Codec`] for types that are RLP-encodable.
#[macro_export]
macro_rules! rlp_codec {
    ($($ty:ty),+ $(,)?) => {$(
        impl $crate::Codec for $ty {
            fn encode_to(&self, out: &mut Vec<u8>) {
                alloy_rlp::Encodable::encode(self, out);
            }
            fn decode(bytes: &[u8]) -> Result<Self, $crate::CodecError> {
                let mut buf = bytes;
                let value = <$ty as alloy_rlp::Decodable>::decode(&mut buf)
                    .map_err(|e| $crate::CodecError::new(stringify!($ty), e))?;
                if !buf.is_empty() {
                    return Err($crate::CodecError::new(stringify!($ty), "trailing bytes"));
                }
                Ok(value)
            }
        }
    )+};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_sort_numerically() {
        assert!(255u64.encode() < 256u64.encode());
        assert_eq!(u64::decode(&7u64.encode()).unwrap(), 7);
    }

    #[test]
    fn composite_keys_roundtrip_and_reject_bad_length() {
        let k = (B256::repeat_byte(1), 42u64);
        assert_eq!(<(B256, u64)>::decode(&k.encode()).unwrap(), k);
        assert!(<(B256, u64)>::decode(&[0u8; 39]).is_err());
    }
}
