//! Compressed payloads: zlib (RFC 1950, what itsdangerous and Django signing write after
//! their `.` marker), gzip (RFC 1952) and raw deflate (RFC 1951), inflated with
//! `miniz_oxide`'s limited decompression so a decompression bomb yields at most
//! [`MAX_INFLATED`] bytes (the first ones, which is all a reader needs) and never exhausts
//! memory.
//!
//! Pure and panic-free.

use miniz_oxide::inflate::{
    TINFLStatus, decompress_to_vec_with_limit, decompress_to_vec_zlib_with_limit,
};

/// Most bytes one inflation yields; a longer output is cut there.
pub const MAX_INFLATED: usize = 64 * 1024;

/// Which container held the deflate stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Container {
    /// A zlib header (`78 9c`, …) and Adler-32 trailer.
    Zlib,
    /// A gzip member (`1f 8b 08`).
    Gzip,
    /// A bare deflate stream.
    Deflate,
}

/// Whether `bytes` start like a zlib stream: deflate method, a window of at most 32 KiB, no
/// preset dictionary and a valid header check.
pub(super) fn looks_like_zlib(bytes: &[u8]) -> bool {
    match bytes {
        [cmf, flg, _, ..] => {
            cmf & 0x0f == 8
                && cmf >> 4 <= 7
                && flg & 0x20 == 0
                && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

/// Whether `bytes` start like a gzip member with deflate compression.
pub(super) fn looks_like_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b, 0x08])
}

/// The inflated bytes of a `container` stream (cut at [`MAX_INFLATED`]), or `None` when the
/// stream is corrupt, empty or fails its check.
pub(super) fn inflate(bytes: &[u8], container: Container) -> Option<Vec<u8>> {
    let result = match container {
        Container::Zlib => decompress_to_vec_zlib_with_limit(bytes, MAX_INFLATED),
        Container::Deflate => decompress_to_vec_with_limit(bytes, MAX_INFLATED),
        Container::Gzip => decompress_to_vec_with_limit(gzip_body(bytes)?, MAX_INFLATED),
    };
    let out = match result {
        Ok(out) => out,
        // The limit was reached: keep what fits (a bomb is read, not expanded).
        Err(e) if e.status == TINFLStatus::HasMoreOutput => e.output,
        Err(_) => return None,
    };
    (!out.is_empty()).then_some(out)
}

/// The deflate stream of a gzip member: after the fixed header and the optional extra field,
/// name, comment and header CRC (RFC 1952 §2.3).
fn gzip_body(bytes: &[u8]) -> Option<&[u8]> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    if !looks_like_gzip(bytes) {
        return None;
    }
    let flags = *bytes.get(3)?;
    let mut rest = bytes.get(10..)?;
    if flags & FEXTRA != 0 {
        let len = usize::from(u16::from_le_bytes([*rest.first()?, *rest.get(1)?]));
        rest = rest.get(2 + len..)?;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let end = rest.iter().position(|&b| b == 0)?;
            rest = rest.get(end + 1..)?;
        }
    }
    if flags & FHCRC != 0 {
        rest = rest.get(2..)?;
    }
    Some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniz_oxide::deflate::{compress_to_vec, compress_to_vec_zlib};

    #[test]
    fn zlib_round_trips_and_is_recognised() {
        let z = compress_to_vec_zlib(br#"{"user":"alice"}"#, 6);
        assert!(looks_like_zlib(&z), "{:02x?}", &z[..2]);
        assert_eq!(
            inflate(&z, Container::Zlib).unwrap(),
            br#"{"user":"alice"}"#
        );
        let mut bad = z.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(inflate(&bad, Container::Zlib), None, "Adler-32 is checked");
    }

    #[test]
    fn gzip_headers_with_name_are_skipped() {
        // RFC 1952 header: FNAME set, name "s\0", mtime 0, xfl 0, os 3; then deflate, CRC, size.
        let mut gz = vec![0x1f, 0x8b, 0x08, 0x08, 0, 0, 0, 0, 0, 3, b's', 0];
        gz.extend(compress_to_vec(b"user=bob;role=admin", 6));
        gz.extend([0; 8]);
        assert!(looks_like_gzip(&gz));
        assert_eq!(
            inflate(&gz, Container::Gzip).unwrap(),
            b"user=bob;role=admin"
        );
        assert_eq!(inflate(&gz[..11], Container::Gzip), None);
    }

    #[test]
    fn a_decompression_bomb_is_cut_at_the_limit() {
        let bomb = compress_to_vec_zlib(&vec![b'a'; 10 * 1024 * 1024], 10);
        assert!(bomb.len() < 20_000, "{}", bomb.len());
        assert_eq!(inflate(&bomb, Container::Zlib).unwrap().len(), MAX_INFLATED);
    }

    #[test]
    fn random_bytes_do_not_inflate_as_zlib() {
        let mut x = 0x1234_5678_9abc_def0u64;
        for _ in 0..2000 {
            let bytes: Vec<u8> = (0..48)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x.to_le_bytes()[5]
                })
                .collect();
            let mut z = vec![0x78, 0x9c];
            z.extend(&bytes);
            assert_eq!(inflate(&z, Container::Zlib), None);
            let _ = inflate(&bytes, Container::Deflate);
            let _ = inflate(&bytes, Container::Gzip);
        }
    }
}
