//! Just enough PEM and DER to judge a public key file: the DER inside a PEM block, and the
//! modulus of an RSA public key (X.509 `SubjectPublicKeyInfo`, RFC 5280 §4.1.2.7, or PKCS #1
//! `RSAPublicKey`, RFC 8017 §A.1.1). Used by strict verification to apply the same RSA key
//! judgement (size, ROCA) to a PEM key as to a JWK. No I/O, no panic, bounded by the input.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The DER bytes of the first PEM block of `pem`, if any.
pub fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let mut lines = pem.lines().map(str::trim);
    lines.find(|l| l.starts_with("-----BEGIN "))?;
    let body: String = lines
        .take_while(|l| !l.starts_with("-----END "))
        .filter(|l| !l.contains(':'))
        .collect();
    STANDARD.decode(body).ok()
}

/// One DER element: its tag, its contents and the bytes after it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7F);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[count..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;

/// The modulus `n` (big-endian, no leading zero) of an RSA public key in DER: a
/// `SubjectPublicKeyInfo` or a bare PKCS #1 `RSAPublicKey`. `None` for anything else.
pub fn rsa_modulus(der: &[u8]) -> Option<Vec<u8>> {
    let (tag, body, _) = element(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, first, rest) = element(body)?;
    match tag {
        // PKCS #1: SEQUENCE { n INTEGER, e INTEGER }.
        INTEGER => {
            let (tag, _, _) = element(rest)?;
            (tag == INTEGER).then(|| strip(first))
        }
        // SPKI: SEQUENCE { algorithm SEQUENCE, subjectPublicKey BIT STRING }.
        SEQUENCE => {
            let (tag, bits, _) = element(rest)?;
            match bits.split_first() {
                Some((0, inner)) if tag == BIT_STRING => rsa_modulus(inner),
                _ => None,
            }
        }
        _ => None,
    }
}

fn strip(n: &[u8]) -> Vec<u8> {
    n.iter().copied().skip_while(|&b| b == 0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_modulus_of_the_demo_rsa_key_is_read_from_its_pem() {
        let pem = include_str!("../testbed/keys/rs256-demo.pub.pem");
        let der = pem_der(pem).unwrap();
        let n = rsa_modulus(&der).unwrap();
        assert_eq!(n.len(), 256, "a 2048-bit modulus");
        assert!(n[0] >= 0x80);
        let ec = pem_der(include_str!("../testbed/keys/es256-demo.pub.pem")).unwrap();
        assert_eq!(rsa_modulus(&ec), None);
        assert_eq!(rsa_modulus(&[0x30, 0x85, 1, 2, 3, 4, 5]), None);
        assert_eq!(rsa_modulus(&[]), None);
        assert_eq!(pem_der("no pem here"), None);
    }
}
