//! The standalone CLI on the shipped examples: `diff` against golden output with its exit codes,
//! `--format json-patch` patches that really turn the input into the output, `explain`, `run`,
//! and `schema` validating the example configs while rejecting a mistyped field.
//! Regenerate the golden diff with `UPDATE_GOLDEN=1 cargo test --test cli`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;

use envpolicy::yaml::{parse_stream, Node};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn envpolicy(args: &[&str], stdin: Option<&str>) -> Output {
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    common::run(&args, stdin.unwrap_or_default().as_bytes(), Some(&root()))
}

const PROD: &str = "testdata/cli/prod.yaml";
const PACKAGE: &str = "functions/envpolicy/examples/kpt/envpolicy-simple";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn golden(name: &str, actual: &str) {
    let path = root().join("testdata/cli").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden");
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

#[test]
fn diff_shows_the_changes_and_exits_1() {
    let out = envpolicy(&["diff", "-c", PROD, PACKAGE], None);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", text(&out.stderr));
    let diff = text(&out.stdout);
    golden("diff-envpolicy-simple.patch", &diff);
    assert!(diff.contains("--- /dev/null\n+++ b/autoscaling/v2/HorizontalPodAutoscaler/shop/web"));
    assert!(diff.contains("-  replicas: 1\n"));
    assert!(
        !diff.contains("\x1b["),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn diff_exits_0_when_nothing_would_change_and_2_on_error() {
    let run = envpolicy(&["run", "-c", PROD, PACKAGE], None);
    assert_eq!(run.status.code(), Some(0), "stderr: {}", text(&run.stderr));
    let transformed = text(&run.stdout);
    let again = envpolicy(&["diff", "-c", PROD, "-"], Some(&transformed));
    assert_eq!(
        again.status.code(),
        Some(0),
        "stdout: {}",
        text(&again.stdout)
    );
    assert!(again.stdout.is_empty());
    let broken = envpolicy(&["diff", "-c", "testdata/cli/mistyped.yaml", PACKAGE], None);
    assert_eq!(broken.status.code(), Some(2));
    assert!(
        text(&broken.stderr).contains("spec.replica"),
        "{}",
        text(&broken.stderr)
    );
}

fn items_json(stream: &str) -> Vec<Value> {
    parse_stream(stream)
        .expect("parse")
        .iter()
        .map(Node::to_json)
        .collect()
}

#[test]
fn json_patches_turn_the_input_into_the_output() {
    let out = envpolicy(
        &["diff", "-c", PROD, "--format", "json-patch", PACKAGE],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let patches: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        patches.len() >= 4,
        "two workloads changed, two HPAs and two PDBs created: {patches:?}"
    );
    let before = items_json(&text(
        &envpolicy(&["run", "-c", "testdata/cli/noop.yaml", PACKAGE], None).stdout,
    ));
    let after = items_json(&text(
        &envpolicy(&["run", "-c", PROD, PACKAGE], None).stdout,
    ));
    let label = |v: &Value| {
        let ns = v["metadata"]["namespace"]
            .as_str()
            .map(|n| format!("{n}/"))
            .unwrap_or_default();
        format!(
            "{}/{}/{ns}{}",
            v["apiVersion"].as_str().unwrap_or(""),
            v["kind"].as_str().unwrap_or(""),
            v["metadata"]["name"].as_str().unwrap_or("")
        )
    };
    for entry in &patches {
        let name = entry["resource"].as_str().expect("resource");
        let mut doc = before
            .iter()
            .find(|v| label(v) == name)
            .cloned()
            .unwrap_or(Value::Null);
        let patch: json_patch::Patch =
            serde_json::from_value(entry["patch"].clone()).expect("RFC 6902 patch");
        json_patch::patch(&mut doc, &patch).expect("patch applies");
        let expected = after
            .iter()
            .find(|v| label(v) == name)
            .expect("resource in output");
        assert_eq!(&doc, expected, "{name}");
    }
}

#[test]
fn explain_prints_a_row_per_change() {
    let out = envpolicy(&["explain", "-c", PROD, PACKAGE], None);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let table = text(&out.stdout);
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    for column in ["RESOURCE", "FIELD", "CURRENT", "PROPOSED", "WHY"] {
        assert!(header.contains(column), "{header}");
    }
    let row = table
        .lines()
        .find(|l| l.contains("env[name=LOG_LEVEL].value"))
        .expect("log level row");
    assert!(
        row.contains("apps/v1/Deployment/shop/web")
            && row.contains(" debug ")
            && row.contains(" info "),
        "{row}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.contains("[warning]") && l.contains("livenessProbe")),
        "warnings are rows too"
    );
}

#[test]
fn run_prints_what_the_krm_function_returns() {
    let out = envpolicy(&["run", "-c", PROD, PACKAGE], None);
    let items = items_json(&text(&out.stdout));
    let kinds: Vec<&str> = items.iter().filter_map(|v| v["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "Deployment",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "Service",
            "Deployment",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "ConfigMap"
        ]
    );
}

fn schema_validator() -> jsonschema::Validator {
    let out = envpolicy(&["schema"], None);
    assert_eq!(out.status.code(), Some(0));
    let schema: Value = serde_json::from_slice(&out.stdout).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

/// Every EnvironmentPolicy in the repository's examples and tests.
fn example_configs() -> Vec<(PathBuf, Value)> {
    let mut found = Vec::new();
    let mut dirs = vec![root().join("functions"), root().join("testdata/cli")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml")
                && path.file_name() != Some(std::ffi::OsStr::new("mistyped.yaml"))
            {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for doc in parse_stream(&text).unwrap_or_default() {
                    if doc.str_at(&["kind"]) == Some("EnvironmentPolicy") {
                        found.push((path.clone(), doc.to_json()));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn schema_accepts_the_examples_and_rejects_a_mistyped_field() {
    let validator = schema_validator();
    let configs = example_configs();
    assert!(
        configs.len() >= 5,
        "expected the example policies, found {}",
        configs.len()
    );
    for (path, config) in &configs {
        let errors: Vec<String> = validator
            .iter_errors(config)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
    let text =
        std::fs::read_to_string(root().join("testdata/cli/mistyped.yaml")).expect("mistyped.yaml");
    let mistyped = parse_stream(&text).expect("parse")[0].to_json();
    let errors: Vec<String> = validator
        .iter_errors(&mistyped)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.iter().any(|e| e.contains("replica")), "{errors:?}");
    let presets = envpolicy(&["presets"], None);
    for preset in items_json(&text_of(&presets)) {
        assert!(
            validator.is_valid(&preset),
            "printed presets validate: {preset}"
        );
    }
}

fn text_of(out: &Output) -> String {
    text(&out.stdout)
}

#[test]
fn completions_and_help() {
    let bash = envpolicy(&["completions", "bash"], None);
    assert_eq!(bash.status.code(), Some(0));
    assert!(text(&bash.stdout).contains("envpolicy"));
    let help = envpolicy(&["--help"], None);
    assert_eq!(help.status.code(), Some(0), "kpt fn doc runs --help");
    for sub in ["run", "diff", "explain", "schema", "presets", "completions"] {
        assert!(text(&help.stdout).contains(sub), "{sub} in --help");
    }
    let _ = Path::new(PACKAGE);
}

/// envpolicy turns transparent huge pages off for itself (they made runs on VMs slow and erratic;
/// bench/README.md): the kernel shows it in /proc/<pid>/status while the function waits for stdin.
#[cfg(target_os = "linux")]
#[test]
fn transparent_huge_pages_are_off_for_the_function() {
    let mut child = common::spawn(&[], None);
    let status = format!("/proc/{}/status", child.id());
    let mut seen = None;
    for _ in 0..200 {
        let text = std::fs::read_to_string(&status).unwrap_or_default();
        seen = text
            .lines()
            .find_map(|l| l.strip_prefix("THP_enabled:"))
            .map(|v| v.trim().to_owned());
        if seen.as_deref() == Some("0") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    drop(child.stdin.take());
    let _ = child.wait();
    assert_eq!(
        seen.as_deref(),
        Some("0"),
        "THP_enabled in {status} (kernels before 5.0 do not show it)"
    );
}
