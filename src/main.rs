//! envpolicy: read → select workloads → each policy computes its edits → apply → write.

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use envpolicy::config::{presets, Policy};
use envpolicy::policies::Severity;
use envpolicy::report::Report;
use envpolicy::wire::{self, Mode};
use envpolicy::yaml::{emit_stream, Node, MAX_INPUT_BYTES};
use envpolicy::{run::run, wire::Input};

/// Applies an environment's policies (replicas, resources, anti-affinity, log level,
/// autoscaling) to the Deployments and StatefulSets of a kpt package or kustomize build.
///
/// As a KRM function it reads a ResourceList on stdin and writes one with results
/// (kpt fn eval --exec envpolicy -- environment=prod; kpt fn render --allow-exec).
/// As a kustomize legacy exec plugin it reads its config file from the first argument and a
/// YAML stream on stdin (kubectl kustomize --enable-alpha-plugins).
#[derive(Parser)]
#[command(name = "envpolicy", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Legacy plugin mode: the EnvironmentPolicy file kustomize passes.
    config: Option<std::path::PathBuf>,
    /// Benchmark floor: read and write the input with the same reader and writer, no policies.
    #[arg(long, hide = true)]
    floor: bool,
    /// Further arguments from the plugin's argsOneLiner or kpt's exec string; ignored.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Print the built-in dev, staging and prod presets as EnvironmentPolicy YAML.
    Presets,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Presets) => print_presets(),
        None => function(cli.config.as_deref(), cli.floor),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("envpolicy: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_presets() -> Result<ExitCode> {
    let docs: Vec<Node<'static>> = presets().iter().map(Node::from_json).collect();
    write_stdout(&emit_stream(&docs))?;
    Ok(ExitCode::SUCCESS)
}

/// The KRM function and legacy plugin: all output is written at once, after everything worked.
fn function(config_path: Option<&std::path::Path>, floor: bool) -> Result<ExitCode> {
    let stdin = read_stdin()?;
    let plugin_config = match config_path {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .or_else(|e| std::env::var("KUSTOMIZE_PLUGIN_CONFIG_STRING").map_err(|_| e))
                .with_context(|| format!("cannot read the config file {}", path.display()))?,
        ),
        None => None,
    };
    let mut input = wire::read(&stdin, plugin_config.as_deref())?;
    let mode = input.mode;
    if floor {
        let items = std::mem::take(&mut input.items);
        write_stdout(&wire::write(input.take_wrapper(), mode, items, &[]))?;
        return Ok(ExitCode::SUCCESS);
    }
    match transform(&mut input) {
        Ok((items, reports)) => {
            let failed = reports.iter().any(|r| r.severity == Severity::Error);
            for r in reports.iter().filter(|r| r.severity == Severity::Error) {
                eprintln!("envpolicy: {}", r.line());
            }
            write_stdout(&wire::write(input.take_wrapper(), mode, items, &reports))?;
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Err(e) if mode == Mode::ResourceList => {
            // kpt shows the results of a failed function: the items go back unchanged with the error.
            let mut original = wire::read(&stdin, None)?;
            let items = std::mem::take(&mut original.items);
            let report = Report::error(format!("{e:#}"));
            eprintln!("envpolicy: {e:#}");
            write_stdout(&wire::write(
                original.take_wrapper(),
                mode,
                items,
                &[report],
            ))?;
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e),
    }
}

fn transform<'a>(input: &mut Input<'a>) -> Result<(Vec<Node<'a>>, Vec<Report>)> {
    let config = input.function_config.as_ref().map(Node::to_json);
    let policy = Policy::from_config(config.as_ref())?;
    run(std::mem::take(&mut input.items), &policy)
}

fn read_stdin() -> Result<String> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_INPUT_BYTES).unwrap_or(u64::MAX) + 1;
    std::io::stdin()
        .lock()
        .take(limit)
        .read_to_end(&mut bytes)
        .context("cannot read stdin")?;
    if bytes.len() > MAX_INPUT_BYTES {
        bail!("stdin is larger than {MAX_INPUT_BYTES} bytes; split the package");
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "stdin is not valid UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// A closed pipe or full disk is a clean failure, never a panic.
fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write stdout")
}
