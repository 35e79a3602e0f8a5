//! JSON Web Tokens as an auditor sees them.
//!
//! - [`decode`](mod@decode): the lossless compact-serialisation parser (anomalies, never a panic);
//! - [`claims`]: what anyone holding a token can read (secrets, personal data) and its lifetime;
//! - [`keys`]: public keys read from a JWKS and written in every serialisation a confused
//!   verifier might use;
//! - [`dangerous`]: the forgery toolkit that builds the tokens a correct service must refuse;
//! - [`inspect`]: the offline report of `authprobe inspect jwt`, verifying under [`strict`]
//!   judgement of the token and the key.
//!
//! Nothing here does network I/O or prints; verification (in `inspect` only) uses the
//! third-party `jsonwebtoken` crate, never our own code.

pub mod claims;
pub mod dangerous;
pub mod decode;
pub mod der;
pub mod inspect;
pub mod jose;
pub mod keys;
pub mod roca;
pub mod strict;

pub use claims::{Exposure, ExposureClass, Lifetime, exposures, lifetime};
pub use decode::{
    Anomaly, AnomalyKind, DecodeError, DecodeErrorKind, Jws, Payload, Segment, b64url, decode,
    encode_compact,
};
