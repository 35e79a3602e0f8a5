//! Diagnostics for hand-written input files (specs, profiles): a location (`file:line:col`),
//! the key path inside the document, a lowercase message and an optional hint.
//!
//! Owns the YAML loading front door: [`from_yaml`] deserialises one document with
//! `serde-saphyr` (strict: duplicate keys rejected, alias budget) and turns its error into a
//! [`Diagnostic`]. Input files are read through a size limit per kind ([`read_file`], and
//! [`read_text`]/[`read_bytes`] from the `input` leaf for files that are not YAML); nothing
//! else is read, and nothing is printed.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::input::{
    InputError, InputKind, InputProblem, read_bytes, read_text, read_text_from,
};

/// One problem found in an input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file the problem is in.
    pub file: PathBuf,
    /// 1-based line, 0 when unknown.
    pub line: u64,
    /// 1-based column, 0 when unknown.
    pub column: u64,
    /// Where in the document, e.g. `rules[3] (cookie.secure)` or `flows.login[1]`.
    pub path: String,
    /// What is wrong, lowercase, one line.
    pub message: String,
    /// How to fix it, when there is an obvious fix.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at a known position.
    pub fn new(
        file: &Path,
        line: u64,
        column: u64,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            line,
            column,
            path: path.into(),
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        write!(f, ": error: {}", self.message)?;
        if !self.path.is_empty() {
            write!(f, "\n  at: {}", self.path)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found while loading a set of files, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// True when nothing was wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Adds one problem.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    /// Adds many problems.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        if self.0.len() > 1 {
            write!(f, "\n{} problems found", self.0.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

fn options() -> serde_saphyr::Options {
    let mut o = serde_saphyr::Options::default();
    o.with_snippet = false;
    o
}

/// Deserialises one YAML document. `line_offset` and `column_pad` shift reported positions
/// when `src` is a slice of a larger file; `path` names the slice for the diagnostic.
pub fn from_yaml<T: DeserializeOwned>(
    src: &str,
    file: &Path,
    line_offset: u64,
    path: &str,
) -> Result<T, Diagnostic> {
    serde_saphyr::from_str_with_options::<T>(src, options()).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line() + line_offset, l.column()))
            .unwrap_or((0, 0));
        let message = yaml_message(&e);
        let hint = hint_for(&message);
        let d = Diagnostic::new(file, line, column, path, message);
        match hint {
            Some(h) => d.with_hint(h),
            None => d,
        }
    })
}

/// serde-saphyr's error in words, on one line and without its position (the diagnostic
/// carries it). Its developer-facing advice ("set DuplicateKeyPolicy in Options", "use
/// from_str_multiple") and Debug output (budget breaches) are replaced by [`Words`].
fn yaml_message(e: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter as _;
    let mut inner = e;
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = inner
    {
        inner = error;
    }
    let text = Words.format_message(inner);
    let line: String = text
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if line.is_empty() {
        "invalid YAML".to_string()
    } else {
        line
    }
}

/// Messages for the YAML errors whose library wording is meant for developers; the rest are
/// serde-saphyr's user-facing ones.
struct Words;

impl serde_saphyr::MessageFormatter for Words {
    fn format_message<'a>(&self, err: &'a serde_saphyr::Error) -> std::borrow::Cow<'a, str> {
        use serde_saphyr::Error as E;
        match err {
            E::DuplicateMappingKey { key: Some(k), .. } => format!("duplicate key `{k}`").into(),
            E::DuplicateMappingKey { key: None, .. } => "duplicate key".into(),
            E::MultipleDocuments { .. } => {
                "the file holds several YAML documents; a profile, spec or baseline is one".into()
            }
            E::Budget { .. }
            | E::AliasReplayCounterOverflow { .. }
            | E::AliasReplayLimitExceeded { .. }
            | E::AliasExpansionLimitExceeded { .. }
            | E::AliasReplayStackDepthExceeded { .. } => {
                "the YAML document is too large or too deeply nested (aliases or nesting)".into()
            }
            E::Eof { .. } => "the document ends early (is the file empty?)".into(),
            E::InvalidUtf8Input => "the file is not valid UTF-8 text".into(),
            _ => serde_saphyr::UserMessageFormatter.format_message(err),
        }
    }
}

fn hint_for(message: &str) -> Option<String> {
    if message.contains("unknown field") {
        Some("check the spelling; `authprobe explain` and the README list every field".into())
    } else if message.contains("unknown variant") {
        Some("use one of the values listed above".into())
    } else if message.contains("duplicate") {
        Some("a key may appear only once in a mapping".into())
    } else if message.contains("several YAML documents") {
        Some("remove the `---` line that starts another document".into())
    } else {
        None
    }
}

/// Reads an input file of `kind` through its size limit ([`read_text`]); a file that cannot
/// be read, is too large or is not UTF-8 becomes a diagnostic (located at the first invalid
/// byte for non-UTF-8 text).
pub fn read_file(file: &Path, kind: InputKind) -> Result<String, Diagnostic> {
    read_text(file, kind).map_err(|e| diagnostic_of(&e))
}

/// The diagnostic for an input file that could not be used.
pub fn diagnostic_of(e: &InputError) -> Diagnostic {
    match e.problem {
        InputProblem::NotUtf8 { line, column } => Diagnostic::new(
            &e.path,
            line,
            column,
            "",
            "the file is not valid UTF-8 text",
        )
        .with_hint("save it as UTF-8"),
        _ => Diagnostic::new(&e.path, 0, 0, "", e.message()),
    }
}

/// Lowercases the first character of an OS error message, per house style.
pub fn lower(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Cuts the block that starts at `line` (1-based) and `column` (1-based) out of `src`: the
/// node's own first line from `column` on, then every following line indented deeper than
/// `column - 1` (blank and comment lines included). The first line is padded with spaces so
/// columns stay the same. Used to deserialise the items of a YAML sequence one by one, so
/// every item's problems are reported, not only the first one in the file.
pub fn slice_block(src: &str, line: u64, column: u64) -> Option<String> {
    let indent = column.checked_sub(1)? as usize;
    let mut lines = src.lines().skip(line.checked_sub(1)? as usize);
    let first = lines.next()?;
    let first_tail: String = first.chars().skip(indent).collect();
    let mut out = String::with_capacity(256);
    out.push_str(&" ".repeat(indent));
    out.push_str(&first_tail);
    out.push('\n');
    for l in lines {
        let trimmed = l.trim_start();
        let this_indent = l.len() - trimmed.len();
        if !trimmed.is_empty() && !trimmed.starts_with('#') && this_indent < indent {
            break;
        }
        out.push_str(l);
        out.push('\n');
    }
    Some(out)
}

/// Best-effort position (1-based line, column) of a dotted key path such as
/// `flows.access.denied.status` in YAML text: the deepest key of the path that is found
/// (`[i]` indexes are skipped). For semantic checks that only know the key path of the value
/// they reject.
///
/// Fuzzing (`fuzz/fuzz_targets/profile_load.rs`, `spec_load.rs`) found that such checks gave
/// `line: 0` for values that are in the file (e.g. `session.cookie`, `policy.same_site`), so
/// the diagnostic printed without `file:line:col`. Callers now fill those in from here.
pub fn locate_key_path(src: &str, path: &str) -> Option<(u64, u64)> {
    let lines: Vec<&str> = src.lines().collect();
    let mut found: Option<(usize, usize)> = None; // (line index, char column of the key)
    for seg in path.split('.') {
        let name = seg.split('[').next().unwrap_or("");
        if name.is_empty() {
            break;
        }
        let (start, after_col) = match found {
            Some((l, c)) => (l, Some(c)),
            None => (0, None),
        };
        let mut hit = None;
        for (i, line) in lines.iter().enumerate().skip(start) {
            let chars: Vec<char> = line.chars().collect();
            let indent = chars.iter().take_while(|c| **c == ' ').count();
            let body = chars.get(indent).copied();
            if let Some(parent) = after_col
                && i > start
                && body.is_some_and(|c| c != '#')
                && indent <= parent
            {
                break; // left the parent's block
            }
            let from = match after_col {
                Some(c) if i == start => c + 1,
                _ => 0,
            };
            if let Some(col) = find_key(&chars, from, name) {
                hit = Some((i, col));
                break;
            }
        }
        match hit {
            Some(h) => found = Some(h),
            None => break,
        }
    }
    found.map(|(l, c)| (l as u64 + 1, c as u64 + 1))
}

/// The char column of `name:` used as a mapping key in `line` at or after `from`.
fn find_key(line: &[char], from: usize, name: &str) -> Option<usize> {
    let name: Vec<char> = name.chars().collect();
    let n = name.len();
    (from..line.len())
        .find(|&i| {
            line.get(i..i + n) == Some(&name[..])
                && (line.get(i + n) == Some(&':')
                    || (matches!(line.get(i + n), Some('"' | '\''))
                        && line.get(i + n + 1) == Some(&':')))
                && (i == 0 || matches!(line.get(i - 1), Some(' ' | '{' | ',' | '-' | '"' | '\'')))
        })
        .map(|i| {
            if i > 0 && matches!(line.get(i - 1), Some('"' | '\'')) {
                i - 1
            } else {
                i
            }
        })
}

/// Fills in the position of diagnostics that only know their key path (line 0), from `src`.
pub fn locate_all(src: &str, diags: &mut Diagnostics) {
    for d in &mut diags.0 {
        if d.line == 0
            && !d.path.is_empty()
            && let Some((line, column)) = locate_key_path(src, &d.path)
        {
            d.line = line;
            d.column = column;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml_error(src: &str) -> Diagnostic {
        from_yaml::<std::collections::BTreeMap<String, serde_json::Value>>(
            src,
            Path::new("f.yaml"),
            0,
            "",
        )
        .unwrap_err()
    }

    /// serde-saphyr's developer advice once reached the user ("set DuplicateKeyPolicy in
    /// Options", "use from_str_multiple"); the messages are in words (issue 13).
    #[test]
    fn yaml_errors_are_in_words_with_their_position() {
        let d = yaml_error("a: 1\nb: 2\na: 3\n");
        assert_eq!((d.line, d.column), (3, 1));
        assert_eq!(d.message, "duplicate key `a`");
        let d = yaml_error("a: 1\n---\nb: 2\n");
        assert_eq!(
            d.message,
            "the file holds several YAML documents; a profile, spec or baseline is one"
        );
        assert!(d.hint.unwrap().contains("---"));
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct One {
            a: u8,
        }
        let d = from_yaml::<One>("", Path::new("f.yaml"), 0, "").unwrap_err();
        assert!(
            !d.message.is_empty() && !d.message.contains("One"),
            "{}",
            d.message
        );
        // An alias bomb stops at the library's budget, in words.
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let d = yaml_error(&bomb);
        assert!(!d.message.contains("Budget"), "{}", d.message);
        assert!(!d.message.contains('{'), "{}", d.message);
    }

    #[test]
    fn an_input_file_error_is_a_diagnostic_at_the_file() {
        let d = read_file(Path::new("/dev/zero"), InputKind::Profile).unwrap_err();
        assert_eq!(d.file, Path::new("/dev/zero"));
        assert_eq!(
            d.to_string(),
            "/dev/zero: error: larger than 4 MiB (the limit for a profile)"
        );
    }

    #[test]
    fn locate_key_path_finds_block_and_flow_keys() {
        let src = "name: x\nsession: {cookie: \"a b\"}\nflows:\n  login: []\n  access:\n    denied: {status: []}\npolicy:\n  same_site: []\n";
        assert_eq!(locate_key_path(src, "session.cookie"), Some((2, 11)));
        assert_eq!(
            locate_key_path(src, "flows.access.denied.status"),
            Some((6, 14))
        );
        assert_eq!(locate_key_path(src, "flows.login"), Some((4, 3)));
        assert_eq!(locate_key_path(src, "policy.same_site"), Some((8, 3)));
        assert_eq!(locate_key_path(src, "limits.max_rps"), None);
    }

    #[test]
    fn slice_block_cuts_one_sequence_item_and_keeps_columns() {
        let src = "rules:\n  - id: a\n    title: x\n  - id: b\n    title: y\n";
        let s = slice_block(src, 2, 5).unwrap();
        assert_eq!(s, "    id: a\n    title: x\n");
        let s = slice_block(src, 4, 5).unwrap();
        assert_eq!(s, "    id: b\n    title: y\n");
    }

    #[test]
    fn yaml_error_becomes_located_diagnostic_without_position_prefix() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct S {
            a: u32,
        }
        let d = from_yaml::<S>("a: 1\nb: 2\n", Path::new("x.yaml"), 10, "root").unwrap_err();
        assert_eq!(d.line, 12);
        assert!(d.message.contains("unknown field"), "{}", d.message);
        assert!(!d.message.starts_with("line"), "{}", d.message);
    }
}
