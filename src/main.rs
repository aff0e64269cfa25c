//! envpolicy: read → select workloads → each policy computes its edits → apply → write.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{CommandFactory, Parser, Subcommand};

use envpolicy::config::{presets, schema, Policy};
use envpolicy::parallel::Parallelism;
use envpolicy::policies::Severity;
use envpolicy::report::Report;
use envpolicy::run::{run_with, Outcome};
use envpolicy::standalone::{self, DiffFormat, Sources};
use envpolicy::wire::{self, Input, Mode};
use envpolicy::yaml::{emit_stream, Doc, Node, MAX_INPUT_BYTES};

/// mimalloc: the pipeline allocates many small nodes; measured 20-25% faster than the system
/// allocator at 1,000 workloads (bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Applies an environment's policies (replicas, resources, anti-affinity, log level,
/// autoscaling, disruption budgets, rollout, spread, hardening) to the workloads of a kpt
/// package or kustomize build.
///
/// With no subcommand it is a KRM function: a ResourceList on stdin, one with results on
/// stdout (kpt fn eval --exec envpolicy -- environment=prod; kpt fn render --allow-exec).
/// Given a config file as its first argument and a YAML stream on stdin, it is a kustomize
/// legacy exec plugin (kubectl kustomize --enable-alpha-plugins).
#[derive(Parser)]
#[command(name = "envpolicy", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Legacy plugin mode: the EnvironmentPolicy file kustomize passes.
    config: Option<PathBuf>,
    /// Benchmark floor: read and write the input with the same reader and writer, no policies.
    #[arg(long, hide = true)]
    floor: bool,
    /// Benchmark: print the wall time of each phase (read, policies, write) on stderr.
    #[arg(long, hide = true)]
    phase_times: bool,
    /// Further arguments from the plugin's argsOneLiner or kpt's exec string; ignored.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Print the built-in dev, staging and prod presets as EnvironmentPolicy YAML.
    Presets,
    /// Apply a policy to manifests (files, directories, `-` for stdin) and print the result.
    Run {
        #[arg(short, long, value_name = "POLICY")]
        config: PathBuf,
        inputs: Vec<PathBuf>,
    },
    /// Show what a policy would change: exit 0 when nothing, 1 when something, 2 on error.
    Diff {
        #[arg(short, long, value_name = "POLICY")]
        config: PathBuf,
        #[arg(long, value_enum, default_value_t = DiffFormat::Unified)]
        format: DiffFormat,
        inputs: Vec<PathBuf>,
    },
    /// Print a table of every change (resource, field, current, proposed, why) and warning.
    Explain {
        #[arg(short, long, value_name = "POLICY")]
        config: PathBuf,
        inputs: Vec<PathBuf>,
    },
    /// Print the JSON Schema of EnvironmentPolicy, for editors and CI.
    Schema,
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
}

fn main() -> ExitCode {
    no_huge_pages();
    return_freed_pages();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Presets) => print_presets(),
        Some(Command::Run { config, inputs }) => standalone_run(&config, &inputs),
        Some(Command::Diff {
            config,
            format,
            inputs,
        }) => return diff(&config, &inputs, format),
        Some(Command::Explain { config, inputs }) => explain(&config, &inputs),
        Some(Command::Schema) => print_schema(),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "envpolicy",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let outcome = function(cli.config.as_deref(), cli.floor, cli.phase_times);
            exit_now(outcome.unwrap_or_else(|e| {
                eprintln!("envpolicy: {e:#}");
                ExitCode::FAILURE
            }))
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("envpolicy: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Ends the KRM function's process once its output is flushed, without the allocator's teardown:
/// mimalloc would walk every page of the tree only to hand it back, 2-3% of a run at 10,000
/// workloads (bench/README.md). Nothing else runs at exit in this mode.
fn exit_now(code: ExitCode) -> ! {
    let _ = std::io::stdout().lock().flush();
    let _ = std::io::stderr().lock().flush();
    let status = if code == ExitCode::SUCCESS { 0 } else { 1 };
    #[cfg(target_os = "linux")]
    // SAFETY: _exit takes no pointers; stdout and stderr were flushed above and this mode owns no
    // other buffered state, temporary file or child process.
    unsafe {
        libc::_exit(status)
    }
    #[cfg(not(target_os = "linux"))]
    std::process::exit(status)
}

/// Turns transparent huge pages off for this process. mimalloc asks for them, and a run touches
/// every page it gets once: zeroing 2 MiB pages took 45% of the wall time at 10,000 workloads
/// and made it swing between 1.9 and 4.8 s; with 4 KiB pages the median went from 3.3 to 2.1 s
/// (bench/README.md).
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_THP_DISABLE reads no memory; failure only keeps huge pages.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Has mimalloc hand pages it no longer uses back to the kernel at once instead of 10 ms later.
/// Planning frees as it goes (each pod view, each batch's plans), and the delayed pages counted
/// in the peak RSS: 9 MiB of 187 at 10,000 workloads, for 17% more page faults and a wall time
/// within the noise of interleaved runs (bench/README.md, thirteenth round).
fn return_freed_pages() {
    /// `mi_option_purge_delay` in mimalloc 2's `mi_option_e` (mimalloc.h), which libmimalloc-sys
    /// 0.1.49 does not name. Set only if it reads as its documented default, 10 ms: another
    /// mimalloc would leave it unset rather than set something else.
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    const DEFAULT_MS: std::ffi::c_long = 10;
    // SAFETY: mi_option_get and mi_option_set read and write one integer of mimalloc's options
    // table; the option index is in range for mimalloc 2, whose sys crate version is pinned.
    unsafe {
        if libmimalloc_sys::mi_option_get(PURGE_DELAY) == DEFAULT_MS {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        }
    }
}

fn standalone_run(config: &Path, inputs: &[PathBuf]) -> Result<ExitCode> {
    let policy = standalone::load_policy(config)?;
    let sources = Sources::read(inputs)?;
    let (text, ok) = standalone::run_command(&policy, &sources)?;
    if !ok {
        bail!("the policy reported errors; nothing written");
    }
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Like `git diff --exit-code`: 0 unchanged, 1 changed, 2 error.
fn diff(config: &Path, inputs: &[PathBuf], format: DiffFormat) -> ExitCode {
    let color = format == DiffFormat::Unified
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let outcome = standalone::load_policy(config)
        .and_then(|policy| Ok((policy, Sources::read(inputs)?)))
        .and_then(|(policy, sources)| standalone::diff_command(&policy, &sources, format, color))
        .and_then(|(text, changed)| write_stdout(&text).map(|()| changed));
    match outcome {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(1),
        Err(e) => {
            eprintln!("envpolicy: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn explain(config: &Path, inputs: &[PathBuf]) -> Result<ExitCode> {
    let policy = standalone::load_policy(config)?;
    let sources = Sources::read(inputs)?;
    let (text, ok) = standalone::explain_command(&policy, &sources)?;
    write_stdout(&text)?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_schema() -> Result<ExitCode> {
    let mut text = serde_json::to_string_pretty(&schema()).context("cannot write the schema")?;
    text.push('\n');
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn print_presets() -> Result<ExitCode> {
    let docs: Vec<Node<'static>> = presets().iter().map(Node::from_json).collect();
    write_stdout(&emit_stream(&docs))?;
    Ok(ExitCode::SUCCESS)
}

/// The KRM function and legacy plugin: all output is written at once, after everything worked.
fn function(config_path: Option<&Path>, floor: bool, phase_times: bool) -> Result<ExitCode> {
    let mut clock = PhaseClock::new(phase_times);
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
    clock.lap("read");
    let mode = input.mode;
    if floor {
        let items = std::mem::take(&mut input.items);
        write_output(input.take_wrapper(), mode, &items, &[])?;
        clock.lap("write");
        std::mem::forget(items);
        return Ok(ExitCode::SUCCESS);
    }
    let transformed = transform(&mut input);
    match transformed {
        Ok(Outcome {
            items,
            reports,
            scratch,
        }) => {
            clock.lap("policies");
            let failed = reports.iter().any(|r| r.severity == Severity::Error);
            for r in reports.iter().filter(|r| r.severity == Severity::Error) {
                eprintln!("envpolicy: {}", r.line());
            }
            write_output(input.take_wrapper(), mode, &items, &reports)?;
            clock.lap("write");
            // The process ends here: freeing the tree, the results and the inventory one by one
            // would only cost time.
            std::mem::forget(items);
            std::mem::forget(reports);
            std::mem::forget(scratch);
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
            write_output(original.take_wrapper(), mode, &items, &[report])?;
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e),
    }
}

/// `--phase-times`: the benchmark's split of one run into reading, policies and writing, so the
/// policies' share is measured in the same process as the rest.
struct PhaseClock {
    last: Option<std::time::Instant>,
}

impl PhaseClock {
    fn new(on: bool) -> Self {
        PhaseClock {
            last: on.then(std::time::Instant::now),
        }
    }

    fn lap(&mut self, phase: &str) {
        if let Some(last) = self.last {
            let now = std::time::Instant::now();
            eprintln!(
                "envpolicy: phase {phase} {:.6} s",
                (now - last).as_secs_f64()
            );
            self.last = Some(now);
        }
    }
}

fn transform<'a>(input: &mut Input<'a>) -> Result<Outcome<'a>> {
    let config = input.function_config.as_ref().map(Node::to_json);
    let policy = Policy::from_config(config.as_ref())?;
    run_with(
        std::mem::take(&mut input.items),
        &policy,
        Parallelism::default(),
    )
}

fn read_stdin() -> Result<String> {
    // Room for the largest input accepted, reserved first: grown by doubling, the buffer freed
    // about as much memory as the input, which mimalloc handed back to the kernel before the tree
    // reused it, so those pages were faulted in twice (115,000 more faults at 100,000 workloads,
    // bench/README.md). The room is address space only: a page counts once it is written. If it
    // cannot be had, the buffer grows as before.
    let mut bytes = Vec::new();
    let _ = bytes.try_reserve_exact(MAX_INPUT_BYTES + 1);
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
/// Streams the function's output to stdout; a closed pipe is a clean failure.
fn write_output(
    wrapper: Option<Node<'_>>,
    mode: Mode,
    items: &[Doc<'_>],
    reports: &[Report],
) -> Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    wire::write_to(&mut out, wrapper, mode, items, reports)
        .and_then(|()| out.flush())
        .context("cannot write stdout")
}

fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write stdout")
}

#[cfg(test)]
mod tests {
    /// The option `return_freed_pages` sets by its index is the purge delay: it reads as the
    /// purge delay's default (10 ms; mimalloc 2's neighbours default to 1 and 0) and then as 0.
    #[test]
    fn freed_pages_are_returned_at_once() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads one integer of mimalloc's options table (see `return_freed_pages`).
        let delay = || unsafe { libmimalloc_sys::mi_option_get(15) };
        assert_eq!(delay(), 10);
        super::return_freed_pages();
        assert_eq!(delay(), 0);
    }
}
