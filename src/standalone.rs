//! The standalone CLI, for people without kpt or a kustomization yet: the same pipeline on
//! files, directories or stdin, printed as the transformed stream (`run`), as a diff per
//! changed resource (`diff`), or as a table of changes (`explain`).

use std::collections::HashMap;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use similar::TextDiff;

use crate::config::Policy;
use crate::policies::Severity;
use crate::report::{Report, ValueText};
use crate::resource::ResourceId;
use crate::run::run;
use crate::yaml::{emit_document, emit_stream, parse_stream, Node};

/// Input files by name, read once; the YAML tree borrows from them.
pub struct Sources(Vec<(String, String)>);

impl Sources {
    /// Reads files, directories (every `*.yaml`/`*.yml` below, sorted, hidden entries skipped)
    /// and `-` (stdin; also when no path is given).
    pub fn read(paths: &[PathBuf]) -> Result<Sources> {
        let mut out = Vec::new();
        if paths.is_empty() {
            out.push(("<stdin>".to_owned(), read_stdin()?));
        }
        for path in paths {
            if path.as_os_str() == "-" {
                out.push(("<stdin>".to_owned(), read_stdin()?));
            } else if path.is_dir() {
                let mut files = Vec::new();
                walk(path, &mut files)?;
                files.sort();
                for file in files {
                    let text = std::fs::read_to_string(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    out.push((file.display().to_string(), text));
                }
            } else {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                out.push((path.display().to_string(), text));
            }
        }
        Ok(Sources(out))
    }

    /// Every resource: documents of plain streams, and the items of ResourceLists.
    pub fn items(&self) -> Result<Vec<Node<'_>>> {
        let mut items = Vec::new();
        for (name, text) in &self.0 {
            for doc in parse_stream(text).with_context(|| format!("{name} is not valid YAML"))? {
                let is_list = doc.str_at(&["kind"]) == Some("ResourceList");
                match doc {
                    Node::Map(mut m) if is_list => match m.remove("items") {
                        Some(Node::Seq(seq)) => items.extend(seq.items),
                        _ => bail!("{name}: ResourceList items: must be a list"),
                    },
                    doc => items.push(doc),
                }
            }
        }
        Ok(items)
    }

    fn bytes(&self) -> usize {
        self.0.iter().map(|(_, t)| t.len()).sum()
    }
}

fn read_stdin() -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read stdin")?;
    Ok(text)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    Ok(())
}

/// Reads a policy file: an EnvironmentPolicy or a ConfigMap.
pub fn load_policy(path: &Path) -> Result<Policy> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the policy {}", path.display()))?;
    let docs =
        parse_stream(&text).with_context(|| format!("{} is not valid YAML", path.display()))?;
    let [doc] = docs.as_slice() else {
        bail!(
            "{} holds {} YAML documents; expected one EnvironmentPolicy",
            path.display(),
            docs.len()
        );
    };
    Ok(Policy::from_config(Some(&doc.to_json()))?)
}

/// The pipeline on the sources' items, with a progress line on a terminal when it took a while.
fn transform<'a>(
    sources: &Sources,
    items: Vec<Node<'a>>,
    policy: &Policy,
) -> Result<(Vec<Node<'a>>, Vec<Report>)> {
    let started = Instant::now();
    let count = items.len();
    let (after, reports) = run(items, policy)?;
    let elapsed = started.elapsed();
    if elapsed.as_secs_f64() > 1.0 && std::io::stderr().is_terminal() {
        #[allow(clippy::cast_precision_loss)] // a progress line: megabytes to one decimal
        let mb = sources.bytes() as f64 / 1e6;
        eprintln!(
            "envpolicy: {count} resources ({mb:.1} MB) in {:.1}s",
            elapsed.as_secs_f64()
        );
    }
    Ok((after, reports))
}

/// Prints warnings and errors for people; true when there was an error.
fn print_problems(reports: &[Report]) -> bool {
    for r in reports.iter().filter(|r| r.severity >= Severity::Warning) {
        eprintln!("{}", r.line());
    }
    reports.iter().any(|r| r.severity == Severity::Error)
}

/// `envpolicy run`: the transformed stream on stdout; false when a result is an error.
pub fn run_command(policy: &Policy, sources: &Sources) -> Result<(String, bool)> {
    let (after, reports) = transform(sources, sources.items()?, policy)?;
    let failed = print_problems(&reports);
    Ok((emit_stream(&after), !failed))
}

/// `apiVersion/Kind/namespace/name`, as kpt prints resources.
fn label(id: &ResourceId) -> String {
    match &id.namespace {
        Some(ns) => format!("{}/{}/{ns}/{}", id.api_version, id.kind, id.name),
        None => format!("{}/{}/{}", id.api_version, id.kind, id.name),
    }
}

/// One changed resource: its identity, and its text before (empty when new) and after.
struct Change {
    id: ResourceId,
    before: Option<Value>,
    after: Value,
    before_text: String,
    after_text: String,
}

fn changes(before: &[Node<'_>], after: &[Node<'_>]) -> Vec<Change> {
    let originals: HashMap<ResourceId, &Node<'_>> =
        before.iter().map(|n| (ResourceId::of(n), n)).collect();
    let mut out = Vec::new();
    for node in after {
        let id = ResourceId::of(node);
        let original = originals.get(&id);
        let before_text = original.map(|n| emit_document(n)).unwrap_or_default();
        let after_text = emit_document(node);
        if before_text != after_text {
            out.push(Change {
                before: original.map(|n| n.to_json()),
                after: node.to_json(),
                id,
                before_text,
                after_text,
            });
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// A unified diff per changed resource.
    Unified,
    /// RFC 6902 JSON patches per changed resource.
    JsonPatch,
}

/// `envpolicy diff`: the text to print and whether anything would change.
pub fn diff_command(
    policy: &Policy,
    sources: &Sources,
    format: DiffFormat,
    color: bool,
) -> Result<(String, bool)> {
    // Only the diff needs the input as it was.
    let before = sources.items()?;
    let (after, reports) = transform(sources, before.clone(), policy)?;
    if print_problems(&reports) {
        bail!("the policy reported errors; nothing to diff");
    }
    let changes = changes(&before, &after);
    let text = match format {
        DiffFormat::Unified => changes
            .iter()
            .map(|c| unified(c, color))
            .collect::<String>(),
        DiffFormat::JsonPatch => {
            let patches: Vec<Value> = changes
                .iter()
                .map(|c| {
                    let patch =
                        json_patch::diff(c.before.as_ref().unwrap_or(&Value::Null), &c.after);
                    serde_json::json!({"resource": label(&c.id), "patch": patch})
                })
                .collect();
            let mut text = serde_json::to_string_pretty(&patches).context("cannot write JSON")?;
            text.push('\n');
            text
        }
    };
    Ok((text, !changes.is_empty()))
}

fn unified(change: &Change, color: bool) -> String {
    let name = label(&change.id);
    let old = if change.before.is_some() {
        format!("a/{name}")
    } else {
        "/dev/null".to_owned()
    };
    let diff = TextDiff::from_lines(&change.before_text, &change.after_text);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&old, &format!("b/{name}"))
        .to_string();
    if !color {
        return text;
    }
    text.lines()
        .map(|line| {
            let code = match line.as_bytes().first() {
                Some(b'+') if !line.starts_with("+++") => "32",
                Some(b'-') if !line.starts_with("---") => "31",
                Some(b'@') => "36",
                _ => return format!("{line}\n"),
            };
            format!("\x1b[{code}m{line}\x1b[0m\n")
        })
        .collect()
}

/// `envpolicy explain`: a table of what would change and why, and whether a result is an error.
pub fn explain_command(policy: &Policy, sources: &Sources) -> Result<(String, bool)> {
    let (_, reports) = transform(sources, sources.items()?, policy)?;
    let failed = reports.iter().any(|r| r.severity == Severity::Error);
    let short = |v: Option<&ValueText>| match v.map(ValueText::to_json) {
        None => "-".to_owned(),
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
    };
    let mut rows = vec![[
        "RESOURCE".to_owned(),
        "FIELD".to_owned(),
        "CURRENT".to_owned(),
        "PROPOSED".to_owned(),
        "WHY".to_owned(),
    ]];
    for r in &reports {
        let resource = r
            .resource
            .as_ref()
            .map_or_else(|| "-".to_owned(), |id| label(id));
        let (field, current, proposed) = match &r.field {
            Some(f) => (
                f.path.to_string(),
                short(f.current.as_ref()),
                short(f.proposed.as_ref()),
            ),
            None => ("-".to_owned(), "-".to_owned(), "-".to_owned()),
        };
        let why = match r.severity {
            Severity::Info => r.message.to_string(),
            other => format!("[{}] {}", other.as_str(), r.message),
        };
        rows.push([resource, field, clip(&current), clip(&proposed), why]);
    }
    Ok((table(&rows), !failed))
}

/// Long values (whole anti-affinity terms) are cut to keep the table readable.
fn clip(text: &str) -> String {
    const WIDTH: usize = 40;
    if text.chars().count() <= WIDTH {
        text.to_owned()
    } else {
        text.chars().take(WIDTH - 1).chain(['…']).collect()
    }
}

fn table(rows: &[[String; 5]]) -> String {
    let mut widths = [0usize; 5];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
