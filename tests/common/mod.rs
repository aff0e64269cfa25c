//! Running the built binary from integration tests: one helper instead of one per test file.
#![allow(dead_code)] // each test crate uses its own part of this module

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// What a run of the binary gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Starts envpolicy with `args`, every stream piped, in an environment that cannot change what
/// it does (no backtraces, no kustomize config string, no colour).
pub fn spawn(args: &[&OsStr], cwd: Option<&Path>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_envpolicy"));
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    cmd.args(args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("KUSTOMIZE_PLUGIN_CONFIG_STRING")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn envpolicy")
}

/// Runs envpolicy with `args` and `stdin` to the end. Stdin is written from a thread so a large
/// input cannot deadlock against a full stdout pipe; the child may stop reading early.
pub fn run(args: &[&OsStr], stdin: &[u8], cwd: Option<&Path>) -> Output {
    let mut child = spawn(args, cwd);
    let mut pipe = child.stdin.take().expect("stdin");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for envpolicy");
    writer.join().expect("stdin writer");
    out
}

/// Runs envpolicy with `stdin`, and `config` as argv[1] (legacy plugin mode) when given.
pub fn envpolicy(stdin: &str, config: Option<&Path>) -> Run {
    let args: Vec<&OsStr> = config.map(Path::as_os_str).into_iter().collect();
    let out = run(&args, stdin.as_bytes(), None);
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
