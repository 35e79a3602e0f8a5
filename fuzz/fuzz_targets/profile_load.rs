//! `profile_load`: parsing a profile never panics, and every diagnostic carries a location
//! (line > 0), unless it is about the file as a whole (empty key path).
#![no_main]

use std::path::Path;

use authprobe::profile::parse_profile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > 64 * 1024 {
        return;
    }
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("fuzz.yaml");
    let Err(diags) = parse_profile(src, file) else {
        return;
    };
    // YAML line breaks are LF, CRLF and a lone CR (YAML 1.2 §5.4); positions count them all.
    let lines = src
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .lines()
        .count()
        .max(1) as u64;
    for d in &diags.0 {
        assert_eq!(d.file, file);
        assert!(!d.message.is_empty(), "{d:?}");
        assert!(
            d.line > 0 || d.path.is_empty(),
            "diagnostic without a location: {d:?}"
        );
        assert!(
            d.line <= lines + 1,
            "line {} beyond the {lines}-line input: {d:?}",
            d.line
        );
        let _ = d.to_string();
    }
});
