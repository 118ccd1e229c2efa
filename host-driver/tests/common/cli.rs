//! Running the `arsenic` command as a user does, and what a refusal must
//! look like.

use std::process::{Command, Output};

pub fn arsenic(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arsenic")).args(args).output().expect("running arsenic")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A failure: exit status 1, exactly one line on stderr naming the problem.
pub fn assert_refused(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "more than one line: {err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}
