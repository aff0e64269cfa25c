//! Golden cases: every folder under `testdata/` is one run of the binary.
//!
//! - `input.yaml`: stdin (a ResourceList, or a plain stream for plugin mode)
//! - `config.yaml`: when present, passed as argv[1] (kustomize's legacy exec plugin)
//! - `expected.yaml`: the whole stdout
//! - `exit-code`: expected exit code (default 0); `stderr.txt`: lines stderr must contain
//!
//! Every case with exit code 0 runs twice: the second run, on the first one's output, must give
//! the same items (idempotence). Regenerate after a deliberate change:
//! `UPDATE_GOLDEN=1 cargo test --test golden` (or `make golden`), then review `git diff testdata`.

use std::fs;
use std::path::{Path, PathBuf};

mod common;
use common::envpolicy as run;

/// The output without its results: what a second run must reproduce exactly.
fn without_results(output: &str) -> String {
    match output.find("\nresults:\n") {
        Some(at) => output[..=at].to_owned(),
        None => output.to_owned(),
    }
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut cases: Vec<PathBuf> = fs::read_dir(&root)
        .expect("testdata/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("input.yaml").is_file())
        .collect();
    cases.sort();
    cases
}

#[test]
fn golden_cases() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let cases = cases();
    assert!(
        cases.len() >= 10,
        "expected the golden cases under testdata/, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let input = fs::read_to_string(case.join("input.yaml")).expect("input.yaml");
        let config = case.join("config.yaml");
        let config = config.is_file().then_some(config.as_path());
        let first = run(&input, config);
        let expected_code: i32 = fs::read_to_string(case.join("exit-code"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        let expected_path = case.join("expected.yaml");
        if update {
            fs::write(&expected_path, &first.stdout).expect("write expected.yaml");
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_default();
        if first.code != expected_code {
            failures.push(format!(
                "{name}: exit code {} (expected {expected_code}); stderr: {}",
                first.code, first.stderr
            ));
            continue;
        }
        if first.stdout != expected {
            failures.push(format!(
                "{name}: stdout differs from expected.yaml:\n--- got\n{}\n--- expected\n{expected}",
                first.stdout
            ));
            continue;
        }
        if first.stderr.contains("RUST_BACKTRACE") || first.stderr.contains("panicked") {
            failures.push(format!("{name}: panicked: {}", first.stderr));
        }
        if let Ok(wanted) = fs::read_to_string(case.join("stderr.txt")) {
            for line in wanted.lines().filter(|l| !l.trim().is_empty()) {
                if !first.stderr.contains(line) {
                    failures.push(format!(
                        "{name}: stderr lacks {line:?}; got: {}",
                        first.stderr
                    ));
                }
            }
        }
        if expected_code == 0 {
            let second = run(&first.stdout, config);
            if second.code != 0 || without_results(&second.stdout) != without_results(&first.stdout)
            {
                failures.push(format!(
                    "{name}: not idempotent; second run (exit {}):\n{}\nstderr: {}",
                    second.code, second.stdout, second.stderr
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
