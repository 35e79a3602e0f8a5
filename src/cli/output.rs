//! Where results go, checked before the run and written safely after it.
//!
//! Before the first request, every output path a command was given (`--report FORMAT=PATH`,
//! `fuzz --out`) is checked: its directory exists and takes a new file, it is not a
//! directory or a read-only file, it is not given twice, and it is not one of the run's
//! inputs ([`Inputs`]: the profile, the spec files under `--specs`, the secret and key files
//! the profile names, the CA file, the baseline) — compared by file identity (device and
//! inode), so a hard link, a symbolic link or a `./x/../profile.yaml` spelling of an input is
//! caught. A refused path is bad input (exit 2) and nothing is written.
//!
//! Report files are written atomically ([`write_atomic`]): a temporary file in the same
//! directory, flushed to disk, then renamed over the destination, so a reader never sees half a
//! report and an interrupted write leaves the old file as it was. A replaced file keeps its
//! permissions; a new one gets the usual ones (0666 less the umask). Nothing here runs a
//! command or knows a report format.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use authprobe::diag;

/// Most files taken from one input directory (`--specs`), so a huge tree cannot stall the
/// check; files past it are not compared.
const MAX_TREE_FILES: usize = 20_000;

/// Why an output path is refused; the message names the path and says why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// The path is one of the run's inputs.
    #[error("{flag} {}: refusing to overwrite {what} ({})", path.display(), input.display())]
    IsInput {
        /// The flag that named the path, e.g. `--report`.
        flag: String,
        /// The path as given.
        path: PathBuf,
        /// Which input, in words, e.g. `the profile`.
        what: String,
        /// The input as it was named.
        input: PathBuf,
    },
    /// The path's directory does not exist or is not a directory.
    #[error("{flag} {}: the directory {} does not exist", path.display(), dir.display())]
    NoDirectory {
        /// The flag that named the path.
        flag: String,
        /// The path as given.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
    },
    /// A new file cannot be created in the path's directory.
    #[error("{flag} {}: cannot write in {}: {reason}", path.display(), dir.display())]
    NotWritable {
        /// The flag that named the path.
        flag: String,
        /// The path as given.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
        /// The operating system's reason, lowercased.
        reason: String,
    },
    /// The path names a directory (a report) or something that is not one (`--out`).
    #[error("{flag} {}: {what}", path.display())]
    WrongKind {
        /// The flag that named the path.
        flag: String,
        /// The path as given.
        path: PathBuf,
        /// What is wrong, e.g. `is a directory`.
        what: &'static str,
    },
    /// Two outputs name the same file.
    #[error("{flag} {}: the same file is named twice ({})", path.display(), other.display())]
    Twice {
        /// The flag that named the path.
        flag: String,
        /// The path as given.
        path: PathBuf,
        /// The other spelling of it.
        other: PathBuf,
    },
}

/// The identity of a file: device and inode on Unix (hard links and every spelling of a path
/// share it), the canonical path elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileId {
    #[cfg(unix)]
    dev_ino: (u64, u64),
    #[cfg(not(unix))]
    path: PathBuf,
}

impl FileId {
    /// The identity of the file `path` names (following symbolic links), if it exists.
    fn of(path: &Path) -> Option<FileId> {
        let meta = fs::metadata(path).ok()?;
        Some(FileId::from_meta(path, &meta))
    }

    #[cfg(unix)]
    fn from_meta(_path: &Path, meta: &fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev_ino: (meta.dev(), meta.ino()),
        }
    }

    #[cfg(not(unix))]
    fn from_meta(path: &Path, _meta: &fs::Metadata) -> FileId {
        FileId {
            path: fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        }
    }
}

/// The files a run reads, each with what it is in words. Outputs must be none of them.
#[derive(Debug, Default)]
pub struct Inputs {
    files: Vec<(FileId, String, PathBuf)>,
}

impl Inputs {
    /// No inputs yet.
    pub fn new() -> Inputs {
        Inputs::default()
    }

    /// Adds the file `path` as `what` (e.g. `the profile`); a file that does not exist is
    /// nobody's input and is left out.
    pub fn add(&mut self, path: &Path, what: impl Into<String>) {
        if let Some(id) = FileId::of(path) {
            self.files.push((id, what.into(), path.to_path_buf()));
        }
    }

    /// Adds every file under `dir` (recursively, without following links to directories)
    /// as `what`; a single file is added as such.
    pub fn add_tree(&mut self, dir: &Path, what: &str) {
        let mut stack = vec![dir.to_path_buf()];
        let mut seen = 0usize;
        while let Some(d) = stack.pop() {
            if !fs::symlink_metadata(&d).is_ok_and(|m| m.is_dir()) {
                self.add(&d, what);
                seen += 1;
                continue;
            }
            let Ok(entries) = fs::read_dir(&d) else {
                continue;
            };
            for entry in entries.flatten() {
                if seen >= MAX_TREE_FILES {
                    return;
                }
                stack.push(entry.path());
            }
        }
    }

    /// The input `path` is, if it is one: what it is and how it was named.
    fn find(&self, path: &Path) -> Option<(&str, &Path)> {
        let id = FileId::of(path)?;
        self.files
            .iter()
            .find(|(i, _, _)| *i == id)
            .map(|(_, what, p)| (what.as_str(), p.as_path()))
    }
}

/// Checks every report path (`--report`) before the run; see the module docs.
pub fn check_reports<'a>(
    paths: impl IntoIterator<Item = &'a Path>,
    inputs: &Inputs,
) -> Result<(), OutputError> {
    let mut checked: Vec<(PathBuf, &Path)> = Vec::new();
    for path in paths {
        let flag = "--report";
        check_file(flag, path, inputs)?;
        let key = absolute(path);
        if let Some((_, other)) = checked.iter().find(|(k, _)| *k == key) {
            return Err(OutputError::Twice {
                flag: flag.to_owned(),
                path: path.to_path_buf(),
                other: other.to_path_buf(),
            });
        }
        checked.push((key, path));
    }
    Ok(())
}

/// Checks one output file path: not an input, not a directory or read-only file, in a
/// directory that exists and takes a new file.
fn check_file(flag: &str, path: &Path, inputs: &Inputs) -> Result<(), OutputError> {
    if let Some((what, input)) = inputs.find(path) {
        return Err(OutputError::IsInput {
            flag: flag.to_owned(),
            path: path.to_path_buf(),
            what: what.to_owned(),
            input: input.to_path_buf(),
        });
    }
    let wrong = |what| OutputError::WrongKind {
        flag: flag.to_owned(),
        path: path.to_path_buf(),
        what,
    };
    if let Ok(meta) = fs::metadata(path) {
        if meta.is_dir() {
            return Err(wrong("is a directory; name a file"));
        }
        if !meta.is_file() {
            // A device or a pipe (`/dev/stdout`, `/dev/null`): written in place.
            return Ok(());
        }
        if meta.permissions().readonly() {
            return Err(wrong("is a read-only file"));
        }
    }
    let dir = directory_of(&destination(path));
    probe_directory(flag, path, &dir)
}

/// Checks `fuzz --out`: a directory (created when missing) that takes new files.
pub fn check_out_dir(dir: &Path) -> Result<(), OutputError> {
    let flag = "--out";
    if let Err(e) = fs::create_dir_all(dir) {
        return Err(OutputError::NotWritable {
            flag: flag.to_owned(),
            path: dir.to_path_buf(),
            dir: dir.to_path_buf(),
            reason: diag::lower(&e.to_string()),
        });
    }
    if !fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Err(OutputError::WrongKind {
            flag: flag.to_owned(),
            path: dir.to_path_buf(),
            what: "is not a directory",
        });
    }
    probe_directory(flag, dir, dir)
}

/// Shows that `dir` exists and takes a new file, by creating and removing an empty one.
fn probe_directory(flag: &str, path: &Path, dir: &Path) -> Result<(), OutputError> {
    if !fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Err(OutputError::NoDirectory {
            flag: flag.to_owned(),
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
        });
    }
    let probe = temp_path(dir, ".authprobe-probe");
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(OutputError::NotWritable {
            flag: flag.to_owned(),
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
            reason: diag::lower(&e.to_string()),
        }),
    }
}

/// Writes `bytes` to `path` atomically: into a temporary file in the same directory, flushed
/// to disk, then renamed over `path` (a symbolic link is followed: its target is replaced).
/// A replaced file keeps its permissions. A path that names a device or a pipe (e.g.
/// `/dev/stdout`) is written in place, since it cannot be replaced.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dest = destination(path);
    let existing = fs::metadata(&dest).ok();
    if existing.as_ref().is_some_and(|m| !m.is_file()) {
        let mut f = fs::OpenOptions::new().write(true).open(&dest)?;
        return f.write_all(bytes).and_then(|()| f.flush());
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = temp_path(&directory_of(&dest), &format!(".{name}"));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        if let Some(meta) = &existing {
            fs::set_permissions(&tmp, meta.permissions())?;
        }
        fs::rename(&tmp, &dest)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The file a write to `path` replaces: the target of a symbolic link, else `path` itself.
fn destination(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

/// The directory a file path is in (`.` for a bare name).
fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `path` made absolute with its directory canonicalized (for comparing spellings of a file
/// that may not exist yet).
fn absolute(path: &Path) -> PathBuf {
    let dest = destination(path);
    let dir = fs::canonicalize(directory_of(&dest)).unwrap_or_else(|_| directory_of(&dest));
    match dest.file_name() {
        Some(name) => dir.join(name),
        None => dir,
    }
}

/// A fresh name in `dir` starting with `prefix`, unique to this process and call.
fn temp_path(dir: &Path, prefix: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("{prefix}.{}-{n}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temporary directory.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("authprobe-output-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn an_input_is_refused_by_identity_in_any_spelling() {
        let dir = scratch("identity");
        let profile = dir.join("profile.yaml");
        fs::write(&profile, "name: x\n").unwrap();
        fs::create_dir_all(dir.join("sub")).unwrap();
        let link = dir.join("hard-link.yaml");
        fs::hard_link(&profile, &link).unwrap();
        let mut inputs = Inputs::new();
        inputs.add(&profile, "the profile");
        for spelling in [
            profile.clone(),
            dir.join("sub/../profile.yaml"),
            dir.join("./profile.yaml"),
            link,
        ] {
            let e = check_reports([spelling.as_path()], &inputs).unwrap_err();
            assert!(matches!(e, OutputError::IsInput { .. }), "{e}");
            assert!(e.to_string().contains("the profile"), "{e}");
        }
        assert_eq!(fs::read_to_string(&profile).unwrap(), "name: x\n");
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn every_file_under_a_tree_is_an_input() {
        let dir = scratch("tree");
        fs::create_dir_all(dir.join("a/b")).unwrap();
        fs::write(dir.join("a/b/deep.yaml"), "rules: []\n").unwrap();
        let mut inputs = Inputs::new();
        inputs.add_tree(&dir, "a spec file under --specs");
        let e = check_reports([dir.join("a/b/deep.yaml").as_path()], &inputs).unwrap_err();
        assert!(e.to_string().contains("a spec file under --specs"), "{e}");
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_missing_directory_a_directory_and_a_path_named_twice_are_refused() {
        let dir = scratch("kinds");
        let inputs = Inputs::new();
        let missing = dir.join("nope/report.json");
        let e = check_reports([missing.as_path()], &inputs).unwrap_err();
        assert!(matches!(e, OutputError::NoDirectory { .. }), "{e}");
        let e = check_reports([dir.as_path()], &inputs).unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        let a = dir.join("r.json");
        let b = dir.join("./r.json");
        let e = check_reports([a.as_path(), b.as_path()], &inputs).unwrap_err();
        assert!(matches!(e, OutputError::Twice { .. }), "{e}");
        check_reports([a.as_path(), dir.join("s.json").as_path()], &inputs).unwrap();
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            0,
            "the probe left nothing"
        );
        let _ = fs::remove_dir_all(dir);
    }

    #[cfg(unix)]
    #[test]
    fn an_atomic_write_replaces_the_file_and_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("atomic");
        let path = dir.join("report.json");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let fresh = dir.join("fresh.json");
        write_atomic(&fresh, b"x").unwrap();
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            2,
            "no temporary file left"
        );
        let _ = fs::remove_dir_all(dir);
    }

    #[cfg(unix)]
    #[test]
    fn a_write_through_a_link_replaces_the_target_not_the_link() {
        let dir = scratch("link");
        let target = dir.join("target.json");
        fs::write(&target, "old").unwrap();
        let link = dir.join("link.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn out_dir_is_created_and_must_be_a_directory() {
        let dir = scratch("out");
        check_out_dir(&dir.join("findings")).unwrap();
        assert!(dir.join("findings").is_dir());
        fs::write(dir.join("file"), "x").unwrap();
        let e = check_out_dir(&dir.join("file")).unwrap_err();
        assert!(e.to_string().contains("--out"), "{e}");
        let _ = fs::remove_dir_all(dir);
    }
}
