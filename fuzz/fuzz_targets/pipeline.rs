//! The whole function in-process, as `main.rs` runs it: wire::read → Policy::from_config →
//! run → wire::write. Never panics; when it succeeds, its output parses again.
//!
//! The first byte picks the mode: even → stdin is the rest (ResourceList mode, or an error);
//! odd → plugin mode, with the rest split at the first `\n%%%\n` into config and stdin.
#![no_main]

use envpolicy::config::Policy;
use envpolicy::parallel::Parallelism;
use envpolicy::run::run_with;
use envpolicy::wire;
use envpolicy::yaml::{parse_stream, Node};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (stdin, config) = if mode % 2 == 0 {
        (text, None)
    } else {
        match text.split_once("\n%%%\n") {
            Some((config, stdin)) => (stdin, Some(config)),
            None => (text, Some("apiVersion: envpolicy.dev/v1alpha1\nkind: EnvironmentPolicy\nspec: {environment: prod}\n")),
        }
    };
    let Ok(mut input) = wire::read(stdin, config) else {
        return;
    };
    let mode = input.mode;
    let function_config = input.function_config.as_ref().map(Node::to_json);
    let Ok(policy) = Policy::from_config(function_config.as_ref()) else {
        return;
    };
    // As main.rs runs it: items kept as text, new objects built when written.
    let Ok(done) = run_with(std::mem::take(&mut input.items), &policy, Parallelism::default()) else {
        return;
    };
    let wrapper = input.take_wrapper();
    let out = wire::write(wrapper, mode, done.items, &done.reports);
    if let Err(e) = parse_stream(&out) {
        panic!("the output does not parse: {e}\n--- input\n{stdin}\n--- output\n{out}");
    };
});
