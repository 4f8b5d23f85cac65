//! Byte-level helpers for the lexer's inner loops: finding the next byte of a small
//! set and counting line breaks eight bytes at a time (SWAR, in plain safe integer
//! arithmetic), and the identifier character classes as lookup tables.
//!
//! Most of a real `wp-config.php` is comments and string literals, so these loops
//! are where the reader spends its time. They must stay free of `unsafe`, never
//! read out of bounds, and agree exactly with a byte-by-byte scan.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Identifier characters: ASCII letters, `_`, bytes of non-ASCII characters, and
/// (when not the first) digits.
const IDENT_START: [bool; 256] = ident_table(false);
const IDENT_CHAR: [bool; 256] = ident_table(true);

const fn ident_table(digits: bool) -> [bool; 256] {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let c = byte as u8;
        table[byte] =
            c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 || (digits && c.is_ascii_digit());
        byte += 1;
    }
    table
}

pub(super) fn is_ident_start(c: u8) -> bool {
    IDENT_START[usize::from(c)]
}

pub(super) fn is_ident_char(c: u8) -> bool {
    IDENT_CHAR[usize::from(c)]
}

fn word(chunk: &[u8]) -> u64 {
    u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]))
}

/// A high bit in each byte of `word` equal to `byte`. Only the lowest one is
/// guaranteed (a borrow may flag bytes above a match), which is all finding needs.
fn lowest_match(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The first index at or after `from` whose byte is one of `set`.
pub(super) fn find_any<const N: usize>(
    haystack: &[u8],
    from: usize,
    set: [u8; N],
) -> Option<usize> {
    let rest = haystack.get(from..)?;
    let mut chunks = rest.chunks_exact(8);
    let mut offset = from;
    for chunk in &mut chunks {
        let word = word(chunk);
        let mask = set
            .iter()
            .fold(0, |mask, &byte| mask | lowest_match(word, byte));
        if mask != 0 {
            return Some(offset + (mask.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    let remainder = chunks.remainder();
    remainder
        .iter()
        .position(|byte| set.contains(byte))
        .map(|i| offset + i)
}

/// The first `needle` (two bytes) at or after `from`.
pub(super) fn find_pair(haystack: &[u8], from: usize, needle: [u8; 2]) -> Option<usize> {
    let [first, second] = needle;
    let mut i = from;
    loop {
        let at = find_any(haystack, i, [first])?;
        if haystack.get(at + 1) == Some(&second) {
            return Some(at);
        }
        i = at + 1;
    }
}

/// How many `\n` bytes `bytes` holds.
pub(super) fn count_newlines(bytes: &[u8]) -> usize {
    let mut chunks = bytes.chunks_exact(8);
    let mut count = 0;
    for chunk in &mut chunks {
        let x = word(chunk) ^ (ONES * u64::from(b'\n'));
        // The high bit of each byte of `nonzero` is set exactly when that byte of
        // `x` is not zero (no carry crosses a byte: 0x7f + 0x7f < 0x100).
        let nonzero = ((x & !HIGHS).wrapping_add(!HIGHS)) | x;
        count += (!nonzero & HIGHS).count_ones() as usize;
    }
    count
        + chunks
            .remainder()
            .iter()
            .filter(|&&byte| byte == b'\n')
            .count()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn agrees_with_a_byte_by_byte_scan(
            bytes in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'*'), Just(b'/'), Just(0x80u8), any::<u8>()],
                0..80,
            ),
            from in 0usize..90,
        ) {
            let slow_any = bytes.iter().skip(from).position(|b| [b'*', b'\n'].contains(b));
            let fast_any = find_any(&bytes, from, [b'*', b'\n']);
            prop_assert_eq!(fast_any, slow_any.map(|i| i + from));
            let slow_pair = (from..bytes.len().saturating_sub(1))
                .find(|&i| bytes.get(i..i + 2) == Some(b"*/"));
            prop_assert_eq!(find_pair(&bytes, from, *b"*/"), slow_pair);
            let newlines = bytes.iter().filter(|&&b| b == b'\n').count();
            prop_assert_eq!(count_newlines(&bytes), newlines);
        }
    }
}
