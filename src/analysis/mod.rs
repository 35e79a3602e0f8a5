//! Analyses of values the service under test hands out, judged on their content alone.
//!
//! Owns session-id analysis: the decoders of framework session formats (`decode`: what a
//! cookie value unwraps to, layer by layer), the judge over them (`session_id`: is it readable
//! session state?), and whether a sample of ids from fresh logins looks unique, unpatterned
//! and random enough.
//!
//! Everything here is a pure function over strings: it must not do I/O, print, read the
//! clock or draw random numbers, and it must never panic on any input (the values come from
//! servers that may be hostile). It knows nothing about rules, profiles or HTTP; the engine
//! decides what a result means for a verdict.

pub mod decode;
pub mod session_id;
#[cfg(test)]
mod test_rng;
