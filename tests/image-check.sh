#!/usr/bin/env bash
# `make image-check`: the container image's build, without Docker.
#
# Reads functions/envpolicy/Dockerfile, copies what its build stage COPYs into
# target/image-check/context, runs the build stage's RUN there with the host's TARGETARCH
# (the same RUSTFLAGS and --target as in the image), and checks the result as kpt and
# kustomize will use it:
#   - the final stage is not scratch, runs as nobody, and its ENTRYPOINT is the binary;
#   - the binary is statically linked (`file`), so a distroless/static base can run it;
#   - `--help` exits 0 (kpt fn doc runs `docker run --rm IMAGE --help`);
#   - as a KRM function it transforms a ResourceList when run as nobody, with no network,
#     an empty environment and / as its directory (docker run --network none --user nobody).
set -euo pipefail
cd "$(dirname "$0")/.."

dockerfile=functions/envpolicy/Dockerfile
work=target/image-check
context=$work/context
started=$SECONDS

fail() { echo "image-check: $*" >&2; exit 1; }

# --- the Dockerfile, instruction by instruction (continuation lines joined) -----------------
# Docker drops comment and blank lines before it joins continuations; so does this.
mapfile -t instructions < <(awk '
  /^[[:space:]]*(#|$)/ { next }
  { line = $0; sub(/[[:space:]]+$/, "", line)
    if (line ~ /\\$/) { buf = buf substr(line, 1, length(line) - 1) " "; continued = 1; next }
    print buf line; buf = ""; continued = 0 }' "$dockerfile")

stage=0
build_copies=()
build_runs=()
final=()
for instruction in "${instructions[@]}"; do
  case "$instruction" in
    FROM\ *) stage=$((stage + 1)) ;;
  esac
  if [ "$stage" = 1 ]; then
    case "$instruction" in
      COPY\ --*) fail "unexpected COPY option in the build stage: $instruction" ;;
      COPY\ *) build_copies+=("${instruction#COPY }") ;;
      RUN\ *) build_runs+=("${instruction#RUN }") ;;
    esac
  elif [ "$stage" = 2 ]; then
    final+=("$instruction")
  fi
done
[ "$stage" = 2 ] || fail "$dockerfile: expected two stages (build and final), found $stage"
[ "${#build_runs[@]}" = 1 ] || fail "$dockerfile: expected one RUN in the build stage, found ${#build_runs[@]}"
[ "${#build_copies[@]}" -ge 1 ] || fail "$dockerfile: the build stage COPYs nothing"

# --- the final stage: what kpt and kustomize need from the image ------------------------------
has() { printf '%s\n' "${final[@]}" | grep -qxF -- "$1"; }
base=${final[0]#FROM }
case "$base" in
  scratch | scratch\ *) fail "the final stage is FROM scratch: --user nobody fails there (kpt#1628)" ;;
esac
has 'COPY --from=build /src/out/function /usr/local/bin/function' ||
  fail "$dockerfile: the final stage must COPY --from=build /src/out/function /usr/local/bin/function"
has 'USER nobody' || fail "$dockerfile: the final stage must say USER nobody"
has 'ENTRYPOINT ["/usr/local/bin/function"]' ||
  fail "$dockerfile: the ENTRYPOINT must be [\"/usr/local/bin/function\"] (exec form, no arguments)"
echo "image-check: final stage FROM $base, USER nobody, ENTRYPOINT /usr/local/bin/function"

# --- the build context: exactly what the build stage COPYs -------------------------------------
mkdir -p "$context"
for copy in "${build_copies[@]}"; do
  read -r -a words <<<"$copy"
  dest=${words[${#words[@]} - 1]}
  unset 'words[-1]'
  for source in "${words[@]}"; do
    [ -e "$source" ] || fail "$dockerfile copies $source, which does not exist"
    if [[ "$dest" == */ ]]; then target=$context/$dest$(basename "$source"); else target=$context/$dest; fi
    rm -rf "$target"
    mkdir -p "$(dirname "$target")"
    cp -a "$source" "$target" # -a keeps mtimes: cargo's fingerprints stay fresh between runs
  done
done

# --- the build stage's RUN, as Docker would run it (sh -c, in WORKDIR) -------------------------
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) fail "no TARGETARCH for $(uname -m)" ;;
esac
echo "image-check: TARGETARCH=$arch RUN ${build_runs[0]}"
(cd "$context" && env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET -u RUSTFLAGS TARGETARCH=$arch \
  sh -c "${build_runs[0]}")
binary=$context/out/function
[ -x "$binary" ] || fail "the build stage's RUN did not produce out/function"

# --- a static binary --------------------------------------------------------------------------
if ! command -v file >/dev/null; then
  echo "image-check: installing file"
  if [ "$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi
  $sudo apt-get update -qq && $sudo apt-get install -y -qq file >/dev/null
fi
kind=$(file -b "$binary")
echo "image-check: $kind"
case "$kind" in
  *"statically linked"* | *"static-pie linked"*) ;;
  *) fail "$binary is not statically linked: $kind" ;;
esac

# --- run it the way the image is run -----------------------------------------------------------
sandbox=$(mktemp -d)
trap 'rm -rf "$sandbox"' EXIT
chmod 0755 "$sandbox"
cp "$binary" "$sandbox/function"
as_container=(env -i)
if [ "$(id -u)" = 0 ]; then
  # docker run --network none --user nobody: no network namespace, uid and gid 65534.
  as_container=(unshare --net setpriv --reuid=65534 --regid=65534 --clear-groups env -i)
else
  echo "image-check: not root, so the binary runs as $(id -un) with network (not as nobody)"
fi

(cd / && "${as_container[@]}" "$sandbox/function" --help >"$sandbox/help.txt") ||
  fail "--help exited $? (kpt fn doc needs 0)"
[ -s "$sandbox/help.txt" ] || fail "--help printed nothing"
echo "image-check: --help exits 0 ($(head -n 1 "$sandbox/help.txt"))"

cat >"$sandbox/input.yaml" <<'EOF'
apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
    annotations:
      config.kubernetes.io/path: web.yaml
      config.kubernetes.io/index: '0'
  spec:
    replicas: 5
    selector:
      matchLabels: {app: web}
    template:
      metadata:
        labels: {app: web}
      spec:
        containers:
        - name: web
          image: nginx:1.27
functionConfig:
  apiVersion: v1
  kind: ConfigMap
  metadata:
    name: function-input
  data:
    environment: dev
EOF
(cd / && "${as_container[@]}" "$sandbox/function" <"$sandbox/input.yaml" >"$sandbox/output.yaml") ||
  fail "the KRM function exited $?: $(cat "$sandbox/output.yaml")"
for expected in 'kind: ResourceList' 'replicas: 1' 'preferredDuringSchedulingIgnoredDuringExecution' 'results:'; do
  grep -qF -- "$expected" "$sandbox/output.yaml" ||
    fail "the KRM function's output lacks '$expected':"$'\n'"$(cat "$sandbox/output.yaml")"
done
echo "image-check: as a KRM function (nobody, no network, empty environment): replicas 5 -> 1 for dev"
echo "image-check: ok in $((SECONDS - started))s"
