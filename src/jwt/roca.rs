//! ROCA (CVE-2017-15361): RSA moduli from the Infineon RSALib generator, whose primes are
//! `k·M + (65537^a mod M)` with `M` a primorial, can be factored. Such a modulus `n` leaves a
//! fingerprint: for every small prime `r` dividing `M`, `n mod r` lies in the subgroup that
//! 65537 generates modulo `r` (Nemec et al., "The Return of Coppersmith's Attack", CCS 2017,
//! and the authors' published detector, which tests the primes 3 to 167 below).
//!
//! A random modulus passes every test with probability about 2^-154, so a hit is the
//! generator's key. Pure arithmetic on the modulus bytes: no bignum, no I/O, no panic.

/// The primes of the published fingerprint test.
const PRIMES: [u32; 38] = [
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
];

/// The generator of the vulnerable primes' residues.
const GENERATOR: u32 = 65_537;

/// `n mod r` for a big-endian unsigned `n`.
fn residue(n: &[u8], r: u32) -> u32 {
    n.iter()
        .fold(0u32, |acc, &b| ((acc << 8) | u32::from(b)) % r)
}

/// True when `x` is a power of 65537 modulo the prime `r`.
fn in_subgroup(x: u32, r: u32) -> bool {
    let g = GENERATOR % r;
    let mut power = 1u32;
    // The subgroup has at most r - 1 elements; the walk stops when it comes back to 1.
    for _ in 0..r {
        if power == x {
            return true;
        }
        power = power * g % r;
        if power == 1 {
            return false;
        }
    }
    false
}

/// True when the big-endian RSA modulus `n` has the ROCA fingerprint (CVE-2017-15361).
pub fn is_roca_modulus(n: &[u8]) -> bool {
    let significant = n.iter().skip_while(|&&b| b == 0).count();
    // A modulus too short to be an RSA key is not judged here.
    significant >= 16 && PRIMES.iter().all(|&r| in_subgroup(residue(n, r), r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;

    /// Miller–Rabin with fixed bases (enough for the test's random-looking candidates).
    fn is_probable_prime(n: &BigUint) -> bool {
        let one = BigUint::from(1u32);
        let two = BigUint::from(2u32);
        if *n < two {
            return false;
        }
        for p in [2u32, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
            if (n % p) == BigUint::from(0u32) {
                return *n == BigUint::from(p);
            }
        }
        let n1 = n - &one;
        let s = n1.trailing_zeros().unwrap_or(0);
        let d = &n1 >> s;
        'bases: for a in [2u32, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
            let mut x = BigUint::from(a).modpow(&d, n);
            if x == one || x == n1 {
                continue;
            }
            for _ in 1..s {
                x = x.modpow(&two, n);
                if x == n1 {
                    continue 'bases;
                }
            }
            return false;
        }
        true
    }

    /// The product of the first `count` primes.
    fn primorial(count: usize) -> BigUint {
        let mut m = BigUint::from(1u32);
        let (mut found, mut c) = (0, 2u32);
        while found < count {
            if (2..c).take_while(|d| d * d <= c).all(|d| c % d != 0) {
                m *= c;
                found += 1;
            }
            c += 1;
        }
        m
    }

    /// A prime `k·M + (65537^a mod M)` of the vulnerable generator's shape, from the seed.
    fn roca_prime(m: &BigUint, seed: &mut u64) -> BigUint {
        let base = BigUint::from(GENERATOR);
        for _ in 0..100_000 {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            let k = BigUint::from((*seed >> 8) | (1 << 55));
            let a = BigUint::from(*seed % 100_000 + 1);
            let p = k * m + base.modpow(&a, m);
            if is_probable_prime(&p) {
                return p;
            }
        }
        panic!("no prime found in 100 000 candidates")
    }

    #[test]
    fn a_modulus_of_the_vulnerable_generator_is_recognised() {
        // M of the 39 first primes (2 to 167), as the generator uses for small keys.
        let m = primorial(39);
        let mut seed = 0x15361_u64;
        let p = roca_prime(&m, &mut seed);
        let q = roca_prime(&m, &mut seed);
        assert_ne!(p, q);
        let n = (&p * &q).to_bytes_be();
        assert!(n.len() > 60, "{} bytes", n.len());
        assert!(is_roca_modulus(&n));
        // With a leading zero byte (as some encoders write it) too.
        let mut padded = vec![0];
        padded.extend_from_slice(&n);
        assert!(is_roca_modulus(&padded));
        // One prime of the shape is not enough: p times a random prime is not flagged.
        let mut other = BigUint::from(0xC0FF_EE01_u64) * BigUint::from(1u64 << 40) + 1u32;
        while !is_probable_prime(&other) {
            other += 2u32;
        }
        assert!(!is_roca_modulus(&(&p * &other).to_bytes_be()));
    }

    #[test]
    fn ordinary_rsa_moduli_are_not_flagged() {
        use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
        use aws_lc_rs::signature::KeyPair as _;
        for _ in 0..3 {
            let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
            let n = PublicKeyComponents::<Vec<u8>>::from(pair.public_key()).n;
            assert!(!is_roca_modulus(&n));
        }
        assert!(!is_roca_modulus(&[0xFF; 256]));
        assert!(!is_roca_modulus(&[]));
    }

    #[test]
    fn the_walk_finds_exactly_the_powers_of_65537() {
        for r in PRIMES {
            let mut members = vec![false; r as usize];
            let mut x = 1u32;
            loop {
                members[x as usize] = true;
                x = x * (GENERATOR % r) % r;
                if x == 1 {
                    break;
                }
            }
            for (v, &m) in members.iter().enumerate() {
                assert_eq!(in_subgroup(v as u32, r), m, "{v} mod {r}");
            }
        }
    }
}
