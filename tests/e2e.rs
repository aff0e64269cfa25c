//! End to end: the real `kubectl kustomize` and `kpt` run envpolicy on fresh copies of the
//! examples under `functions/envpolicy/examples`, and the tests check what they produce.
//!
//! - kustomize: the legacy exec plugin, installed in a temporary `KUSTOMIZE_PLUGIN_HOME`
//!   (kubectl has no `--enable-exec`, so this is the only exec path it runs).
//! - kpt: `fn eval --exec envpolicy` and `fn render --allow-exec`, with a temporary directory
//!   holding an `envpolicy` symlink put first on kpt's PATH.
//!
//! kubectl, kpt and git are required: a missing tool fails the test, it is never skipped.
//! Each test works in its own temporary directory. The zero-churn goldens are rewritten with
//! `UPDATE_GOLDEN=1 cargo test --test e2e zero_churn -- --test-threads=1` (one thread: two
//! tests write diff.patch and a third reads it); review them with `git diff functions/`.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// Tools, copies and runs.
// ---------------------------------------------------------------------------------------------

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("functions/envpolicy/examples")
}

/// The tool's path on PATH, or a failure that says what is missing: these tests never skip.
fn require(tool: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{tool}` is not on PATH. The end-to-end tests run the real tools \
                 (kubectl 1.32 with kustomize 5.5, kpt 1.0.0-beta.56, git) and fail without them; \
                 install {tool} or put it on PATH"
            )
        })
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("mkdir {}: {e}", to.display()));
    let entries = fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()));
    for entry in entries {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
        }
    }
}

/// A temporary workspace: a copy of one example, and the envpolicy binary where the tools
/// look for it (a symlink on PATH for kpt, a copy in the plugin home for kustomize).
struct Workspace {
    root: TempDir,
}

impl Workspace {
    /// Copies `examples/<example>` to `<tmp>/<last path component>`.
    fn new(example: &str) -> (Workspace, PathBuf) {
        let root = tempfile::tempdir().expect("temp dir");
        let source = examples().join(example);
        let name = source.file_name().expect("example name");
        let copy = root.path().join(name);
        copy_dir(&source, &copy);
        let bin = root.path().join("bin");
        fs::create_dir(&bin).expect("bin dir");
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_envpolicy"), bin.join("envpolicy"))
            .expect("symlink envpolicy");
        (Workspace { root }, copy)
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    /// PATH for kpt: our bin dir first, so `exec: envpolicy` finds the binary under test.
    fn path_env(&self) -> OsString {
        let mut dirs = vec![self.path().join("bin")];
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        std::env::join_paths(dirs).expect("PATH")
    }

    /// Installs the binary as a legacy kustomize exec plugin and returns the plugin home.
    fn plugin_home(&self) -> PathBuf {
        let home = self.path().join("plugins");
        let dir = home.join("envpolicy.dev/v1alpha1/environmentpolicy");
        fs::create_dir_all(&dir).expect("plugin dir");
        // A hard link where the file system allows one: a debug binary is ~100 MB per test.
        let (binary, installed) = (
            env!("CARGO_BIN_EXE_envpolicy"),
            dir.join("EnvironmentPolicy"),
        );
        fs::hard_link(binary, &installed)
            .or_else(|_| fs::copy(binary, &installed).map(drop))
            .expect("install plugin");
        home
    }

    fn kpt(&self, dir: &Path, args: &[&str]) -> Output {
        let mut cmd = Command::new(require("kpt"));
        cmd.args(args).current_dir(dir).env("PATH", self.path_env());
        run(cmd)
    }

    /// `kubectl kustomize --enable-alpha-plugins <overlay>` with envpolicy as the plugin.
    fn kustomize(&self, overlay: &Path) -> String {
        let mut cmd = Command::new(require("kubectl"));
        cmd.args(["kustomize", "--enable-alpha-plugins"])
            .arg(overlay)
            .env("KUSTOMIZE_PLUGIN_HOME", self.plugin_home());
        stdout(&succeed(cmd))
    }
}

fn run(mut cmd: Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn describe(cmd: &str, out: &Output) -> String {
    format!(
        "{cmd}: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn succeed(cmd: Command) -> Output {
    let shown = format!("{cmd:?}");
    let out = run(cmd);
    assert!(out.status.success(), "{}", describe(&shown, &out));
    out
}

fn check(out: &Output, what: &str) {
    assert!(out.status.success(), "{}", describe(what, out));
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

/// git with no user or system configuration, so diffs look the same everywhere.
fn git(dir: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(require("git"));
    cmd.args([
        "-c",
        "user.name=envpolicy e2e",
        "-c",
        "user.email=e2e@envpolicy.dev",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "core.autocrlf=false",
    ])
    .args(args)
    .current_dir(dir)
    .env("GIT_CONFIG_GLOBAL", "/dev/null")
    .env("GIT_CONFIG_NOSYSTEM", "1");
    stdout(&succeed(cmd))
}

fn git_commit_all(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
}

/// Every file under `dir` (except `.git`), relative path → bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let relative = path.strip_prefix(root).expect("relative").to_path_buf();
                files.insert(relative, fs::read(&path).expect("read file"));
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

/// Names the files that differ between two snapshots, with their new text.
fn assert_same_files(
    before: &BTreeMap<PathBuf, Vec<u8>>,
    after: &BTreeMap<PathBuf, Vec<u8>>,
    what: &str,
) {
    let mut changed = Vec::new();
    for path in before.keys().chain(after.keys()).collect::<BTreeSet<_>>() {
        let (old, new) = (before.get(path), after.get(path));
        if old != new {
            let text = new.map_or("(deleted)".into(), |b| String::from_utf8_lossy(b));
            changed.push(format!("{}:\n{text}", path.display()));
        }
    }
    assert!(
        changed.is_empty(),
        "{what} changed files:\n{}",
        changed.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Reading the output as kubectl would.
// ---------------------------------------------------------------------------------------------

/// The documents of a YAML stream, with types resolved by envpolicy's own reader.
fn docs(yaml: &str) -> Vec<Value> {
    envpolicy::yaml::parse_stream(yaml)
        .unwrap_or_else(|e| panic!("output is not YAML ({e}):\n{yaml}"))
        .iter()
        .map(envpolicy::yaml::Node::to_json)
        .collect()
}

fn file_docs(path: &Path) -> Vec<Value> {
    docs(&fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())))
}

fn find<'d>(docs: &'d [Value], kind: &str, name: &str) -> &'d Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| {
            let have: Vec<String> = docs
                .iter()
                .map(|d| format!("{} {}", d["kind"], d["metadata"]["name"]))
                .collect();
            panic!("no {kind} {name} in the output; it has {have:?}")
        })
}

fn of_kind<'d>(docs: &'d [Value], kind: &str) -> Vec<&'d Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn workloads(docs: &[Value]) -> Vec<&Value> {
    docs.iter()
        .filter(|d| d["kind"] == "Deployment" || d["kind"] == "StatefulSet")
        .collect()
}

fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or_default()
}

fn pod_anti_affinity(workload: &Value) -> &Value {
    &workload["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
}

/// The anti-affinity terms (required, and the `podAffinityTerm` of preferred ones) that select
/// exactly the workload's own pods, as envpolicy writes them.
fn own_terms<'w>(workload: &'w Value, list: &str) -> Vec<&'w Value> {
    let selector = &workload["spec"]["selector"];
    pod_anti_affinity(workload)[list]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|term| {
            let term = if list.starts_with("preferred") {
                &term["podAffinityTerm"]
            } else {
                term
            };
            term["labelSelector"] == *selector && term["topologyKey"] == "kubernetes.io/hostname"
        })
        .collect()
}

const REQUIRED: &str = "requiredDuringSchedulingIgnoredDuringExecution";
const PREFERRED: &str = "preferredDuringSchedulingIgnoredDuringExecution";

fn container<'w>(workload: &'w Value, container: &str) -> &'w Value {
    workload["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == container)
        .unwrap_or_else(|| panic!("no container {container} in {}", name(workload)))
}

fn env_value<'w>(workload: &'w Value, container_name: &str, var: &str) -> &'w Value {
    container(workload, container_name)["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == var)
        .map(|e| &e["value"])
        .unwrap_or_else(|| panic!("no env {var} in {}/{container_name}", name(workload)))
}

/// The user's own term in the base's api Deployment: keep api pods away from the cache's.
fn has_cache_term(api: &Value) -> bool {
    pod_anti_affinity(api)[PREFERRED]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| {
            t["weight"] == 50
                && t["podAffinityTerm"]["labelSelector"]["matchLabels"]["app.kubernetes.io/name"]
                    == "cache"
        })
}

/// The ConfigMap generated from `app-config` and the name web's envFrom refers to.
fn generated_config<'d>(docs: &'d [Value], prefix: &str) -> (&'d Value, String) {
    let maps = of_kind(docs, "ConfigMap");
    assert_eq!(maps.len(), 1, "one generated ConfigMap: {maps:?}");
    let map = maps[0];
    let map_name = name(map);
    let hash = map_name
        .strip_prefix(&format!("{prefix}app-config-"))
        .unwrap_or_else(|| panic!("{map_name} is not {prefix}app-config-<hash>"));
    assert!(
        hash.len() == 10 && hash.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{map_name}: the hash suffix is missing or malformed"
    );
    let web = find(docs, "Deployment", &format!("{prefix}web"));
    let reference = &container(web, "web")["envFrom"][0]["configMapRef"]["name"];
    assert_eq!(
        reference, map_name,
        "web's envFrom must refer to the hashed ConfigMap name"
    );
    (map, map_name.to_string())
}

/// The `envpolicy.dev/config-hash` annotation on the workload's pod template, if any.
fn config_hash(workload: &Value) -> Option<&str> {
    workload["spec"]["template"]["metadata"]["annotations"]["envpolicy.dev/config-hash"].as_str()
}

/// A config hash is a 64-bit hex fingerprint (envpolicy writes it as a string).
fn assert_config_hash(workload: &Value) -> &str {
    let hash = config_hash(workload).unwrap_or_else(|| {
        panic!(
            "{}: a ConfigMap it reads changed and keeps its name, so its pod template needs \
             envpolicy.dev/config-hash: {}",
            name(workload),
            workload["spec"]["template"]["metadata"]
        )
    });
    assert!(
        hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{}: config hash {hash:?} is not 16 hex digits",
        name(workload)
    );
    hash
}

// ---------------------------------------------------------------------------------------------
// The prod preset's production policies (issue #4): a drain-safe PodDisruptionBudget, a rollout
// strategy and a zone spread per Deployment and StatefulSet, all from one replica floor.
// ---------------------------------------------------------------------------------------------

const ZONE: &str = "topology.kubernetes.io/zone";

/// The effective replica floor: the fixed count, else the minReplicas of the HPA scaling it.
fn replica_floor(workload: &Value, hpas: &[&Value]) -> i64 {
    if let Some(fixed) = workload["spec"]["replicas"].as_i64() {
        return fixed;
    }
    let hpa = hpas
        .iter()
        .find(|h| {
            let target = &h["spec"]["scaleTargetRef"];
            target["kind"] == workload["kind"]
                && target["name"] == workload["metadata"]["name"]
                && h["metadata"]["namespace"] == workload["metadata"]["namespace"]
        })
        .unwrap_or_else(|| panic!("{}: no spec.replicas and no HPA", name(workload)));
    hpa["spec"]["minReplicas"].as_i64().unwrap_or(1)
}

/// Pods a PDB's minAvailable or maxUnavailable stands for at `floor` (percentages round up).
fn budget_pods(value: &Value, floor: i64) -> i64 {
    if let Some(n) = value.as_i64() {
        return n;
    }
    let percent: i64 = value
        .as_str()
        .and_then(|s| s.strip_suffix('%'))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("budget {value} is neither a count nor a percentage"));
    (floor * percent + 99) / 100
}

/// True when the budget lets at least one pod be evicted with `floor` pods running:
/// minAvailable below the floor, or maxUnavailable of at least one.
fn allows_a_disruption(spec: &Value, floor: i64) -> bool {
    if !spec["minAvailable"].is_null() {
        budget_pods(&spec["minAvailable"], floor) < floor
    } else {
        spec["maxUnavailable"].is_null() || budget_pods(&spec["maxUnavailable"], floor) >= 1
    }
}

/// The prod preset's budget: policy/v1, named after the workload and in its namespace, its
/// selector, `maxUnavailable: 1`, `AlwaysAllow` (kubernetesVersion defaults to 1.30), and a
/// node drain never blocked at the replica floor.
fn assert_drain_safe_pdb(pdb: &Value, workload: &Value, floor: i64) {
    let who = format!("PDB for {} {}", workload["kind"], name(workload));
    assert_eq!(pdb["apiVersion"], "policy/v1", "{who}");
    assert_eq!(pdb["kind"], "PodDisruptionBudget", "{who}");
    assert_eq!(
        pdb["metadata"]["name"], workload["metadata"]["name"],
        "{who}: named after the workload"
    );
    assert_eq!(
        pdb["metadata"]["namespace"], workload["metadata"]["namespace"],
        "{who}"
    );
    let spec = &pdb["spec"];
    assert_eq!(
        spec["selector"], workload["spec"]["selector"],
        "{who}: the workload's own selector"
    );
    assert_eq!(spec["maxUnavailable"], 1, "{who}: {spec}");
    assert!(spec["minAvailable"].is_null(), "{who}: {spec}");
    assert_eq!(
        spec["unhealthyPodEvictionPolicy"], "AlwaysAllow",
        "{who}: crash-looping pods must not block a drain"
    );
    assert!(
        allows_a_disruption(spec, floor),
        "{who} allows no voluntary disruption at a replica floor of {floor}: {spec}"
    );
}

/// Deployments roll out with maxSurge 1, maxUnavailable 0, unless required anti-affinity (one
/// pod per node) and `capacity.nodes` leave no node for the surge pod: then 0 and 1.
fn expected_rollout(floor: i64, required_anti_affinity: bool, nodes: Option<i64>) -> Value {
    match nodes {
        Some(nodes) if required_anti_affinity && floor + 1 > nodes => {
            serde_json::json!({"maxSurge": 0, "maxUnavailable": 1})
        }
        _ => serde_json::json!({"maxSurge": 1, "maxUnavailable": 0}),
    }
}

/// Deployments: `strategy.rollingUpdate` per [`expected_rollout`]; StatefulSets:
/// `updateStrategy.type: RollingUpdate`.
fn assert_rollout(workload: &Value, floor: i64, nodes: Option<i64>) {
    let who = format!("{} {}", workload["kind"], name(workload));
    if workload["kind"] == "StatefulSet" {
        assert_eq!(
            workload["spec"]["updateStrategy"],
            serde_json::json!({"type": "RollingUpdate"}),
            "{who}"
        );
        return;
    }
    assert_eq!(workload["kind"], "Deployment", "{who}");
    let strategy = &workload["spec"]["strategy"];
    assert!(
        strategy["type"].is_null() || strategy["type"] == "RollingUpdate",
        "{who}: {strategy}"
    );
    let required = own_terms(workload, REQUIRED).len() == 1;
    assert_eq!(
        strategy["rollingUpdate"],
        expected_rollout(floor, required, nodes),
        "{who}: replica floor {floor}, required anti-affinity {required}, capacity.nodes {nodes:?}"
    );
}

/// One constraint over zones for the workload's own pods: maxSkew 1, DoNotSchedule, its
/// selector, and `matchLabelKeys: [pod-template-hash]` for Deployments (old and new
/// ReplicaSets spread separately; StatefulSet pods have no such label).
fn assert_zone_spread(workload: &Value) {
    let who = format!("{} {}", workload["kind"], name(workload));
    let zone: Vec<&Value> = workload["spec"]["template"]["spec"]["topologySpreadConstraints"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["topologyKey"] == ZONE)
        .collect();
    assert_eq!(zone.len(), 1, "{who}: one zone constraint: {zone:?}");
    let mut expected = serde_json::json!({
        "maxSkew": 1,
        "topologyKey": ZONE,
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": workload["spec"]["selector"],
    });
    if workload["kind"] == "Deployment" {
        expected["matchLabelKeys"] = serde_json::json!(["pod-template-hash"]);
    }
    assert_eq!(*zone[0], expected, "{who}");
}

/// Issue #4 on a whole kustomize build: one PDB per Deployment and StatefulSet (and no other),
/// and each workload's budget, rollout and spread per the rules.
fn assert_prod_policies(out: &[Value], nodes: Option<i64>) {
    let all = workloads(out);
    let hpas = of_kind(out, "HorizontalPodAutoscaler");
    let pdbs = of_kind(out, "PodDisruptionBudget");
    let budgeted: BTreeSet<&str> = pdbs.iter().map(|p| name(p)).collect();
    let expected: BTreeSet<&str> = all.iter().map(|w| name(w)).collect();
    assert_eq!(budgeted, expected, "one PDB per workload: {pdbs:?}");
    for pdb in &pdbs {
        let floor = all
            .iter()
            .find(|w| w["metadata"]["name"] == pdb["metadata"]["name"])
            .map_or(1, |w| replica_floor(w, &hpas));
        assert!(
            allows_a_disruption(&pdb["spec"], floor),
            "{} blocks every drain at a floor of {floor}",
            name(pdb)
        );
    }
    for w in &all {
        let floor = replica_floor(w, &hpas);
        assert_drain_safe_pdb(find(out, "PodDisruptionBudget", name(w)), w, floor);
        assert_rollout(w, floor, nodes);
        assert_zone_spread(w);
    }
}

// ---------------------------------------------------------------------------------------------
// kubectl kustomize: the legacy exec plugin.
// ---------------------------------------------------------------------------------------------

fn kustomize_overlay(overlay: &str) -> Vec<Value> {
    let (ws, copy) = Workspace::new("kustomize");
    docs(&ws.kustomize(&copy.join("overlays").join(overlay)))
}

#[test]
fn kustomize_dev_overlay_has_one_replica_a_preferred_spread_and_debug_logs() {
    let out = kustomize_overlay("dev");
    let all = workloads(&out);
    assert_eq!(all.len(), 3, "web, api and db");
    for w in &all {
        let who = format!("{} {}", w["kind"], name(w));
        assert_eq!(w["metadata"]["namespace"], "dev", "{who}");
        assert_eq!(w["spec"]["replicas"], 1, "{who}: dev preset replicas");
        let ours = own_terms(w, PREFERRED);
        assert_eq!(ours.len(), 1, "{who}: one preferred term for its own pods");
        assert_eq!(ours[0]["weight"], 100, "{who}");
        assert!(
            pod_anti_affinity(w)[REQUIRED].is_null(),
            "{who}: dev must not require anti-affinity"
        );
    }
    assert!(has_cache_term(find(&out, "Deployment", "api")));
    let web = find(&out, "Deployment", "web");
    assert_eq!(env_value(web, "web", "LOG_LEVEL"), "debug");
    let (config, _) = generated_config(&out, "");
    assert_eq!(config["data"]["LOG_LEVEL"], "debug");
    assert!(of_kind(&out, "HorizontalPodAutoscaler").is_empty());
}

#[test]
fn kustomize_staging_overlay_has_two_replicas_and_info_logs_in_env_and_configmap() {
    let out = kustomize_overlay("staging");
    for w in workloads(&out) {
        assert_eq!(w["spec"]["replicas"], 2, "{}", name(w));
        assert_eq!(own_terms(w, PREFERRED).len(), 1, "{}", name(w));
    }
    assert_eq!(
        env_value(find(&out, "Deployment", "web"), "web", "LOG_LEVEL"),
        "info"
    );
    // kustomize hashes the ConfigMap after the transformers: the hash follows the new content.
    let (config, staging_name) = generated_config(&out, "");
    assert_eq!(config["data"]["LOG_LEVEL"], "info");
    let (_, dev_name) = generated_config(&kustomize_overlay("dev"), "");
    assert_ne!(
        staging_name, dev_name,
        "different content must give a different hash"
    );
    assert!(of_kind(&out, "HorizontalPodAutoscaler").is_empty());
}

#[test]
fn kustomize_prod_overlay_has_hpas_required_spread_overrides_and_info_logs() {
    let out = kustomize_overlay("prod");
    let all = workloads(&out);
    let names: BTreeSet<&str> = all.iter().map(|w| name(w)).collect();
    assert_eq!(names, BTreeSet::from(["prod-web", "prod-api", "prod-db"]));
    for w in &all {
        let who = name(w);
        assert_eq!(w["metadata"]["namespace"], "prod", "{who}");
        assert_eq!(
            own_terms(w, REQUIRED).len(),
            1,
            "{who}: required anti-affinity on its own selector"
        );
        assert!(
            own_terms(w, PREFERRED).is_empty(),
            "{who}: no preferred term of envpolicy's in prod"
        );
    }
    // Overrides: api and db keep a fixed count (and so get no HPA); web is autoscaled.
    assert_eq!(find(&out, "Deployment", "prod-api")["spec"]["replicas"], 4);
    assert_eq!(find(&out, "StatefulSet", "prod-db")["spec"]["replicas"], 3);
    let web = find(&out, "Deployment", "prod-web");
    assert!(
        web["spec"]["replicas"].is_null(),
        "an HPA owns prod-web's count: {}",
        web["spec"]
    );

    // One HPA per workload without spec.replicas, in its namespace, aimed at the prefixed name.
    let hpas = of_kind(&out, "HorizontalPodAutoscaler");
    let autoscaled: BTreeSet<&str> = all
        .iter()
        .filter(|w| w["spec"]["replicas"].is_null())
        .map(|w| name(w))
        .collect();
    let scaled: BTreeSet<&str> = hpas
        .iter()
        .map(|h| h["spec"]["scaleTargetRef"]["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(scaled, autoscaled, "HPAs: {hpas:?}");
    for hpa in &hpas {
        let target = &hpa["spec"]["scaleTargetRef"];
        let workload = all
            .iter()
            .find(|w| w["metadata"]["name"] == target["name"])
            .expect("target exists");
        assert_eq!(hpa["apiVersion"], "autoscaling/v2");
        assert_eq!(hpa["metadata"]["name"], target["name"], "named after it");
        assert_eq!(hpa["metadata"]["namespace"], "prod");
        assert_eq!(target["kind"], workload["kind"]);
        assert_eq!(target["apiVersion"], workload["apiVersion"]);
        assert_eq!(hpa["spec"]["minReplicas"], 3, "prod preset");
        assert_eq!(hpa["spec"]["maxReplicas"], 6, "tuned in envpolicy.yaml");
        let annotations = &hpa["metadata"]["annotations"];
        assert!(
            annotations.is_null(),
            "kustomize strips build annotations: {annotations}"
        );
    }

    // The api team's own term survives next to envpolicy's.
    assert!(has_cache_term(find(&out, "Deployment", "prod-api")));
    assert_eq!(env_value(web, "web", "LOG_LEVEL"), "info");
    generated_config(&out, "prod-");
    // kustomize renames the generated ConfigMap by content, which rolls web's pods: no hash.
    for w in &all {
        assert_eq!(config_hash(w), None, "{}", name(w));
    }
    // Nothing of kustomize's build machinery, or of the function config, leaks out.
    for doc in &out {
        let annotations = doc["metadata"]["annotations"].as_object();
        for key in annotations.into_iter().flat_map(|a| a.keys()) {
            assert!(
                !key.starts_with("internal.config.kubernetes.io/")
                    && !key.starts_with("kustomize.config.k8s.io/")
                    && key != "config.kubernetes.io/local-config",
                "{} {} keeps {key}",
                doc["kind"],
                name(doc)
            );
        }
    }
}

/// Issue #4, done when: the prod preset gives each Deployment and StatefulSet a drain-safe PDB on
/// its own selector, a rollout strategy and a zone spread. prod-web's floor is its HPA's
/// minReplicas (3), prod-api's and prod-db's their fixed counts (4 and 3).
#[test]
fn kustomize_prod_overlay_gives_each_workload_a_drain_safe_pdb_a_rollout_and_a_zone_spread() {
    let out = kustomize_overlay("prod");
    assert_prod_policies(&out, None);
    // Spelled out for one of each kind.
    let pdb = find(&out, "PodDisruptionBudget", "prod-web");
    assert_eq!(
        pdb["spec"],
        serde_json::json!({
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "web"}},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        })
    );
    assert_eq!(
        find(&out, "Deployment", "prod-api")["spec"]["strategy"],
        serde_json::json!({"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    );
    let db = find(&out, "StatefulSet", "prod-db");
    assert_eq!(db["spec"]["updateStrategy"]["type"], "RollingUpdate");
    assert!(
        db["spec"]["template"]["spec"]["topologySpreadConstraints"][0]["matchLabelKeys"].is_null(),
        "StatefulSet pods have no pod-template-hash"
    );
}

/// `capacity: {nodes: 3}` with required anti-affinity (one pod per node): web's fixed 3
/// replicas fill the nodes, so a surge pod would stay Pending and the rollout stall; envpolicy
/// writes maxSurge 0, maxUnavailable 1. api's 2 replicas leave a node free and keep 1/0.
#[test]
fn kustomize_prod_small_cluster_overlay_drops_the_surge_where_anti_affinity_leaves_no_node() {
    let out = kustomize_overlay("prod-small-cluster");
    assert!(
        of_kind(&out, "HorizontalPodAutoscaler").is_empty(),
        "fixed counts, no HPA"
    );
    for w in workloads(&out) {
        assert_eq!(own_terms(w, REQUIRED).len(), 1, "{}", name(w));
    }
    assert_prod_policies(&out, Some(3));
    let web = find(&out, "Deployment", "web");
    assert_eq!(web["spec"]["replicas"], 3);
    assert_eq!(
        web["spec"]["strategy"]["rollingUpdate"],
        serde_json::json!({"maxSurge": 0, "maxUnavailable": 1}),
        "3 replicas on 3 nodes leave no node for a surge pod"
    );
    let api = find(&out, "Deployment", "api");
    assert_eq!(api["spec"]["replicas"], 2);
    assert_eq!(
        api["spec"]["strategy"]["rollingUpdate"],
        serde_json::json!({"maxSurge": 1, "maxUnavailable": 0}),
        "2 replicas leave a node for the surge pod"
    );
    let db = find(&out, "StatefulSet", "db");
    assert_eq!(db["spec"]["replicas"], 3);
    assert_eq!(db["spec"]["updateStrategy"]["type"], "RollingUpdate");
    // A budget of one pod at a time still lets a drain through at the floor.
    assert_eq!(
        find(&out, "PodDisruptionBudget", "web")["spec"]["maxUnavailable"],
        1
    );

    // The legacy plugin reports nothing short of an error, so the reason is read from kpt's
    // results, with the same policy on the base.
    let (ws, copy) = Workspace::new("kustomize");
    let results = ws.path().join("results");
    check(
        &ws.kpt(
            &copy,
            &[
                "fn",
                "eval",
                "--exec",
                "envpolicy",
                "--fn-config",
                "overlays/prod-small-cluster/envpolicy.yaml",
                "--results-dir",
                results.to_str().expect("UTF-8 path"),
                "base",
            ],
        ),
        "kpt fn eval on the base with the small-cluster policy",
    );
    let list = file_docs(&results.join("results.yaml"));
    let reported = list[0]["items"][0]["results"].as_array().expect("results");
    let stalls: Vec<&Value> = reported
        .iter()
        .filter(|r| r["field"]["path"] == "spec.strategy.rollingUpdate")
        .collect();
    assert_eq!(stalls.len(), 1, "only web has no room to surge: {stalls:?}");
    let stall = stalls[0];
    assert_eq!(stall["severity"], "warning");
    assert_eq!(stall["resourceRef"]["name"], "web");
    let message = stall["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("capacity.nodes is 3")
            && message.contains("maxSurge: 0, maxUnavailable: 1"),
        "the warning says why: {message}"
    );
    let base_web = file_docs(&copy.join("base/web.yaml"));
    assert_eq!(
        find(&base_web, "Deployment", "web")["spec"]["strategy"]["rollingUpdate"],
        serde_json::json!({"maxSurge": 0, "maxUnavailable": 1})
    );
}

/// The drain check above must be able to fail: budgets that block every drain at the floor.
#[test]
fn the_drain_check_recognises_budgets_that_block_every_drain() {
    use serde_json::json;
    assert!(!allows_a_disruption(&json!({"minAvailable": 3}), 3));
    assert!(!allows_a_disruption(&json!({"minAvailable": "60%"}), 2));
    assert!(!allows_a_disruption(&json!({"maxUnavailable": 0}), 5));
    assert!(!allows_a_disruption(&json!({"maxUnavailable": "0%"}), 5));
    assert!(allows_a_disruption(&json!({"minAvailable": 2}), 3));
    assert!(allows_a_disruption(&json!({"minAvailable": "50%"}), 3));
    assert!(allows_a_disruption(&json!({"maxUnavailable": "10%"}), 5));
    assert!(allows_a_disruption(&json!({"maxUnavailable": 1}), 1));
}

/// Under `namePrefix`, kustomize hands the plugin `prod-app-config` while web's envFrom still
/// says `app-config` (references are fixed after the transformers; the old name is in the
/// `internal.config.kubernetes.io/previousNames` annotation). The log level must reach the
/// ConfigMap anyway, exactly as in the staging overlay, which has no prefix.
#[test]
fn kustomize_prod_overlay_sets_the_log_level_in_the_prefixed_generated_configmap() {
    let out = kustomize_overlay("prod");
    let (config, prod_name) = generated_config(&out, "prod-");
    assert_eq!(
        config["data"]["LOG_LEVEL"], "info",
        "prod-app-config still has the base's log level; the envFrom reference refers to it \
         by its pre-prefix name app-config"
    );
    // Same content as the hand-written prod overlay: same hash.
    let (ws, copy) = Workspace::new("kustomize");
    let patches = docs(&ws.kustomize(&copy.join("overlays/prod-patches")));
    let (_, patched_name) = generated_config(&patches, "prod-");
    assert_eq!(prod_name, patched_name);
}

/// The same problem without kubectl: the plugin's stdin as kustomize sends it under a
/// `namePrefix` (`tests/e2e/prefixed-configmap`). The ConfigMap web reads must get the log level.
#[test]
fn plugin_mode_sets_the_log_level_in_a_configmap_referred_to_by_its_previous_name() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/prefixed-configmap");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_envpolicy"));
    cmd.arg(case.join("config.yaml"))
        .stdin(fs::File::open(case.join("input.yaml")).expect("input.yaml"));
    let out = docs(&stdout(&succeed(cmd)));
    assert_eq!(
        find(&out, "ConfigMap", "prod-app-config")["data"]["LOG_LEVEL"],
        "info",
        "prod-app-config is app-config (internal.config.kubernetes.io/previousNames), which \
         prod-web reads through envFrom"
    );
}

/// overlays/prod-patches is the hand-written twin of overlays/prod (the benchmark compares
/// them). The generated ConfigMap and its references are left to the test above.
#[test]
fn kustomize_prod_patches_overlay_builds_the_same_objects_without_plugins() {
    let (ws, copy) = Workspace::new("kustomize");
    let mut cmd = Command::new(require("kubectl"));
    cmd.arg("kustomize").arg(copy.join("overlays/prod-patches"));
    let patched = stdout(&succeed(cmd));
    let with_envpolicy = ws.kustomize(&copy.join("overlays/prod"));
    let comparable = |yaml: &str| -> BTreeMap<String, Value> {
        docs(yaml)
            .into_iter()
            .filter(|d| d["kind"] != "ConfigMap")
            .map(|mut d| {
                if d["kind"] == "Deployment" && d["metadata"]["name"] == "prod-web" {
                    d["spec"]["template"]["spec"]["containers"][0]["envFrom"] = Value::Null;
                }
                (format!("{} {}", d["kind"], d["metadata"]["name"]), d)
            })
            .collect()
    };
    let (patched, with_envpolicy) = (comparable(&patched), comparable(&with_envpolicy));
    assert_eq!(
        patched.keys().collect::<Vec<_>>(),
        with_envpolicy.keys().collect::<Vec<_>>()
    );
    for (id, object) in &patched {
        assert_eq!(
            object, &with_envpolicy[id],
            "{id} differs between prod-patches and prod"
        );
    }
}

#[test]
fn kubectl_kustomize_refuses_the_plugin_without_enable_alpha_plugins() {
    let (ws, copy) = Workspace::new("kustomize");
    let mut cmd = Command::new(require("kubectl"));
    cmd.arg("kustomize")
        .arg(copy.join("overlays/prod"))
        .env("KUSTOMIZE_PLUGIN_HOME", ws.plugin_home());
    let out = run(cmd);
    assert!(!out.status.success(), "{}", describe("kubectl", &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("external plugins disabled")
            && stderr.contains("unable to load external plugin 'EnvironmentPolicy'"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// kpt fn eval.
// ---------------------------------------------------------------------------------------------

/// `replicas=4` on top of the prod preset: an explicit count switches autoscaling off.
#[test]
fn kpt_eval_with_arguments_writes_the_package_and_reports_field_paths() {
    let (ws, pkg) = Workspace::new("kpt/envpolicy-simple");
    let results = ws.path().join("results");
    let out = ws.kpt(
        &pkg,
        &[
            "fn",
            "eval",
            "--exec",
            "envpolicy",
            "--results-dir",
            results.to_str().expect("UTF-8 path"),
            ".",
            "--",
            "environment=prod",
            "replicas=4",
        ],
    );
    check(&out, "kpt fn eval");

    let deployments = file_docs(&pkg.join("web/deployment.yaml"));
    let web = find(&deployments, "Deployment", "web");
    let workers = file_docs(&pkg.join("worker/deployment.yaml"));
    let worker = find(&workers, "Deployment", "worker");
    for w in [web, worker] {
        assert_eq!(w["spec"]["replicas"], 4, "{}", name(w));
        assert_eq!(own_terms(w, REQUIRED).len(), 1, "{}", name(w));
    }
    assert_eq!(env_value(web, "web", "LOG_LEVEL"), "info");
    assert_eq!(
        find(&workers, "ConfigMap", "worker-config")["data"]["log-level"],
        "info"
    );
    let files: Vec<PathBuf> = snapshot(&pkg).into_keys().collect();
    assert!(
        !files
            .iter()
            .any(|f| f.to_string_lossy().contains("hpa") || f.starts_with("shop")),
        "a fixed count means no HPA: {files:?}"
    );
    // Still prod: a budget beside each workload at a floor of 4, a surge-only rollout, a zone
    // spread; worker's ConfigMap changed in place, so its pods get the content hash.
    for (w, dir) in [(web, "web"), (worker, "worker")] {
        let pdbs = file_docs(&pkg.join(format!("{dir}/pdb-{dir}.yaml")));
        assert_eq!(pdbs.len(), 1, "{dir}/pdb-{dir}.yaml");
        assert_drain_safe_pdb(&pdbs[0], w, 4);
        assert_rollout(w, 4, None);
        assert_zone_spread(w);
    }
    assert_config_hash(worker);
    assert_eq!(config_hash(web), None, "web reads no ConfigMap");
    let text = fs::read_to_string(pkg.join("web/deployment.yaml")).expect("read");
    assert!(
        text.contains("# Read at startup; envpolicy sets it per environment."),
        "comments survive:\n{text}"
    );

    let list = file_docs(&results.join("results.yaml"));
    assert_eq!(list[0]["kind"], "FunctionResultList");
    assert_eq!(list[0]["exitCode"], 0);
    let reported = list[0]["items"][0]["results"].as_array().expect("results");
    let replicas = reported
        .iter()
        .find(|r| r["resourceRef"]["name"] == "web" && r["field"]["path"] == "spec.replicas")
        .unwrap_or_else(|| panic!("no spec.replicas result for web: {reported:?}"));
    assert_eq!(replicas["severity"], "info");
    assert_eq!(replicas["field"]["currentValue"], 1);
    assert_eq!(replicas["field"]["proposedValue"], 4);
    assert_eq!(replicas["file"]["path"], "web/deployment.yaml");
    assert!(reported.iter().any(|r| r["field"]["path"]
        == "spec.template.spec.containers[name=web].env[name=LOG_LEVEL].value"
        && r["field"]["proposedValue"] == "info"));
    assert!(
        reported
            .iter()
            .any(|r| r["resourceRef"]["kind"] == "ConfigMap"
                && r["field"]["path"] == "data.log-level")
    );
    let created = reported
        .iter()
        .find(|r| {
            r["resourceRef"]["kind"] == "PodDisruptionBudget" && r["resourceRef"]["name"] == "web"
        })
        .unwrap_or_else(|| panic!("no result for web's PDB: {reported:?}"));
    assert_eq!(created["severity"], "info");
    assert_eq!(created["resourceRef"]["apiVersion"], "policy/v1");
    assert_eq!(created["file"]["path"], "web/pdb-web.yaml");
    // Checks warn without failing the run: web's container has no liveness probe.
    assert!(
        reported.iter().any(|r| r["severity"] == "warning"
            && r["resourceRef"]["name"] == "web"
            && r["field"]["path"] == "spec.template.spec.containers[name=web].livenessProbe"),
        "prod warns about missing probes: {reported:?}"
    );
}

#[test]
fn kpt_eval_with_an_fn_config_file_applies_its_overrides() {
    let (ws, pkg) = Workspace::new("kpt/envpolicy-fn-config");
    let before = snapshot(&pkg);
    let out = ws.kpt(
        &pkg,
        &[
            "fn",
            "eval",
            "--exec",
            "envpolicy",
            "--fn-config",
            "envpolicy.yaml",
            ".",
        ],
    );
    check(&out, "kpt fn eval --fn-config");
    let api_file = file_docs(&pkg.join("manifests/api.yaml"));
    let api = find(&api_file, "Deployment", "checkout-api");
    assert!(api["spec"]["replicas"].is_null(), "{}", api["spec"]);
    assert_eq!(
        container(api, "api")["resources"]["requests"],
        serde_json::json!({"cpu": "300m", "memory": "384Mi"})
    );
    let hpa_file = file_docs(&pkg.join("manifests/hpa-checkout-api.yaml"));
    let hpa = find(&hpa_file, "HorizontalPodAutoscaler", "checkout-api");
    assert_eq!(hpa["metadata"]["namespace"], "checkout");
    assert_eq!(hpa["spec"]["minReplicas"], 2);
    assert_eq!(hpa["spec"]["maxReplicas"], 8);
    let metrics = hpa["spec"]["metrics"].as_array().expect("metrics");
    assert_eq!(metrics.len(), 1, "memoryUtilization: 0 leaves memory out");
    assert_eq!(metrics[0]["resource"]["name"], "cpu");

    let cache_file = file_docs(&pkg.join("manifests/cache.yaml"));
    let cache = find(&cache_file, "StatefulSet", "checkout-cache");
    assert_eq!(cache["spec"]["replicas"], 3);
    let spread = own_terms(cache, PREFERRED);
    assert_eq!(spread.len(), 1);
    assert_eq!(spread[0]["weight"], 80);
    assert_eq!(
        find(&cache_file, "ConfigMap", "checkout-cache-config")["data"]["logLevel"],
        "INFO"
    );

    // Outside the selector, and the config itself: byte for byte as they were.
    let after = snapshot(&pkg);
    for file in ["manifests/legacy.yaml", "envpolicy.yaml", "Kptfile"] {
        assert_eq!(
            before[Path::new(file)],
            after[Path::new(file)],
            "{file} changed"
        );
    }
}

#[test]
fn kpt_eval_with_a_misspelt_field_fails_names_it_and_writes_nothing() {
    let (ws, pkg) = Workspace::new("kpt/envpolicy-simple");
    let before = snapshot(&pkg);
    let out = ws.kpt(
        &pkg,
        &[
            "fn",
            "eval",
            "--exec",
            "envpolicy",
            ".",
            "--",
            "environment=prod",
            "replica=3",
        ],
    );
    assert!(!out.status.success(), "{}", describe("kpt fn eval", &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[FAIL]")
            && stderr.contains("data.replica: unknown field `replica`")
            && stderr.contains("`replicas`"),
        "the error names the field and the right spelling:\n{stderr}"
    );
    assert_same_files(&before, &snapshot(&pkg), "a failed kpt fn eval");
}

#[test]
fn kpt_render_with_a_misspelt_field_in_the_kptfile_fails_and_writes_nothing() {
    let (ws, pkg) = Workspace::new("kpt/envpolicy-simple");
    let kptfile = pkg.join("Kptfile");
    let text = fs::read_to_string(&kptfile).expect("Kptfile");
    let broken = text.replace(
        "      environment: prod\n",
        "      environment: prod\n      replica: \"3\"\n",
    );
    assert_ne!(
        text, broken,
        "the Kptfile's configMap moved; update this test"
    );
    fs::write(&kptfile, broken).expect("write Kptfile");
    let before = snapshot(&pkg);
    let out = ws.kpt(&pkg, &["fn", "render", "--allow-exec", "."]);
    assert!(!out.status.success(), "{}", describe("kpt fn render", &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("data.replica: unknown field"), "{stderr}");
    assert_same_files(&before, &snapshot(&pkg), "a failed kpt fn render");
}

// ---------------------------------------------------------------------------------------------
// kpt fn render.
// ---------------------------------------------------------------------------------------------

/// The text of every comment in the package's YAML files (everything from `#` on).
fn comments(files: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    for (path, bytes) in files {
        if path.extension().is_none_or(|e| e != "yaml") && path.as_os_str() != "Kptfile" {
            continue;
        }
        for line in String::from_utf8_lossy(bytes).lines() {
            if let Some(at) = line.find('#') {
                found.push((path.clone(), line[at..].to_string()));
            }
        }
    }
    found
}

/// A workload the prod preset gives generated objects in a kpt package.
struct Owner {
    /// Its file; the generated files go in the same directory.
    file: &'static str,
    kind: &'static str,
    name: &'static str,
    /// True when an HPA owns its count (written as `hpa-<name>.yaml`).
    autoscaled: bool,
}

impl Owner {
    fn beside(&self, prefix: &str) -> PathBuf {
        Path::new(self.file).with_file_name(format!("{prefix}-{}.yaml", self.name))
    }
}

/// The documents of `file` in a snapshot.
fn snapshot_docs(files: &BTreeMap<PathBuf, Vec<u8>>, file: impl AsRef<Path>) -> Vec<Value> {
    let file = file.as_ref();
    let bytes = files
        .get(file)
        .unwrap_or_else(|| panic!("no {} in the package", file.display()));
    docs(&String::from_utf8_lossy(bytes))
}

/// Renders a prod package twice. The first run writes an HPA (autoscaled workloads) and a PDB
/// (every Deployment and StatefulSet) beside each workload, without kpt's path annotations,
/// gives each workload its rollout and zone spread, and keeps every comment; the second run
/// changes no byte.
fn render_twice(example: &str, owners: &[Owner]) -> BTreeMap<PathBuf, Vec<u8>> {
    let (ws, pkg) = Workspace::new(example);
    let original = snapshot(&pkg);
    check(
        &ws.kpt(&pkg, &["fn", "render", "--allow-exec", "."]),
        "kpt fn render",
    );
    let first = snapshot(&pkg);

    let new_files: BTreeSet<&PathBuf> = first
        .keys()
        .filter(|f| !original.contains_key(*f))
        .collect();
    let expected_files: BTreeSet<PathBuf> = owners
        .iter()
        .flat_map(|o| {
            let hpa = o.autoscaled.then(|| o.beside("hpa"));
            hpa.into_iter().chain([o.beside("pdb")])
        })
        .collect();
    assert_eq!(
        new_files,
        expected_files.iter().collect(),
        "HPA and PDB files beside their workloads"
    );
    for file in &expected_files {
        let text = String::from_utf8_lossy(&first[file]);
        assert!(
            !text.contains("config.kubernetes.io"),
            "kpt strips the path annotations from what it writes:\n{text}"
        );
    }
    for owner in owners {
        let owner_docs = snapshot_docs(&first, owner.file);
        let target = find(&owner_docs, owner.kind, owner.name);
        let mut hpas = Vec::new();
        if owner.autoscaled {
            let hpa_docs = snapshot_docs(&first, owner.beside("hpa"));
            assert_eq!(hpa_docs.len(), 1, "{}", owner.beside("hpa").display());
            let hpa = hpa_docs[0].clone();
            assert_eq!(hpa["kind"], "HorizontalPodAutoscaler");
            assert_eq!(hpa["metadata"]["name"], owner.name);
            assert_eq!(
                hpa["metadata"]["namespace"],
                target["metadata"]["namespace"]
            );
            assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], owner.name);
            assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], owner.kind);
            assert!(target["spec"]["replicas"].is_null(), "{}", owner.name);
            hpas.push(hpa);
        }
        let floor = replica_floor(target, &hpas.iter().collect::<Vec<_>>());
        let pdb_docs = snapshot_docs(&first, owner.beside("pdb"));
        assert_eq!(pdb_docs.len(), 1, "{}", owner.beside("pdb").display());
        assert_drain_safe_pdb(&pdb_docs[0], target, floor);
        assert_rollout(target, floor, None);
        assert_zone_spread(target);
    }
    let rendered = comments(&first);
    for comment in comments(&original) {
        assert!(
            rendered.contains(&comment),
            "comment lost in {}: {}",
            comment.0.display(),
            comment.1
        );
    }

    check(
        &ws.kpt(&pkg, &["fn", "render", "--allow-exec", "."]),
        "second kpt fn render",
    );
    assert_same_files(&first, &snapshot(&pkg), "a second kpt fn render");
    first
}

#[test]
fn kpt_render_simple_writes_hpas_and_pdbs_beside_workloads_keeps_comments_and_is_idempotent() {
    let rendered = render_twice(
        "kpt/envpolicy-simple",
        &[
            Owner {
                file: "web/deployment.yaml",
                kind: "Deployment",
                name: "web",
                autoscaled: true,
            },
            Owner {
                file: "worker/deployment.yaml",
                kind: "Deployment",
                name: "worker",
                autoscaled: true,
            },
        ],
    );
    let text = String::from_utf8_lossy(&rendered[Path::new("worker/deployment.yaml")]);
    assert!(
        text.contains("log-level: info # envpolicy rewrites this key"),
        "{text}"
    );
    // worker-config keeps its name when its log level changes: the hash rolls worker's pods.
    let workers = snapshot_docs(&rendered, "worker/deployment.yaml");
    assert_config_hash(find(&workers, "Deployment", "worker"));
    let webs = snapshot_docs(&rendered, "web/deployment.yaml");
    assert_eq!(
        config_hash(find(&webs, "Deployment", "web")),
        None,
        "web reads no ConfigMap"
    );
}

#[test]
fn kpt_render_fn_config_writes_hpas_and_pdbs_beside_workloads_keeps_comments_and_is_idempotent() {
    let rendered = render_twice(
        "kpt/envpolicy-fn-config",
        &[
            Owner {
                file: "manifests/api.yaml",
                kind: "Deployment",
                name: "checkout-api",
                autoscaled: true,
            },
            Owner {
                file: "manifests/cache.yaml",
                kind: "StatefulSet",
                name: "checkout-cache",
                autoscaled: false,
            },
        ],
    );
    let original = snapshot(&examples().join("kpt/envpolicy-fn-config"));
    for file in ["manifests/legacy.yaml", "envpolicy.yaml", "Kptfile"] {
        assert_eq!(
            original[Path::new(file)],
            rendered[Path::new(file)],
            "{file} changed"
        );
    }
    // checkout-cache-config keeps its name when its logLevel changes: the hash rolls the cache.
    let cache = snapshot_docs(&rendered, "manifests/cache.yaml");
    assert_config_hash(find(&cache, "StatefulSet", "checkout-cache"));
    let api = snapshot_docs(&rendered, "manifests/api.yaml");
    assert_eq!(config_hash(find(&api, "Deployment", "checkout-api")), None);
}

// ---------------------------------------------------------------------------------------------
// Zero churn: only the lines the policy is about change.
// ---------------------------------------------------------------------------------------------

const ZERO_CHURN: &str = "kpt/envpolicy-zero-churn";

/// `git diff -U0` without the `index` lines (blob ids are abbreviated differently by git
/// versions; the +/- lines already pin the content).
fn diff_u0(repo: &Path) -> String {
    let status = git(repo, &["status", "--porcelain", "--untracked-files=all"]);
    assert!(
        status.lines().all(|l| l.starts_with(" M ")),
        "only modified files, none added or deleted:\n{status}"
    );
    git(repo, &["diff", "-U0", "--no-color", "--no-ext-diff"])
        .lines()
        .filter(|l| !l.starts_with("index "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Compares with `.expected/<file>`, or rewrites it under UPDATE_GOLDEN.
fn assert_golden(file: &str, got: &str) {
    let path = examples().join(ZERO_CHURN).join(".expected").join(file);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir .expected");
        fs::write(&path, got).expect("write golden");
    }
    let expected = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == expected,
        "git diff -U0 differs from {} (UPDATE_GOLDEN=1 rewrites it)\n--- got\n{got}--- expected\n{expected}",
        path.display()
    );
}

/// A fresh copy of the zero-churn package, committed in a new git repository.
fn zero_churn_repo() -> (Workspace, PathBuf) {
    let (ws, pkg) = Workspace::new(ZERO_CHURN);
    git(&pkg, &["init", "-q"]);
    git_commit_all(&pkg, "as written");
    (ws, pkg)
}

/// Runs `args` twice: the first diff must be the golden, the second run must change nothing.
fn assert_zero_churn(args: &[&str]) {
    let (ws, pkg) = zero_churn_repo();
    check(&ws.kpt(&pkg, args), "first run");
    assert_golden("diff.patch", &diff_u0(&pkg));
    git_commit_all(&pkg, "first run");
    check(&ws.kpt(&pkg, args), "second run");
    let second = git(&pkg, &["status", "--porcelain", "--untracked-files=all"]);
    assert!(second.is_empty(), "a second run changed:\n{second}");
}

/// The diff holds the staging policy's lines (replicas, LOG_LEVEL in two workloads, the
/// ConfigMap's log-level, a preferred anti-affinity block per workload), the
/// `envpolicy.dev/config-hash` annotation on storefront's pod template (storefront-config
/// changed and keeps its name, so its readers must roll; order-worker reads no ConfigMap),
/// and the lines kpt rewrites on its own, which the next test pins down. Staging has no
/// disruption budget, rollout or zone spread: no new files, and storefront's hand-written
/// strategy stays as it is.
#[test]
fn zero_churn_render_changes_only_the_policy_lines() {
    assert_zero_churn(&["fn", "render", "--allow-exec", "."]);
}

#[test]
fn zero_churn_eval_changes_only_the_policy_lines() {
    assert_zero_churn(&[
        "fn",
        "eval",
        "--exec",
        "envpolicy",
        ".",
        "--",
        "environment=staging",
    ]);
}

/// What kpt changes with a function that echoes its input (`cat`): kpt 1.0.0-beta.56 writes
/// every folded (`>`) block scalar back as a double-quoted string, and squeezes the spaces
/// before a line comment to one. Neither is envpolicy's doing, and both appear unchanged in
/// envpolicy's diff.
#[test]
fn zero_churn_kpt_alone_rewrites_folded_scalars_and_comment_spacing() {
    let (ws, pkg) = zero_churn_repo();
    check(
        &ws.kpt(&pkg, &["fn", "eval", "--exec", "cat", "."]),
        "kpt fn eval --exec cat",
    );
    let kpt_alone = diff_u0(&pkg);
    assert_golden("kpt-churn.patch", &kpt_alone);

    let changed = |diff: &str| -> BTreeSet<String> {
        diff.lines()
            .filter(|l| {
                (l.starts_with('+') || l.starts_with('-'))
                    && !l.starts_with("+++")
                    && !l.starts_with("---")
            })
            .map(str::to_string)
            .collect()
    };
    let golden = examples().join(ZERO_CHURN).join(".expected/diff.patch");
    let with_envpolicy = fs::read_to_string(golden).expect("diff.patch");
    let missing: Vec<String> = changed(&kpt_alone)
        .difference(&changed(&with_envpolicy))
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "kpt's own rewrites should appear as they are in diff.patch: {missing:?}"
    );
}
