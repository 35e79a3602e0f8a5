//! JSON Web Tokens as an auditor sees them: public keys read from a JWKS ([`keys`]) and the
//! forgery toolkit ([`dangerous`]) that builds the tokens a correct service must refuse.
//!
//! This module only builds and inspects tokens; it never does network I/O.
pub mod dangerous;
pub mod keys;
