//! The documentation, executed: every command in a ```` ```sh ```` block of the READMEs below runs
//! on a temporary copy of the repository and must exit 0, or the code
//! its trailing `# exits N` comment names. So a README never shows a command that does not work.
//!
//! - Each document runs in its own copy of the repository's files (`git ls-files`, untracked ones
//!   included), from the directory its commands are written for ([`DOCUMENTS`]). Its blocks run
//!   in order on that copy, as a reader would run them: a block sees what earlier ones changed.
//!   The lines of one block share one shell, so `cd` and variables carry over.
//! - The debug `envpolicy` is first on `PATH`, and a copy is installed as the kustomize legacy plugin
//!   in a temporary `KUSTOMIZE_PLUGIN_HOME`.
//! - There is no Docker engine in CI, so a stand-in `docker` on `PATH` runs that same binary
//!   in place of the image. It accepts only the image `metadata.yaml` names. It tests that the
//!   documented `--image` and `container:` commands reach the function the way kpt and kubectl
//!   call it. It does not test the image: `make image-check` checks its build.
//! - `make ...` lines are CI's own entry points (`make test` runs everything): they are not run
//!   here, but each must be a real target (`make -n` succeeds in the repository).
//! - Templates with placeholders (`PACKAGE`, `IMAGE`) belong in ```` ```text ```` blocks. An
//!   all-caps word in a `sh` block fails, and so does a `sh` block with no command in it.
//!
//! Besides the commands: every functionConfig in a ```` ```yaml ```` block parses. The function
//! README documents every field of the schema, with the defaults the code has. `metadata.yaml`
//! follows the kpt catalog's format and agrees with `Cargo.toml`, the Makefile and the READMEs.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use envpolicy::config::{
    presets, Policy, DEFAULT_CONFIG_MAP_KEYS, DEFAULT_CPU_UTILIZATION, DEFAULT_ENV_VARS,
    DEFAULT_KINDS, DEFAULT_KUBERNETES_VERSION, DEFAULT_MAX_SKEW, DEFAULT_MIN_REPLICAS,
    DEFAULT_ROLLOUT_PERCENT, DEFAULT_SPREAD_TOPOLOGY_KEY, DEFAULT_TOPOLOGY_KEY, DEFAULT_WEIGHT,
};
use envpolicy::yaml::parse_stream;
use serde_json::Value;
use tempfile::TempDir;

/// Documents whose `sh` blocks run, and the directory (relative to the repository root) their
/// commands are written for.
const DOCUMENTS: &[(&str, &str)] = &[
    ("README.md", "."),
    ("functions/envpolicy/README.md", "functions/envpolicy"),
    (
        "functions/envpolicy/examples/README.md",
        "functions/envpolicy/examples",
    ),
];

/// Commands known to fail, in documents whose owners have not fixed them yet: (document, line,
/// what is wrong). Each must still fail, and fixing one fails this test until its entry goes.
/// The block stops at it, as at any failure.
const KNOWN_BROKEN: &[(&str, usize, &str)] = &[];

const FUNCTION_README: &str = "functions/envpolicy/README.md";
const METADATA: &str = "functions/envpolicy/metadata.yaml";
/// A whole block gets this long; kpt and kubectl take about a second per command.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(300);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Markdown: fenced blocks and the commands in them.
// ---------------------------------------------------------------------------------------------

struct Block {
    lang: String,
    /// 1-based line of the opening fence.
    line: usize,
    /// (1-based line, text) of each line inside the fences.
    lines: Vec<(usize, String)>,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut open: Option<Block> = None;
    for (index, text) in markdown.lines().enumerate() {
        let line = index + 1;
        let fence = text.trim_start().starts_with("```");
        match open.take() {
            None if fence => {
                let lang = text.trim_start().trim_start_matches('`').trim().to_string();
                open = Some(Block {
                    lang,
                    line,
                    lines: Vec::new(),
                });
            }
            None => {}
            Some(block) if fence => found.push(block),
            Some(mut block) => {
                block.lines.push((line, text.to_string()));
                open = Some(block);
            }
        }
    }
    assert!(open.is_none(), "a code fence is never closed");
    found
}

/// One command of a `sh` block: continuation lines and heredoc bodies included.
#[derive(Debug)]
struct Cmd {
    line: usize,
    text: String,
    expected: i32,
}

impl Cmd {
    fn is_make(&self) -> bool {
        self.text == "make" || self.text.starts_with("make ")
    }
}

/// The command lines of a `sh` block. Comment-only and blank lines are skipped.
fn commands(block: &Block) -> Vec<Cmd> {
    let mut found = Vec::new();
    let mut lines = block.lines.iter();
    while let Some((line, first)) = lines.next() {
        let trimmed = first.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut text = first.trim_end().to_string();
        while text.ends_with('\\') {
            let Some((_, next)) = lines.next() else { break };
            text.push('\n');
            text.push_str(next.trim_end());
        }
        let expected = expected_exit(&text);
        if let Some(terminator) = heredoc_terminator(&text) {
            for (_, body) in lines.by_ref() {
                text.push('\n');
                text.push_str(body);
                if body.trim() == terminator {
                    break;
                }
            }
        }
        found.push(Cmd {
            line: *line,
            text,
            expected,
        });
    }
    found
}

/// `# exits N` at the end of the command's last line; 0 without it.
fn expected_exit(text: &str) -> i32 {
    let last = text.lines().last().unwrap_or_default();
    last.rfind('#')
        .and_then(|at| last[at + 1..].trim().strip_prefix("exits "))
        .and_then(|code| code.trim().parse().ok())
        .unwrap_or(0)
}

/// The word that ends a heredoc started on this line (`<<'EOF'`, `<<EOF`, `<<-EOF`).
fn heredoc_terminator(text: &str) -> Option<String> {
    let rest = &text[text.find("<<")? + 2..];
    let rest = rest.strip_prefix('-').unwrap_or(rest).trim_start();
    let word: String = rest
        .trim_start_matches(['\'', '"'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!word.is_empty()).then_some(word)
}

/// An all-caps word standing alone (`PACKAGE`, `IMAGE`): a template, not a command. Variables
/// (`$HOME`, `${X}`), assignments (`KUSTOMIZE_PLUGIN_HOME=...`), comments and heredoc bodies are
/// fine.
fn placeholder(cmd: &Cmd) -> Option<String> {
    let first_line = cmd.text.lines().next().unwrap_or_default();
    let code = match first_line.find(" #") {
        Some(at) => &first_line[..at],
        None => first_line,
    };
    code.split_whitespace()
        .map(|word| word.trim_matches(|c: char| "\"'(),;".contains(c)))
        .find(|word| {
            word.len() >= 3
                && word.chars().any(|c| c.is_ascii_uppercase())
                && word
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_string)
}

// ---------------------------------------------------------------------------------------------
// The sandbox: a copy of functions/, envpolicy on PATH, as the kustomize plugin, and a docker
// stand-in.
// ---------------------------------------------------------------------------------------------

struct Sandbox {
    root: TempDir,
}

impl Sandbox {
    /// `<tmp>/repo`: the repository's files; `<tmp>/tools`: `bin` (envpolicy, docker),
    /// `plugins` (the kustomize plugin home) and `home` (HOME).
    fn new() -> Sandbox {
        let root = tempfile::tempdir().expect("temp dir");
        copy_repository(&root.path().join("repo"));
        let tools = root.path().join("tools");
        let bin = tools.join("bin");
        fs::create_dir_all(&bin).expect("bin dir");
        let envpolicy = Path::new(env!("CARGO_BIN_EXE_envpolicy"));
        std::os::unix::fs::symlink(envpolicy, bin.join("envpolicy")).expect("symlink envpolicy");
        let plugin = tools.join("plugins/envpolicy.dev/v1alpha1/environmentpolicy");
        fs::create_dir_all(&plugin).expect("plugin dir");
        // A hard link where the file system allows one: a debug binary is ~100 MB and a dozen
        // sandboxes run at once; a copy otherwise (the file itself, as `make install` puts it).
        let installed = plugin.join("EnvironmentPolicy");
        fs::hard_link(envpolicy, &installed)
            .or_else(|_| fs::copy(envpolicy, &installed).map(drop))
            .expect("install plugin");
        let docker = bin.join("docker");
        fs::write(&docker, docker_stand_in(&metadata_image(), envpolicy)).expect("docker");
        make_executable(&docker);
        fs::create_dir_all(tools.join("home")).expect("home");
        Sandbox { root }
    }

    fn repo(&self) -> PathBuf {
        self.root.path().join("repo")
    }

    fn tools(&self) -> PathBuf {
        self.root.path().join("tools")
    }

    /// Runs one `sh` block in `dir` (one bash, one command after the other) and returns the
    /// first command whose exit code is not the expected one, with its output.
    fn run_block(&self, dir: &Path, cmds: &[&Cmd]) -> Result<(), BlockFailure> {
        let logs = tempfile::tempdir().expect("log dir");
        let mut script = String::from("set -o pipefail\n");
        for (i, cmd) in cmds.iter().enumerate() {
            let log = logs.path().join(i.to_string());
            let log = log.display();
            script.push_str(&format!(
                "{{ {}\n}} >'{log}.out' 2>'{log}.err' </dev/null\n\
                 status=$?; echo $status >'{log}.status'\n\
                 [ $status -eq {} ] || exit 0\n",
                cmd.text, cmd.expected
            ));
        }
        let path = std::env::join_paths(std::iter::once(self.tools().join("bin")).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .expect("PATH");
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(dir)
            .env("PATH", path)
            .env("HOME", self.tools().join("home"))
            .env("KUSTOMIZE_PLUGIN_HOME", self.tools().join("plugins"))
            .env("NO_COLOR", "1")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("MAKEFLAGS")
            .env_remove("MAKELEVEL")
            .env_remove("MFLAGS")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn bash");
        let started = Instant::now();
        while child.try_wait().expect("wait for bash").is_none() {
            if started.elapsed() > BLOCK_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(BlockFailure {
                    line: None,
                    message: format!("the block did not finish within {BLOCK_TIMEOUT:?}"),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        for (i, cmd) in cmds.iter().enumerate() {
            let log = logs.path().join(i.to_string());
            let output = |ext: &str| {
                let text = fs::read_to_string(log.with_extension(ext)).unwrap_or_default();
                let text = text.trim_end();
                if text.len() > 6000 {
                    let cut = (0..=6000)
                        .rev()
                        .find(|at| text.is_char_boundary(*at))
                        .unwrap_or(0);
                    format!("{}\n... ({} more bytes)", &text[..cut], text.len() - cut)
                } else {
                    text.to_string()
                }
            };
            let status = fs::read_to_string(log.with_extension("status")).ok();
            let status = status.as_deref().map(str::trim);
            if status == Some(&cmd.expected.to_string()) {
                eprintln!("  ok (exit {}): {}", cmd.expected, first_line(&cmd.text));
                continue;
            }
            let got = match status {
                Some(code) => format!("exited {code}"),
                None => "ended the shell (exit or a signal)".to_string(),
            };
            return Err(BlockFailure {
                line: Some(cmd.line),
                message: format!(
                    "line {}: `{}` {got}, expected {}\n--- stdout\n{}\n--- stderr\n{}",
                    cmd.line,
                    cmd.text,
                    cmd.expected,
                    output("out"),
                    output("err")
                ),
            });
        }
        Ok(())
    }
}

/// The command that failed (none for a timeout) and what to show.
struct BlockFailure {
    line: Option<usize>,
    message: String,
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Copies the files git knows or would add (tracked and untracked, not ignored: no `target/`).
fn copy_repository(to: &Path) {
    let out = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(repo())
        .output()
        .expect("git is required: `git ls-files` lists the files to copy");
    assert!(out.status.success(), "git ls-files: {}", out.status);
    for file in out.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let file = std::str::from_utf8(file).expect("UTF-8 path");
        let source = repo().join(file);
        if !source.is_file() {
            continue; // deleted in the work tree
        }
        let target = to.join(file);
        fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        fs::copy(&source, &target).unwrap_or_else(|e| panic!("copy {file}: {e}"));
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A `docker` that answers what kpt and kustomize ask (`docker version`, `docker run ... IMAGE
/// [args]`) by running envpolicy, the way the image's ENTRYPOINT would: a clean environment
/// plus the `-e` variables.
fn docker_stand_in(image: &str, envpolicy: &Path) -> String {
    format!(
        r#"#!/usr/bin/env bash
# Stand-in for the docker CLI (tests/docs.rs): runs the envpolicy under test as {image}.
set -euo pipefail
case "${{1:-}}" in
  version) echo 28.2.2; exit 0 ;;
  run) shift ;;
  *) echo "docker stand-in: unsupported command: $*" >&2; exit 125 ;;
esac
vars=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rm | -i | --interactive) shift ;;
    -a | --attach | --network | --user | -u | --security-opt | --pull) shift 2 ;;
    --network=* | --user=* | --security-opt=* | --pull=*) shift ;;
    -e | --env) vars+=("$2"); shift 2 ;;
    -*) echo "docker stand-in: unsupported option $1" >&2; exit 125 ;;
    *) break ;;
  esac
done
if [ "${{1:-}}" != '{image}' ]; then
  echo "docker stand-in: Unable to find image '${{1:-}}' (only {image} is known)" >&2
  exit 125
fi
shift
exec env -i "${{vars[@]}}" '{bin}' "$@"
"#,
        bin = envpolicy.display()
    )
}

// ---------------------------------------------------------------------------------------------
// Running the documents.
// ---------------------------------------------------------------------------------------------

fn run_document(document: &str, dir: &str) {
    let markdown = read(document);
    let sh: Vec<Block> = blocks(&markdown)
        .into_iter()
        .filter(|block| block.lang == "sh")
        .collect();
    assert!(!sh.is_empty(), "{document} has no ```sh block");
    let sandbox = Sandbox::new();
    let workdir = sandbox.repo().join(dir);
    let mut failures = Vec::new();
    let mut ran = 0;
    let mut known_failed = Vec::new();
    let mut make_lines = Vec::new();
    for block in &sh {
        let cmds = commands(block);
        if cmds.is_empty() {
            failures.push(format!(
                "{document}:{}: a ```sh block with no command in it",
                block.line
            ));
            continue;
        }
        if let Some((cmd, word)) = cmds
            .iter()
            .find_map(|cmd| placeholder(cmd).map(|word| (cmd, word)))
        {
            failures.push(format!(
                "{document}:{}: `{word}` in `{}` looks like a placeholder; put templates in a ```text block",
                cmd.line,
                first_line(&cmd.text)
            ));
            continue;
        }
        let (make, runnable): (Vec<&Cmd>, Vec<&Cmd>) = cmds.iter().partition(|cmd| cmd.is_make());
        make_lines.extend(make.iter().map(|cmd| (cmd.line, cmd.text.clone())));
        if runnable.is_empty() {
            continue;
        }
        eprintln!("{document}:{} (in {dir})", block.line);
        match sandbox.run_block(&workdir, &runnable) {
            Ok(()) => ran += runnable.len(),
            Err(failure) => {
                let known = KNOWN_BROKEN
                    .iter()
                    .find(|(doc, line, _)| *doc == document && Some(*line) == failure.line);
                match known {
                    Some((_, line, why)) => {
                        eprintln!("  known broken, line {line}: {why}");
                        known_failed.push(*line);
                    }
                    None => failures.push(format!("{document}: {}", failure.message)),
                }
            }
        }
    }
    for (_, line, why) in KNOWN_BROKEN
        .iter()
        .filter(|(doc, line, _)| *doc == document && !known_failed.contains(line))
    {
        failures.push(format!(
            "{document}:{line} is listed in KNOWN_BROKEN ({why}) but did not fail: \
             remove its entry"
        ));
    }
    for (line, text) in &make_lines {
        if let Err(failure) = check_make(text) {
            failures.push(format!("{document}:{line}: {failure}"));
        } else {
            eprintln!("  make target exists: {text}");
        }
    }
    eprintln!(
        "{document}: {ran} command(s) passed in whole blocks, {} make line(s) checked",
        make_lines.len()
    );
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

/// `make -n ARGS` in the repository: the target exists and its recipe expands.
fn check_make(text: &str) -> Result<(), String> {
    let code = match text.find(" #") {
        Some(at) => &text[..at],
        None => text,
    };
    let args: Vec<&str> = code.split_whitespace().skip(1).collect();
    let out = Command::new("make")
        .arg("-n")
        .args(&args)
        .current_dir(repo())
        .env_remove("MAKEFLAGS")
        .env_remove("MAKELEVEL")
        .env_remove("MFLAGS")
        .output()
        .map_err(|e| format!("cannot run make: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{code}` is not a working Makefile target: make -n {} exited {}\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn readme_commands_work() {
    run_document(DOCUMENTS[0].0, DOCUMENTS[0].1);
}

#[test]
fn function_readme_commands_work() {
    run_document(DOCUMENTS[1].0, DOCUMENTS[1].1);
}

#[test]
fn examples_readme_commands_work() {
    run_document(DOCUMENTS[2].0, DOCUMENTS[2].1);
}

// ---------------------------------------------------------------------------------------------
// YAML in the documents.
// ---------------------------------------------------------------------------------------------

/// Every EnvironmentPolicy and ConfigMap functionConfig shown in a ```yaml block is valid.
#[test]
fn documented_function_configs_parse() {
    let mut checked = 0;
    for (document, _) in DOCUMENTS {
        for block in blocks(&read(document))
            .iter()
            .filter(|block| block.lang == "yaml")
        {
            let text: String = block.lines.iter().map(|(_, l)| format!("{l}\n")).collect();
            let docs = parse_stream(&text).unwrap_or_else(|e| {
                panic!(
                    "{document}:{}: the yaml block does not parse: {e}",
                    block.line
                )
            });
            for doc in docs {
                let json = doc.to_json();
                let kind = json.get("kind").and_then(Value::as_str).unwrap_or_default();
                if !matches!(kind, "EnvironmentPolicy" | "ConfigMap") {
                    continue;
                }
                if let Err(e) = Policy::from_config(Some(&json)) {
                    panic!("{document}:{}: the {kind} is invalid: {e}", block.line);
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 3, "only {checked} functionConfigs found");
}

// ---------------------------------------------------------------------------------------------
// The function README against the code.
// ---------------------------------------------------------------------------------------------

/// Text between `## Title` and the next `## ` heading.
fn section<'a>(markdown: &'a str, title: &str) -> &'a str {
    let heading = format!("\n## {title}\n");
    let start = markdown
        .find(&heading)
        .unwrap_or_else(|| panic!("no `## {title}` section"))
        + heading.len();
    let end = markdown[start..]
        .find("\n## ")
        .map_or(markdown.len(), |end| start + end);
    &markdown[start..end]
}

/// Rows of the markdown tables in `text`, split into trimmed cells.
fn table_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|line| line.starts_with('|') && !line.starts_with("|---"))
        .map(|line| {
            line.trim_matches('|')
                .split(" | ")
                .map(|cell| cell.trim().to_string())
                .collect()
        })
        .collect()
}

/// The field names a reference row documents: `spec.a.b` tokens of its first cell, with
/// `.x` shorthands expanded against the first full name (`spec.overrides[].replicas`, `.rollout`).
fn documented_fields(function_config: &str) -> BTreeSet<String> {
    let mut fields = BTreeSet::new();
    for row in table_rows(function_config) {
        let mut prefix = String::new();
        for token in row[0].split('`').skip(1).step_by(2) {
            if let Some(short) = token.strip_prefix('.') {
                fields.insert(format!("{prefix}.{short}"));
            } else if token.starts_with("spec.") {
                prefix = token.rsplit_once('.').map_or(token, |(p, _)| p).to_string();
                fields.insert(token.to_string());
            }
        }
    }
    fields
}

/// `spec...` paths of every property in the JSON Schema; list items as `[]`. Map values
/// (`additionalProperties`) are not descended into. Override fields count one level deep:
/// their sub-fields are the spec's.
fn schema_fields(schema: &Value) -> BTreeSet<String> {
    fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
        match node.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let pointer = reference.trim_start_matches('#');
                resolve(
                    root,
                    root.pointer(pointer)
                        .unwrap_or_else(|| panic!("unresolved {reference}")),
                )
            }
            None => node,
        }
    }
    fn walk(root: &Value, node: &Value, path: &str, out: &mut BTreeSet<String>) {
        let node = resolve(root, node);
        for key in ["anyOf", "oneOf", "allOf"] {
            for alternative in node
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                walk(root, alternative, path, out);
            }
        }
        if let Some(items) = node.get("items") {
            walk(root, items, &format!("{path}[]"), out);
        }
        for (name, property) in node
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let field = format!("{path}.{name}");
            out.insert(field.clone());
            if !path.starts_with("spec.overrides[]") {
                walk(root, property, &field, out);
            }
        }
    }
    let spec = schema
        .pointer("/properties/spec")
        .expect("the schema has properties.spec");
    let mut fields = BTreeSet::new();
    walk(schema, spec, "spec", &mut fields);
    fields
}

/// `envpolicy schema`: the contract for what a config can hold.
fn schema() -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_envpolicy"))
        .arg("schema")
        .output()
        .expect("run envpolicy schema");
    assert!(
        out.status.success(),
        "envpolicy schema: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("envpolicy schema prints JSON")
}

#[test]
fn function_readme_documents_every_field() {
    let readme = read(FUNCTION_README);
    let documented = documented_fields(section(&readme, "FunctionConfig"));
    let schema_fields = schema_fields(&schema());
    assert!(
        schema_fields.contains("spec.disruptionBudget.minAvailable"),
        "the schema walk missed fields: {schema_fields:?}"
    );
    // An object field is documented by rows for its own fields (`spec.rollout.maxSurge`).
    let missing: Vec<&String> = schema_fields
        .iter()
        .filter(|field| {
            !documented.contains(*field)
                && !documented.iter().any(|d| {
                    d.starts_with(&format!("{field}.")) || d.starts_with(&format!("{field}[]."))
                })
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{FUNCTION_README}: FunctionConfig has no row for {missing:?}"
    );
    let unknown: Vec<&String> = documented.difference(&schema_fields).collect();
    assert!(
        unknown.is_empty(),
        "{FUNCTION_README}: FunctionConfig documents fields the schema lacks: {unknown:?}"
    );
}

#[test]
fn function_readme_defaults_are_the_codes() {
    let readme = read(FUNCTION_README);
    let rows = table_rows(section(&readme, "FunctionConfig"));
    let default_of = |field: &str| -> String {
        let name = format!("`{field}`");
        let row = rows
            .iter()
            .find(|row| row[0] == name)
            .unwrap_or_else(|| panic!("no row for {field}"));
        row.get(2)
            .unwrap_or_else(|| panic!("the row for {field} has no default"))
            .clone()
    };
    let list = |items: &[&str]| format!("`[{}]`", items.join(", "));
    let code = |value: &dyn std::fmt::Display| format!("`{value}`");
    let quoted = |value: &dyn std::fmt::Display| format!("`\"{value}\"`");
    let expected = [
        ("spec.selector.kinds", list(DEFAULT_KINDS)),
        ("spec.antiAffinity.topologyKey", code(&DEFAULT_TOPOLOGY_KEY)),
        ("spec.antiAffinity.weight", code(&DEFAULT_WEIGHT)),
        ("spec.logLevel.configMapKeys", list(DEFAULT_CONFIG_MAP_KEYS)),
        ("spec.logLevel.envVars", list(DEFAULT_ENV_VARS)),
        ("spec.autoscaling.minReplicas", code(&DEFAULT_MIN_REPLICAS)),
        (
            "spec.autoscaling.cpuUtilization",
            code(&DEFAULT_CPU_UTILIZATION),
        ),
        (
            "spec.topologySpread.topologyKey",
            code(&DEFAULT_SPREAD_TOPOLOGY_KEY),
        ),
        ("spec.topologySpread.maxSkew", code(&DEFAULT_MAX_SKEW)),
        ("spec.rollout.maxSurge", code(&DEFAULT_ROLLOUT_PERCENT)),
        (
            "spec.rollout.maxUnavailable",
            code(&DEFAULT_ROLLOUT_PERCENT),
        ),
        (
            "spec.kubernetesVersion",
            quoted(&DEFAULT_KUBERNETES_VERSION),
        ),
    ];
    for (field, value) in expected {
        let documented = default_of(field);
        assert!(
            documented.starts_with(&value),
            "{FUNCTION_README}: the default of {field} is {value} in the code, the README says {documented}"
        );
    }
}

/// The preset table's replicas, anti-affinity mode, log level and HPA range are the presets'.
#[test]
fn function_readme_presets_are_the_codes() {
    let readme = read(FUNCTION_README);
    let rows = table_rows(section(&readme, "FunctionConfig"));
    for preset in presets() {
        let spec = &preset["spec"];
        let name = spec["environment"].as_str().expect("preset name");
        let row = rows
            .iter()
            .find(|row| row[0] == format!("`{name}`"))
            .unwrap_or_else(|| panic!("no preset row for {name}"));
        let text = |value: &Value| match value {
            Value::Null => "—".to_string(),
            Value::String(s) => format!("`{s}`"),
            other => other.to_string(),
        };
        assert_eq!(row[1], text(&spec["replicas"]), "{name}: replicas");
        assert_eq!(
            row[2],
            text(&spec["antiAffinity"]["mode"]),
            "{name}: antiAffinity.mode"
        );
        assert_eq!(
            row[3],
            text(&spec["logLevel"]["level"]),
            "{name}: logLevel.level"
        );
        let hpa = &spec["autoscaling"];
        if hpa["enabled"] == Value::Bool(true) {
            let range = format!("{}-{}", hpa["minReplicas"], hpa["maxReplicas"]);
            assert!(row[4].starts_with(&range), "{name}: autoscaling {range}");
        } else {
            assert_eq!(row[4], "off", "{name}: autoscaling");
        }
    }
}

#[test]
fn function_readme_has_the_catalog_sections() {
    let readme = read(FUNCTION_README);
    for (title, marker) in [
        ("Overview", Some("<!--mdtogo:Short-->")),
        ("Usage", None),
        ("FunctionConfig", Some("<!--mdtogo:Long-->")),
        ("Examples", Some("<!--mdtogo:Examples-->")),
    ] {
        let text = section(&readme, title);
        if let Some(marker) = marker {
            let start = text
                .find(marker)
                .unwrap_or_else(|| panic!("## {title} has no {marker}"));
            assert!(
                text[start..].contains("<!--mdtogo-->"),
                "## {title}: {marker} is not closed by <!--mdtogo--> in the section"
            );
        }
    }
    let order: Vec<usize> = [
        "## Overview",
        "## Usage",
        "## FunctionConfig",
        "## Examples",
    ]
    .iter()
    .map(|heading| readme.find(heading).expect("heading"))
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "sections out of order"
    );
}

// ---------------------------------------------------------------------------------------------
// metadata.yaml.
// ---------------------------------------------------------------------------------------------

fn metadata() -> Value {
    let text = read(METADATA);
    let docs = parse_stream(&text).unwrap_or_else(|e| panic!("{METADATA}: {e}"));
    assert_eq!(docs.len(), 1, "{METADATA}: one document");
    docs[0].to_json()
}

fn metadata_image() -> String {
    metadata()["image"]
        .as_str()
        .expect("metadata.yaml has an image")
        .to_string()
}

/// The catalog's metadata schema: these fields only, image/description/tags required, tags
/// from its list, example packages that exist.
#[test]
fn metadata_follows_the_catalog_format() {
    let metadata = metadata();
    let fields: BTreeSet<&str> = metadata
        .as_object()
        .expect("a map")
        .keys()
        .map(String::as_str)
        .collect();
    let allowed = [
        "image",
        "description",
        "tags",
        "sourceURL",
        "examplePackageURLs",
        "license",
        "hidden",
    ];
    for field in &fields {
        assert!(allowed.contains(field), "{METADATA}: unknown field {field}");
    }
    for field in ["image", "description", "tags"] {
        assert!(fields.contains(field), "{METADATA}: {field} is required");
    }
    let tags: Vec<&str> = metadata["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|tag| tag.as_str().expect("a tag"))
        .collect();
    let allowed_tags = [
        "mutator",
        "validator",
        "generator",
        "viewer",
        "test",
        "testing",
        "timing",
        "name prefix",
        "name suffix",
    ];
    assert!(
        tags.iter().all(|tag| allowed_tags.contains(tag)),
        "{tags:?}"
    );
    assert!(tags.contains(&"mutator") && tags.contains(&"validator"));
    assert_eq!(metadata["license"], env!("CARGO_PKG_LICENSE"));
    assert!(!metadata["description"]
        .as_str()
        .unwrap_or_default()
        .is_empty());

    let tree = |url: &str| -> PathBuf {
        let (_, path) = url
            .split_once("/tree/main/")
            .unwrap_or_else(|| panic!("{METADATA}: {url} is not a /tree/main/ URL"));
        repo().join(path)
    };
    let source = metadata["sourceURL"].as_str().expect("sourceURL");
    assert_eq!(tree(source), repo().join("functions/envpolicy"));
    let examples = metadata["examplePackageURLs"].as_array().expect("examples");
    assert!(!examples.is_empty());
    for url in examples {
        let url = url.as_str().expect("a URL");
        assert!(
            tree(url).is_dir(),
            "{METADATA}: {url} names no directory of this repository"
        );
        assert!(url.starts_with(source.trim_end_matches('/')), "{url}");
    }
}

/// One image name everywhere: metadata.yaml, the Makefile's default and every README, tagged
/// with the crate's version and fully qualified (kpt reads a bare name as gcr.io/kpt-fn/...).
#[test]
fn image_name_agrees_everywhere() {
    let image = metadata_image();
    assert_eq!(
        image,
        format!("ghcr.io/envpolicy/envpolicy:v{}", env!("CARGO_PKG_VERSION"))
    );
    let (repository, _tag) = image.rsplit_once(':').expect("a tag");
    let registry = repository.split('/').next().unwrap_or_default();
    assert!(registry.contains('.'), "{image} is not fully qualified");

    let out = Command::new("make")
        .args(["-n", "image"])
        .current_dir(repo())
        .env_remove("IMAGE")
        .env_remove("MAKEFLAGS")
        .output()
        .expect("make -n image");
    let recipe = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && recipe.contains(&format!(
                "docker build -f functions/envpolicy/Dockerfile -t {image} ."
            )),
        "make -n image: {recipe}"
    );
    for (document, _) in DOCUMENTS {
        let text = read(document);
        for (at, _) in text.match_indices(&format!("{repository}:")) {
            let used: String = text[at..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !"`)}\"'".contains(*c))
                .collect();
            let used = used.trim_end_matches(['.', ',', ':', ';']);
            assert_eq!(used, image, "{document} names another image");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The runner's own parsing.
// ---------------------------------------------------------------------------------------------

#[test]
fn the_runner_reads_commands_as_written() {
    let markdown = "text\n```sh\n# a comment\nkpt fn eval --exec envpolicy . \\\n  -- environment=prod   # exits 1\n\ncat > f <<'EOF'\na: 1\nEOF\nmake test   # everything\n```\n";
    let found = blocks(markdown);
    assert_eq!(found.len(), 1);
    let cmds = commands(&found[0]);
    assert_eq!(cmds.len(), 3, "{cmds:?}");
    assert_eq!(cmds[0].line, 4);
    assert_eq!(cmds[0].expected, 1);
    assert!(cmds[0].text.ends_with("# exits 1"));
    assert_eq!(cmds[1].text, "cat > f <<'EOF'\na: 1\nEOF");
    assert_eq!(cmds[1].expected, 0);
    assert!(cmds[2].is_make() && !cmds[0].is_make());
    let placeholder_of = |text: &str| {
        placeholder(&Cmd {
            line: 1,
            text: text.to_string(),
            expected: 0,
        })
    };
    assert_eq!(
        placeholder_of("kpt fn render --allow-exec PACKAGE").as_deref(),
        Some("PACKAGE")
    );
    assert_eq!(
        placeholder_of("KUSTOMIZE_PLUGIN_HOME=$home kubectl kustomize x"),
        None
    );
    assert_eq!(
        placeholder_of("echo \"$HOME\" # PACKAGE in a comment"),
        None
    );
    assert!(check_make("make test   # everything").is_ok());
    let missing = check_make("make no-such-target");
    assert!(
        missing
            .as_ref()
            .is_err_and(|e| e.contains("is not a working Makefile target")),
        "{missing:?}"
    );
}

/// A failing command is named with its line, exit code and output; the block stops there.
#[test]
fn the_runner_reports_the_failing_command() {
    let markdown = "```sh\necho first\nls no-such-file   # exits 0\necho never > ran.txt\n```\n";
    let block = &blocks(markdown)[0];
    let cmds = commands(block);
    let sandbox = Sandbox::new();
    let refs: Vec<&Cmd> = cmds.iter().collect();
    let Err(failure) = sandbox.run_block(&sandbox.repo(), &refs) else {
        panic!("a failing command passed");
    };
    assert_eq!(failure.line, Some(3));
    assert!(
        failure
            .message
            .contains("`ls no-such-file   # exits 0` exited 2, expected 0")
            && failure.message.contains("No such file"),
        "{}",
        failure.message
    );
    assert!(
        !sandbox.repo().join("ran.txt").exists(),
        "the block went on"
    );
    let ok = Cmd {
        line: 1,
        text: "envpolicy presets | grep -q 'kind: EnvironmentPolicy'".to_string(),
        expected: 0,
    };
    assert!(
        sandbox.run_block(&sandbox.repo(), &[&ok]).is_ok(),
        "envpolicy is not on PATH"
    );
}
