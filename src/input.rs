//! Bounded reads of input files: every file authprobe reads (profiles, spec files, baselines,
//! password and secret files, key and JWKS files, a token on stdin) goes through
//! [`read_bytes`] or [`read_text`], which read through a size limit on the open handle, so a
//! special file (`/dev/zero`, `/dev/urandom`) or a huge file ends within the limit instead of
//! growing memory without bound. The limit depends on what the file is ([`InputKind`]); the
//! error ([`InputError`]) names the file and says what was wrong in words.
//!
//! A leaf: it imports nothing of the crate, never prints and reads only the file it is given.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What an input file is; it sets the size limit and names the file's role in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputKind {
    /// A target profile (`--profile`), 4 MiB.
    Profile,
    /// A rule spec file (`--specs`), 4 MiB.
    Spec,
    /// An expected-failures baseline (`--baseline`), 4 MiB.
    Baseline,
    /// A file `validate` was given, of any of the three YAML kinds above, 4 MiB.
    Document,
    /// A password, client secret or signing key a profile names with `{file: ...}`, 64 KiB.
    Secret,
    /// A PEM public key or HMAC secret (`inspect jwt --key`), 1 MiB.
    Key,
    /// A JSON Web Key Set (`inspect jwt --jwks`), 1 MiB.
    Jwks,
    /// A token read from stdin (`inspect jwt -`), 1 MiB.
    Token,
    /// A PEM bundle of CA certificates to trust (`tls.ca_file`, `--ca-file`), 1 MiB.
    CaFile,
    /// Response headers or a whole HTTP response (`inspect set-cookie --file`), 1 MiB.
    Headers,
}

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

impl InputKind {
    /// The largest file of this kind that is read, in bytes.
    pub const fn limit(self) -> u64 {
        match self {
            InputKind::Profile | InputKind::Spec | InputKind::Baseline | InputKind::Document => {
                4 * MIB
            }
            InputKind::Secret => 64 * KIB,
            InputKind::Key
            | InputKind::Jwks
            | InputKind::Token
            | InputKind::CaFile
            | InputKind::Headers => MIB,
        }
    }

    /// The file's role with an article, e.g. `a profile`.
    pub const fn noun(self) -> &'static str {
        match self {
            InputKind::Profile => "a profile",
            InputKind::Spec => "a spec file",
            InputKind::Baseline => "a baseline",
            InputKind::Document => "a profile, spec or baseline",
            InputKind::Secret => "a password or secret file",
            InputKind::Key => "a key file",
            InputKind::Jwks => "a JWKS file",
            InputKind::Token => "a token",
            InputKind::CaFile => "a CA certificate file",
            InputKind::Headers => "a response headers file",
        }
    }
}

/// What was wrong with an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputProblem {
    /// The file could not be opened or read; the operating system's reason, lowercased.
    Unreadable(String),
    /// The file holds more bytes than its kind allows (reading stopped at the limit).
    TooLarge,
    /// The text is not UTF-8; the position (1-based) of the first invalid byte.
    NotUtf8 {
        /// Line of the first invalid byte.
        line: u64,
        /// Column (in characters) of the first invalid byte.
        column: u64,
    },
}

/// An input file that could not be used: which file, what it was for, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The file as it was named.
    pub path: PathBuf,
    /// What the file was for.
    pub kind: InputKind,
    /// What was wrong.
    pub problem: InputProblem,
}

impl InputError {
    /// What was wrong, without the file name (for diagnostics that print the file first).
    pub fn message(&self) -> String {
        match &self.problem {
            InputProblem::Unreadable(reason) => format!("cannot read it: {reason}"),
            InputProblem::TooLarge => format!(
                "larger than {} (the limit for {})",
                size_in_words(self.kind.limit()),
                self.kind.noun()
            ),
            InputProblem::NotUtf8 { line, column } => {
                format!("not valid UTF-8 text (line {line}, column {column})")
            }
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message())
    }
}

impl std::error::Error for InputError {}

/// `4 MiB`, `64 KiB`, `100 bytes`.
fn size_in_words(bytes: u64) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Reads a whole file of `kind`, at most [`InputKind::limit`] bytes: the open handle is read
/// through `take(limit + 1)`, so a larger (or endless) file stops there and is refused.
pub fn read_bytes(path: &Path, kind: InputKind) -> Result<Vec<u8>, InputError> {
    let error = |problem| InputError {
        path: path.to_path_buf(),
        kind,
        problem,
    };
    let file = std::fs::File::open(path).map_err(|e| error(unreadable(&e)))?;
    read_limited(file, kind.limit()).map_err(error)
}

/// Reads a whole text file of `kind` (see [`read_bytes`]); refuses text that is not UTF-8,
/// with the position of the first invalid byte.
pub fn read_text(path: &Path, kind: InputKind) -> Result<String, InputError> {
    let bytes = read_bytes(path, kind)?;
    utf8(bytes).map_err(|problem| InputError {
        path: path.to_path_buf(),
        kind,
        problem,
    })
}

/// Reads text of `kind` from an open stream (stdin), named `name` in errors; the same limit
/// and checks as [`read_text`].
pub fn read_text_from(
    reader: impl Read,
    name: &str,
    kind: InputKind,
) -> Result<String, InputError> {
    let error = |problem| InputError {
        path: PathBuf::from(name),
        kind,
        problem,
    };
    let bytes = read_limited(reader, kind.limit()).map_err(error)?;
    utf8(bytes).map_err(error)
}

/// Reads at most `limit + 1` bytes; more than `limit` is [`InputProblem::TooLarge`].
fn read_limited(reader: impl Read, limit: u64) -> Result<Vec<u8>, InputProblem> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(&e))?;
    if bytes.len() as u64 > limit {
        return Err(InputProblem::TooLarge);
    }
    Ok(bytes)
}

/// The bytes as a string, or where the first invalid byte is.
fn utf8(bytes: Vec<u8>) -> Result<String, InputProblem> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        // The prefix is valid UTF-8 by construction.
        let prefix = std::str::from_utf8(valid).unwrap_or_default();
        let line = prefix.matches('\n').count() as u64 + 1;
        let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
        InputProblem::NotUtf8 { line, column }
    })
}

/// The operating system's reason in words: lowercased, without the `(os error N)` suffix.
fn unreadable(e: &std::io::Error) -> InputProblem {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => &text[..i],
        _ => &text,
    };
    let mut chars = text.chars();
    let reason = match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => "unknown error".to_string(),
    };
    InputProblem::Unreadable(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("authprobe-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn a_file_within_the_limit_is_read_whole() {
        let p = temp("small.yaml", b"name: x\n");
        assert_eq!(read_text(&p, InputKind::Profile).unwrap(), "name: x\n");
        let limit = InputKind::Secret.limit() as usize;
        let p = temp("exact", &vec![b'a'; limit]);
        assert_eq!(read_bytes(&p, InputKind::Secret).unwrap().len(), limit);
    }

    #[test]
    fn one_byte_over_the_limit_is_refused_in_words() {
        let limit = InputKind::Secret.limit() as usize;
        let p = temp("over", &vec![b'a'; limit + 1]);
        let e = read_bytes(&p, InputKind::Secret).unwrap_err();
        assert_eq!(e.problem, InputProblem::TooLarge);
        assert_eq!(e.kind, InputKind::Secret);
        assert_eq!(
            e.to_string(),
            format!(
                "{}: larger than 64 KiB (the limit for a password or secret file)",
                p.display()
            )
        );
    }

    /// An endless special file ends at the limit: the read stops after `limit + 1` bytes, so
    /// memory stays within the limit (this is the memory bound the CLI tests rely on).
    #[test]
    fn endless_special_files_stop_at_the_limit() {
        for dev in ["/dev/zero", "/dev/urandom"] {
            if !Path::new(dev).exists() {
                continue;
            }
            for kind in [InputKind::Profile, InputKind::Secret, InputKind::Jwks] {
                let e = read_text(Path::new(dev), kind).unwrap_err();
                assert_eq!(e.problem, InputProblem::TooLarge, "{dev} as {kind:?}");
                assert!(e.to_string().starts_with(&format!("{dev}: larger than ")));
            }
        }
        let endless = std::io::repeat(b'x');
        let e = read_text_from(endless, "stdin", InputKind::Token).unwrap_err();
        assert_eq!(
            e.to_string(),
            "stdin: larger than 1 MiB (the limit for a token)"
        );
    }

    #[test]
    fn invalid_utf8_is_located() {
        let p = temp("latin1.yaml", b"name: ok\nb: caf\xe9\n");
        let e = read_text(&p, InputKind::Profile).unwrap_err();
        assert_eq!(e.problem, InputProblem::NotUtf8 { line: 2, column: 7 });
        assert!(e.message().contains("line 2, column 7"), "{e}");
        // Bytes need not be text: an HMAC secret may be binary.
        assert_eq!(read_bytes(&p, InputKind::Key).unwrap().len(), 17);
    }

    #[test]
    fn a_missing_file_or_a_directory_says_why_without_os_error_numbers() {
        let e = read_text(Path::new("/surely/not/here.yaml"), InputKind::Profile).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/surely/not/here.yaml: cannot read it: no such file or directory"
        );
        let e = read_text(&std::env::temp_dir(), InputKind::Spec).unwrap_err();
        match e.problem {
            InputProblem::Unreadable(reason) => assert_eq!(reason, "is a directory"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sizes_read_in_words() {
        assert_eq!(size_in_words(4 * MIB), "4 MiB");
        assert_eq!(size_in_words(64 * KIB), "64 KiB");
        assert_eq!(size_in_words(1000), "1000 bytes");
    }
}
