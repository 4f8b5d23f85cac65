//! Whole-file fingerprints that catch changes outside the pinned keys: SHA-256 of
//! the bytes (any change at all), and SHA-256 of the tokens PHP sees (unchanged by
//! comments and whitespace).
//!
//! Pure and allocation-light: it must not read the file itself (callers pass bytes)
//! nor parse more than the tokenizer does.

use sha2::{Digest, Sha256};

use crate::wpconfig::reader;

/// SHA-256 of the file's bytes: any change at all.
pub fn fingerprint(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// SHA-256 of the tokens PHP sees (see [`reader::for_each_normalized_token`]):
/// unchanged by edits to comments or whitespace, changed by anything else.
pub fn normalized_fingerprint(bytes: &[u8]) -> [u8; 32] {
    let mut hasher = BatchedSha256::default();
    reader::for_each_normalized_token(bytes, &mut |token| {
        // Length-prefixed, so that token boundaries cannot collide.
        hasher.update(&(token.len() as u64).to_le_bytes());
        hasher.update(token.as_bytes());
    });
    hasher.finalize()
}

/// SHA-256 fed through a stack buffer, with the same digest as feeding each piece
/// directly: most tokens are a few bytes long, and a `Sha256::update` per piece
/// costs more in bookkeeping than in hashing.
struct BatchedSha256 {
    hasher: Sha256,
    batch: [u8; 512],
    len: usize,
}

impl Default for BatchedSha256 {
    fn default() -> Self {
        BatchedSha256 {
            hasher: Sha256::new(),
            batch: [0; 512],
            len: 0,
        }
    }
}

impl BatchedSha256 {
    fn update(&mut self, data: &[u8]) {
        if self.batch.len() - self.len < data.len() {
            self.hasher
                .update(self.batch.get(..self.len).unwrap_or(&[]));
            self.len = 0;
        }
        match self.batch.get_mut(self.len..self.len + data.len()) {
            Some(slot) => {
                slot.copy_from_slice(data);
                self.len += data.len();
            }
            None => self.hasher.update(data),
        }
    }

    fn finalize(mut self) -> [u8; 32] {
        self.hasher
            .update(self.batch.get(..self.len).unwrap_or(&[]));
        self.hasher.finalize().into()
    }
}

/// Lower-case hexadecimal of a fingerprint, for logs and metrics labels.
pub fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The digest `hex` wrote; `None` unless it is 64 hex digits.
pub fn unhex(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 || !bytes.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut digest = [0u8; 32];
    for (slot, pair) in digest.iter_mut().zip(bytes.chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *slot = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(digest)
}
