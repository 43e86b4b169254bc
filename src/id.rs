//! Typed identifiers: content hashes of bodies and raw captures, and article ids.
//! Owns parsing, hex display and the short form; never touches storage.

use std::fmt;

/// How many hex characters the short form of an id shows.
pub const SHORT_HEX: usize = 12;

/// The least number of hex characters accepted as a reference prefix.
pub const MIN_PREFIX: usize = 4;

macro_rules! byte_id {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $len]);

        // Stored values hold many ids: as bytes they encode and decode as one copy (an
        // array would go through serde one byte at a time); human-readable formats
        // get the hex form.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if serializer.is_human_readable() {
                    serializer.serialize_str(&self.to_hex())
                } else {
                    serializer.serialize_bytes(&self.0)
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct IdVisitor;
                impl serde::de::Visitor<'_> for IdVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        write!(f, "{} bytes or their hex form", $len)
                    }
                    fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<$name, E> {
                        $name::from_slice(bytes).ok_or_else(|| E::invalid_length(bytes.len(), &self))
                    }
                    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<$name, E> {
                        $name::from_hex(text).ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(text), &self))
                    }
                }
                if deserializer.is_human_readable() {
                    deserializer.deserialize_str(IdVisitor)
                } else {
                    deserializer.deserialize_bytes(IdVisitor)
                }
            }
        }

        impl $name {
            /// The id's length in bytes.
            pub const LEN: usize = $len;

            /// The full lower-case hex form.
            pub fn to_hex(&self) -> String {
                hex(&self.0)
            }

            /// The first [`SHORT_HEX`] hex characters, for people.
            pub fn short(&self) -> String {
                let mut s = self.to_hex();
                s.truncate(SHORT_HEX);
                s
            }

            /// Reads an id from exactly `LEN` bytes.
            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                bytes.try_into().ok().map(Self)
            }

            /// Parses the full hex form.
            pub fn from_hex(text: &str) -> Option<Self> {
                let bytes = parse_hex(text)?;
                Self::from_slice(&bytes)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }
    };
}

byte_id!(
    /// BLAKE3 hash of a normalised article body: the identity of a version's text.
    BodyHash,
    32
);
byte_id!(
    /// BLAKE3 hash of the raw captured input of one record.
    RawHash,
    32
);
byte_id!(
    /// An article's identity, derived from its URL or, without one, from its key
    /// (source, title, published date). See [`crate::record::ArticleKey`].
    ArticleId,
    16
);

impl BodyHash {
    /// Hashes a normalised body.
    pub fn of(text: &str) -> Self {
        Self(*blake3::hash(text.as_bytes()).as_bytes())
    }
}

impl RawHash {
    /// Hashes raw captured bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }
}

/// Lower-case hex of any bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// Parses an even-length hex string.
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// Whether `text` could be a hash or id prefix given by a user.
pub fn is_hex_prefix(text: &str) -> bool {
    text.len() >= MIN_PREFIX && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The byte range `[low, high)` covering every id whose hex form starts with `prefix`
/// (which may have an odd number of characters). `high` is `None` when unbounded.
pub fn prefix_range(prefix: &str) -> (Vec<u8>, Option<Vec<u8>>) {
    let prefix = prefix.to_ascii_lowercase();
    let even = &prefix[..prefix.len() - prefix.len() % 2];
    let mut low = parse_hex(even).unwrap_or_default();
    let mut high = low.clone();
    if prefix.len() % 2 == 1 {
        let nibble = u8::from_str_radix(&prefix[prefix.len() - 1..], 16).unwrap_or(0);
        low.push(nibble << 4);
        high.push((nibble << 4) | 0x0f);
    }
    (low, increment(high))
}

/// The smallest byte string greater than every string starting with `bytes`.
fn increment(mut bytes: Vec<u8>) -> Option<Vec<u8>> {
    while let Some(last) = bytes.pop() {
        if last < u8::MAX {
            bytes.push(last + 1);
            return Some(bytes);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let h = BodyHash::of("x");
        assert_eq!(BodyHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(h.short().len(), SHORT_HEX);
    }

    #[test]
    fn ids_serialize_as_bytes_in_stored_values_and_as_hex_in_json() {
        let h = BodyHash::of("x");
        let stored = crate::store::codec::encode(&h);
        assert_eq!(stored.len(), 1 + 1 + 32, "version byte, length, the bytes");
        assert_eq!(crate::store::codec::decode::<BodyHash>("t", &stored).unwrap(), h);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{}\"", h.to_hex()));
        assert_eq!(serde_json::from_str::<BodyHash>(&json).unwrap(), h);
        assert!(
            crate::store::codec::decode::<ArticleId>("t", &stored).is_err(),
            "32 bytes are no article id"
        );
    }

    #[test]
    fn odd_prefix_range_covers_its_nibble() {
        let (low, high) = prefix_range("abc");
        assert_eq!(low, vec![0xab, 0xc0]);
        assert_eq!(high, Some(vec![0xab, 0xd0]));
        let (low, high) = prefix_range("ffff");
        assert_eq!(low, vec![0xff, 0xff]);
        assert_eq!(high, None);
    }

    #[test]
    fn hex_prefix_needs_four_hex_digits() {
        assert!(is_hex_prefix("a1b2"));
        assert!(!is_hex_prefix("a1b"));
        assert!(!is_hex_prefix("https://x"));
    }
}
