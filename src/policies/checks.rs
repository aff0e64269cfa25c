//! Consistency checks computed from one effective replica floor: the pairings teams get wrong
//! by hand (anti-affinity vs nodes, PDB vs floor, HPA vs requests) and production hygiene
//! (probes, image tags, secret-looking config, port names). They change nothing; they report,
//! as `warning`, or as `error` in prod with `strict: true`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hashbrown::HashSet;

use super::disruption_budget::allows_disruption;
use super::{anti_affinity_domains, replica_floor, Context, Finding, Plan, Severity};
use crate::config::{Effective, IntOrPercent};
use crate::edit::FieldPath;
use crate::inventory::Workload;

/// Checks for one selected workload with its effective settings.
#[must_use]
pub fn workload_checks(w: &Workload, settings: &Effective, ctx: &Context<'_>) -> Plan {
    let mut plan = Plan::default();
    let floor = replica_floor(w, settings, ctx.inventory);
    capacity(&mut plan, w, settings, ctx, floor);
    user_budget(&mut plan, w, settings, ctx, floor);
    requests_for_utilization(&mut plan, w, settings, ctx);
    // Jobs run to completion: probes and rollouts are for long-running pods.
    let long_running = w.traits.scalable || w.traits.rollout != crate::inventory::RolloutKind::None;
    if ctx.production && long_running {
        probes_and_tags(&mut plan, w, ctx.check);
    }
    secret_env(&mut plan, w, ctx.check);
    port_names(&mut plan, w, ctx.check);
    plan
}

fn capacity(plan: &mut Plan, w: &Workload, settings: &Effective, ctx: &Context<'_>, floor: i32) {
    let Some(d) = anti_affinity_domains(w, settings, ctx.capacity) else {
        return;
    };
    let path = Some(w.pod_spec_path().key("affinity").key("podAntiAffinity"));
    let (unit, field, count) = (d.unit, d.field, d.count);
    if floor > count {
        let message = format!(
            "required anti-affinity allows one pod per {unit}, but the replica floor is {floor} and {field} is {count}: {} pod(s) would stay Pending; use preferred anti-affinity or fewer replicas",
            floor - count
        );
        plan.finding(ctx.check, w.item, path, message);
    } else if let Some(max) = settings
        .autoscaling
        .as_ref()
        .map(|a| a.max_replicas)
        .filter(|max| *max > count)
    {
        let message = format!("required anti-affinity allows one pod per {unit}: the HPA may scale to {max} but {field} is {count}, so pods beyond {count} would stay Pending");
        plan.finding(ctx.check, w.item, path, message);
    }
}

/// A user's PDB (one envpolicy does not manage) that blocks every drain at the floor.
fn user_budget(plan: &mut Plan, w: &Workload, settings: &Effective, ctx: &Context<'_>, floor: i32) {
    if settings.disruption_budget.is_some() {
        return;
    }
    let Some(pdb) = ctx.inventory.pdb_for(w) else {
        return;
    };
    let convert = |v: &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString| match v {
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n) => {
            Some(IntOrPercent::Int(*n))
        }
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => {
            s.strip_suffix('%')?.parse().ok().map(IntOrPercent::Percent)
        }
    };
    let min = pdb.min_available.as_ref().and_then(convert);
    let max = pdb.max_unavailable.as_ref().and_then(convert);
    if !allows_disruption(min.as_ref(), max.as_ref(), floor) {
        let message = format!("{} allows no voluntary disruption at a replica floor of {floor}: every node drain would block; enable disruptionBudget or loosen it", pdb.id);
        plan.finding(ctx.check, w.item, None, message);
    }
}

/// The utilization targets of the HPA that scales `w` (envpolicy's or the user's).
fn utilization_targets(
    w: &Workload,
    settings: &Effective,
    ctx: &Context<'_>,
) -> BTreeSet<&'static str> {
    let mut targets = BTreeSet::new();
    if let Some(a) = &settings.autoscaling {
        if a.cpu_utilization.is_some() {
            targets.insert("cpu");
        }
        if a.memory_utilization.is_some() {
            targets.insert("memory");
        }
    } else if let Some(hpa) = ctx.inventory.hpa_for(w) {
        for m in &hpa.metrics {
            if m["type"] == "Resource" && m["resource"]["target"]["type"] == "Utilization" {
                match m["resource"]["name"].as_str() {
                    Some("cpu") => targets.insert("cpu"),
                    Some("memory") => targets.insert("memory"),
                    _ => false,
                };
            }
        }
    }
    targets
}

/// Every container, sidecars included, needs the request a utilization target divides by.
fn requests_for_utilization(
    plan: &mut Plan,
    w: &Workload,
    settings: &Effective,
    ctx: &Context<'_>,
) {
    // Only kinds an HPA can scale have utilization targets (a CronJob under the prod preset has none).
    let targets = if w.traits.scalable {
        utilization_targets(w, settings, ctx)
    } else {
        BTreeSet::new()
    };
    if targets.is_empty() {
        return;
    }
    // Sidecars (init containers that keep running) count; plain init containers have finished
    // before the HPA ever reads the pod, so their requests do not matter.
    for pc in w.all_containers().filter(|pc| !pc.init || pc.is_sidecar()) {
        let c = pc.container;
        for resource in &targets {
            let has = c
                .resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
                .is_some_and(|r| r.contains_key(*resource))
                || (!pc.init && settings.resources.requests.contains_key(*resource));
            if !has {
                let path = pc.path().key("resources").key("requests").key(*resource);
                let message = format!(
                    "container {} has no {resource} request, so the HPA's {resource} utilization target can never be computed and it will not scale; set resources.requests.{resource}",
                    c.name
                );
                plan.finding(ctx.check, w.item, Some(path), message);
            }
        }
    }
}

fn image_problem(image: &str) -> Option<&'static str> {
    if image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        None => Some("has no tag, so it means :latest"),
        Some((_, "latest")) => Some("is tagged :latest"),
        Some(_) => None,
    }
}

fn probes_and_tags(plan: &mut Plan, w: &Workload, severity: Severity) {
    for pc in w.all_containers().filter(|pc| !pc.init) {
        let c = pc.container;
        let at = |key: &'static str| Some(pc.path().key(key));
        for (probe, present) in [
            ("livenessProbe", c.liveness_probe.is_some()),
            ("readinessProbe", c.readiness_probe.is_some()),
        ] {
            if !present {
                plan.finding(severity, w.item, at(probe), format!("container {} has no {probe}: in prod, Kubernetes cannot tell when it is broken or ready", c.name));
            }
        }
        if let Some(problem) = c.image.as_deref().and_then(image_problem) {
            let image = c.image.as_deref().unwrap_or_default();
            plan.finding(
                severity,
                w.item,
                at("image"),
                format!(
                    "container {}: image {image} {problem}; pin a version in prod",
                    c.name
                ),
            );
        }
    }
}

/// Names that usually hold credentials: `*_KEY`, `*_PASSWORD`, `*_PASS`, `*_TOKEN`, `*_SECRET`,
/// `*_CREDENTIALS` (any case, `-` and `.` read as `_`).
#[must_use]
pub fn looks_like_secret(name: &str) -> bool {
    const SUFFIXES: [&str; 6] = ["KEY", "PASSWORD", "PASS", "TOKEN", "SECRET", "CREDENTIALS"];
    // Compared in place, without a normalized copy: every env var of every container is asked.
    let bytes = name.as_bytes();
    SUFFIXES.iter().any(|suffix| {
        let Some((rest, tail)) = bytes
            .len()
            .checked_sub(suffix.len())
            .and_then(|at| bytes.split_at_checked(at))
        else {
            return false;
        };
        tail.eq_ignore_ascii_case(suffix.as_bytes())
            && match rest.last() {
                None => *suffix != "KEY",
                Some(b) => matches!(b, b'_' | b'-' | b'.'),
            }
    })
}

fn secret_env(plan: &mut Plan, w: &Workload, severity: Severity) {
    for pc in w.all_containers() {
        for (ei, env) in pc.container.env.iter().flatten().enumerate() {
            if env.value.is_some() && looks_like_secret(&env.name) {
                let path = pc.path().key("env").item(ei, Some(&env.name));
                let message = format!(
                    "container {}: env {} looks like a secret but is a literal value; use valueFrom.secretKeyRef",
                    pc.container.name, env.name
                );
                plan.finding(severity, w.item, Some(path), message);
            }
        }
    }
}

/// Port names must be IANA service names: at most 15 characters, lowercase letters, digits and
/// single inner dashes, at least one letter; and unique within the pod.
fn port_name_problem(name: &str) -> Option<&'static str> {
    if name.len() > 15 {
        return Some("is longer than 15 characters");
    }
    let valid = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.chars().any(|c| c.is_ascii_lowercase())
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    (!valid).then_some("is not a valid port name (lowercase letters, digits and single inner dashes, with a letter)")
}

fn port_names(plan: &mut Plan, w: &Workload, severity: Severity) {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for pc in w.all_containers() {
        let c = pc.container;
        for (pi, port) in c.ports.iter().flatten().enumerate() {
            let Some(name) = port.name.as_deref() else {
                continue;
            };
            let path = Some(pc.path().key("ports").item(pi, Some(name)));
            if let Some(problem) = port_name_problem(name) {
                plan.finding(
                    severity,
                    w.item,
                    path.clone(),
                    format!("container {}: port name {name:?} {problem}", c.name),
                );
            }
            if let Some(first) = seen.insert(name, &c.name) {
                plan.finding(severity, w.item, path, format!("port name {name:?} is used by containers {first} and {}; names must be unique in a pod", c.name));
            }
        }
    }
}

/// Checks across the input: HPAs (min above max, a target that is not there) and
/// secret-looking keys in the ConfigMaps selected workloads read.
#[must_use]
pub fn input_checks(selected: &[(Workload, Arc<Effective>)], ctx: &Context<'_>) -> Plan {
    let mut plan = Plan::default();
    for hpa in ctx.inventory.hpas.iter().filter(|h| !h.skipped) {
        if let (Some(min), Some(max)) = (hpa.min_replicas, hpa.max_replicas) {
            if min > max {
                plan.finding(
                    ctx.check,
                    hpa.item,
                    Some(FieldPath::keys(&["spec", "minReplicas"])),
                    format!("minReplicas {min} is above maxReplicas {max}"),
                );
            }
        }
        let target = &hpa.target;
        if !ctx
            .inventory
            .has_hpa_target(hpa.id.namespace.as_deref(), &target.kind, &target.name)
        {
            let message = format!(
                "scaleTargetRef {} {} is not among the resources; the HPA scales nothing",
                target.kind, target.name
            );
            plan.finding(
                ctx.check,
                hpa.item,
                Some(FieldPath::keys(&["spec", "scaleTargetRef"])),
                message,
            );
        }
    }
    let mut read: HashSet<(Option<&str>, &str)> = HashSet::with_capacity(selected.len());
    read.extend(selected.iter().flat_map(|(w, _)| {
        w.config_maps
            .iter()
            .map(|n| (w.id.namespace.as_deref(), n.as_str()))
    }));
    for cm in &ctx.inventory.config_maps {
        if !read.contains(&(cm.id.namespace.as_deref(), cm.id.name.as_str())) {
            continue;
        }
        for key in &cm.flagged_keys {
            let message = format!(
                "key {key} looks like a secret but sits in a ConfigMap; move it to a Secret"
            );
            plan.finding(
                ctx.check,
                cm.item,
                Some(FieldPath::keys(&["data"]).key(key.to_owned())),
                message,
            );
        }
    }
    plan
}

/// With `strict: true`, a selector or override that selects nothing is an error (a typo there
/// silently turns a policy off); otherwise it is said as a warning (overrides) or info.
#[must_use]
pub fn unmatched_selectors(
    strict: bool,
    selected_any: bool,
    override_hits: &[usize],
    root: &str,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let severity = |lenient| if strict { Severity::Error } else { lenient };
    if !selected_any {
        findings.push(Finding {
            severity: severity(Severity::Info),
            message: format!("{root}.selector selects no workload").into(),
            item: None,
            path: None,
        });
    }
    for (i, hits) in override_hits.iter().enumerate() {
        if *hits == 0 {
            findings.push(Finding {
                severity: severity(Severity::Warning),
                message: format!("{root}.overrides[{i}].selector selects no workload").into(),
                item: None,
                path: None,
            });
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_like_names() {
        for name in [
            "DB_PASSWORD",
            "api-key",
            "GITHUB_TOKEN",
            "aws.secret",
            "PASSWORD",
            "SMTP_PASS",
            "gcp_credentials",
        ] {
            assert!(looks_like_secret(name), "{name}");
        }
        for name in [
            "LOG_LEVEL",
            "KEY",
            "MONKEY",
            "PASSPORT_ID",
            "keyspace",
            "TOKENIZER",
        ] {
            assert!(!looks_like_secret(name), "{name}");
        }
    }

    proptest::proptest! {
        /// The in-place comparison answers as the definition does: normalize (`-` and `.` as
        /// `_`, upper case), then look for a suffix that stands alone or after `_`.
        #[test]
        fn secret_check_matches_its_definition(
            stem in "[a-zA-Z0-9_.é-]{0,6}",
            suffix in proptest::sample::select(vec!["", "key", "Pass", "PASSWORD", "token", "secreT", "credentials", "KE"]),
        ) {
            let name = format!("{stem}{suffix}");
            let normal: String = name
                .chars()
                .map(|c| if c == '-' || c == '.' { '_' } else { c.to_ascii_uppercase() })
                .collect();
            let want = ["KEY", "PASSWORD", "PASS", "TOKEN", "SECRET", "CREDENTIALS"].iter().any(|s| {
                normal
                    .strip_suffix(s)
                    .is_some_and(|rest| (rest.is_empty() && *s != "KEY") || rest.ends_with('_'))
            });
            proptest::prop_assert_eq!(looks_like_secret(&name), want, "{}", name);
        }
    }

    #[test]
    fn image_tags() {
        assert_eq!(
            image_problem("nginx"),
            Some("has no tag, so it means :latest")
        );
        assert_eq!(
            image_problem("registry:5000/app"),
            Some("has no tag, so it means :latest")
        );
        assert_eq!(image_problem("app:latest"), Some("is tagged :latest"));
        assert_eq!(image_problem("registry:5000/app:1.2"), None);
        assert_eq!(image_problem("app@sha256:abc"), None);
    }

    #[test]
    fn port_names_follow_iana_rules() {
        assert!(port_name_problem("http").is_none());
        assert!(port_name_problem("http-metrics2").is_none());
        assert!(port_name_problem("a-very-long-port-name").is_some());
        assert!(port_name_problem("HTTP").is_some());
        assert!(port_name_problem("8080").is_some());
        assert!(port_name_problem("a--b").is_some());
    }
}
