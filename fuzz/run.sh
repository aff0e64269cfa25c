#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20); exits non-zero if any target crashed.
#   fuzz/run.sh 20      # CI smoke
#   fuzz/run.sh 3600    # an hour per target
# Crashing inputs land in fuzz/artifacts/<target>/; reproduce one with
#   cargo fuzz run --sanitizer none <target> fuzz/artifacts/<target>/<file>   (from fuzz/)
# Works on stable Rust: libFuzzer's coverage instrumentation needs no nightly flag, and
# `--sanitizer none` avoids `-Zsanitizer` (envpolicy's library has no unsafe code; the unsafe in its
# compact string type, beef, is theirs and widely used).
set -uo pipefail
seconds="${1:-20}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz (crates.io)..."
    cargo install cargo-fuzz --locked || exit 2
fi
./seed.sh

# -a: debug assertions and overflow checks on, so arithmetic overflow is a crash too.
flags=(--sanitizer none --debug-assertions)
cargo fuzz build "${flags[@]}" || exit 2

# FUZZ_JOBS=N runs N fuzzing processes per target (libFuzzer then logs to fuzz-<n>.log).
parallel=()
if [[ "${FUZZ_JOBS:-1}" -gt 1 ]]; then
    parallel=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
fi
failed=()
for target in $(cargo fuzz list); do
    echo "=== $target: ${seconds}s"
    mkdir -p "artifacts/$target"
    if ! cargo fuzz run "${flags[@]}" "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=16384 \
        -dict=yaml.dict -print_final_stats=1 "${parallel[@]}" \
        -artifact_prefix="artifacts/$target/"; then
        failed+=("$target")
    fi
done
if ((${#failed[@]})); then
    echo "fuzz: crashes in: ${failed[*]} (see fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz: no crash in $(cargo fuzz list | wc -l) targets, ${seconds}s each"
