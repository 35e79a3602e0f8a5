//! The bounded byte reader every binary decoder here uses: reads that fail instead of
//! panicking past the end, and one budget of nodes and nesting per decoded value so no input
//! can make a decoder recurse deeply or build a huge structure.

/// Most nodes one decoded structure may hold.
pub(super) const MAX_NODES: usize = 4096;

/// Deepest nesting of containers a decoder follows.
pub(super) const MAX_DEPTH: usize = 32;

/// A cursor over a byte slice with a node budget.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    nodes: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Reader {
            bytes,
            pos: 0,
            nodes: 0,
        }
    }

    /// Whether every byte was read.
    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// Bytes not read yet.
    pub(super) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// The next byte, without reading it.
    pub(super) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// The next byte.
    pub(super) fn u8(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    /// The next `n` bytes.
    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    /// A big-endian unsigned integer of `n` bytes (at most 8).
    pub(super) fn be(&mut self, n: usize) -> Option<u64> {
        if n > 8 {
            return None;
        }
        Some(
            self.take(n)?
                .iter()
                .fold(0u64, |acc, &b| acc << 8 | u64::from(b)),
        )
    }

    /// Counts one more node; `None` when the budget is spent.
    pub(super) fn node(&mut self) -> Option<()> {
        self.nodes += 1;
        (self.nodes <= MAX_NODES).then_some(())
    }

    /// Reads up to (not including) `stop`, then skips it.
    pub(super) fn until(&mut self, stop: u8) -> Option<&'a [u8]> {
        let rest = self.bytes.get(self.pos..)?;
        let len = rest.iter().position(|&b| b == stop)?;
        let out = self.take(len)?;
        self.pos += 1;
        Some(out)
    }

    /// Skips `expected` or fails.
    pub(super) fn expect(&mut self, expected: &[u8]) -> Option<()> {
        (self.take(expected.len())? == expected).then_some(())
    }
}

/// A container length from the input, refused when it could not fit in what is left (each
/// entry takes at least `min_entry_bytes`), so a forged length allocates nothing.
pub(super) fn plausible_len(
    len: u64,
    reader: &Reader<'_>,
    min_entry_bytes: usize,
) -> Option<usize> {
    let len = usize::try_from(len).ok()?;
    (len.checked_mul(min_entry_bytes)? <= reader.remaining() && len <= MAX_NODES).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fail_past_the_end() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.be(2), Some(0x0102));
        assert_eq!(r.take(2), None);
        assert_eq!(r.u8(), Some(3));
        assert!(r.at_end());
        assert_eq!(r.u8(), None);
        assert_eq!(r.be(9), None);
        let mut r = Reader::new(b"abc:def");
        assert_eq!(r.until(b':'), Some(&b"abc"[..]));
        assert_eq!(r.until(b':'), None);
        assert_eq!(plausible_len(u64::MAX, &r, 1), None);
        assert_eq!(plausible_len(3, &r, 1), Some(3));
        assert_eq!(plausible_len(4, &r, 1), None);
    }
}
