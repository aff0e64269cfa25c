//! Running the built binary from integration tests: one helper instead of one per test file.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// What a run of the binary gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs envpolicy with `stdin`, and `config` as argv[1] (legacy plugin mode) when given. Stdin
/// is written from a thread so a large input cannot deadlock against a full stdout pipe.
pub fn envpolicy(stdin: &str, config: Option<&Path>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_envpolicy"));
    if let Some(c) = config {
        cmd.arg(c);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn envpolicy");
    let mut pipe = child.stdin.take().expect("stdin");
    let input = stdin.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().expect("wait for envpolicy");
    writer.join().expect("stdin writer");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
