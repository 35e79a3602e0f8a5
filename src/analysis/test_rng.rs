//! Deterministic test data for the analyses' tests (xorshift64: no dependency, no clock).

/// xorshift64: the same seed gives the same numbers on every machine.
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    /// The next 64-bit number.
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next().to_le_bytes()[3]).collect()
    }
}
