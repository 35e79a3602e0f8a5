//! Generators for tampered credentials: proptest strategies that mutate a live session id or
//! access token, and malformed tokens.
//!
//! Owns the mutation vocabulary ([`MutationKind`], [`Mutation`]), its pure application
//! ([`apply`]) and human-readable description ([`Mutation::describe`]), and the strategy
//! [`session_id_mutations`] whose value trees shrink toward the mutation a reader wants to
//! see: one mutation, at the earliest position, with the shortest suffix and the first
//! character of the id's alphabet. A mutation is a case only when it changes the credential
//! the service decodes (`equivalence::same_credential`: percent-encoding, base64, hex), and the cases a
//! seed gives depend on the id's shape, not on its random characters.
//!
//! It must not do I/O, print, or know about HTTP, rules or verdicts: the engine draws values
//! from a seeded `TestRunner`, sends them, and drives `simplify`/`complicate` itself. Nothing
//! here panics on any input.

mod equivalence;
mod malformed;
mod mutation;
mod session_id;

pub use malformed::malformed_tokens;
pub use mutation::MutationKind;
#[cfg(test)]
pub use mutation::apply;
pub use session_id::{MutatedId, session_id_mutations};
