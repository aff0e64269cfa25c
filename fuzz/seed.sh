#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the project's YAML test data (idempotent; file names are
# content hashes, so re-running adds nothing twice). Run from anywhere.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
mkdir -p "$here/corpus/reader" "$here/corpus/pipeline"

add() { # add TARGET FILE-WITH-CONTENT
    local sum
    sum="$(sha1sum "$2" | cut -c1-16)"
    cp "$2" "$here/corpus/$1/seed-$sum"
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
while IFS= read -r -d '' f; do
    add reader "$f"
    # pipeline: first byte even = ResourceList mode on the rest.
    { printf '\x00'; cat "$f"; } > "$tmp/rl"
    add pipeline "$tmp/rl"
    # A golden case with config.yaml is plugin mode: odd byte, config, \n%%%\n, stdin.
    dir="$(dirname "$f")"
    if [[ "$(basename "$f")" == input.yaml && -f "$dir/config.yaml" ]]; then
        { printf '\x01'; cat "$dir/config.yaml"; printf '\n%%%%%%\n'; cat "$f"; } > "$tmp/plugin"
        add pipeline "$tmp/plugin"
    fi
done < <(find "$root/testdata" -name '*.yaml' -print0)
echo "corpus: $(ls "$here/corpus/reader" | wc -l) reader, $(ls "$here/corpus/pipeline" | wc -l) pipeline inputs"
