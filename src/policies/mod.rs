//! The policies: pure functions from a workload view and its effective settings to edits,
//! new objects and findings. They know nothing of YAML text or the wire format.

mod anti_affinity;
mod autoscaling;
mod checks;
mod config_hash;
mod disruption_budget;
mod hardening;
mod log_level;
mod replicas;
mod resources;
mod rollout;
mod topology_spread;

use std::sync::Arc;

use crate::config::{AntiAffinityMode, Capacity, Effective};
use crate::edit::{Edit, FieldPath, Message};
use crate::inventory::{Inventory, Workload, WorkloadCore};
use crate::report::{self, shared, shared_with};
use crate::resource::{File, ResourceId, Selector, PACKAGE_PATH_ANNOTATION, PATH_ANNOTATIONS};
use crate::yaml::{interned, Cow, Deferred, Fields, Key, Map, Node};

pub use checks::{input_checks, looks_like_secret, unmatched_selectors};
pub use config_hash::config_hash_edits;
pub use log_level::config_map_edits;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Something worth telling the user that is not itself a change: a risk or a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    /// Shared with equal messages, like the path.
    pub message: Arc<str>,
    /// The input item it is about.
    pub item: Option<usize>,
    /// The field's path as the result writes it, shared with equal paths. Written when the finding
    /// is made, on the planning threads: the path's segments (built with room for more) and a
    /// formatted message waited for the end of the run, 12 MB for the 21,000 findings of 10,000
    /// workloads (bench/README.md).
    pub path: Option<Arc<str>>,
}

/// A new object, placed right after the item it was made for. Built as a node, not JSON (see
/// [`Node::map`]), when it is written ([`Deferred`]); its identity, which the result about it
/// names, is decided when it is planned ([`Generated`]).
#[derive(Debug, Clone)]
pub struct Create {
    pub after: usize,
    pub id: Arc<ResourceId>,
    pub file: Option<Arc<File>>,
    pub object: Deferred,
    /// Names the workload the object is for ([`report::Message::about`]).
    pub message: report::Message,
}

/// What an object generated for a workload is called and where kpt writes it, decided once:
/// the object built from it when written, and the result about it, share it.
#[derive(Debug, Clone)]
struct Generated {
    /// `apiVersion` and `kind`, as the object writes them (borrowed, not the id's copies).
    head: (&'static str, &'static str),
    id: Arc<ResourceId>,
    /// `<dir>/<prefix>-<workload name>.yaml` beside the workload's file, under kpt.
    file: Option<Arc<File>>,
}

impl Generated {
    /// A `kind` object (`api_version`) for `w`, named by [`generated_name`], its file named
    /// with `file_prefix`.
    fn new(
        w: &Workload,
        (api_version, kind): (&'static str, &'static str),
        file_prefix: &str,
        inventory: &Inventory,
    ) -> Self {
        let id = ResourceId {
            api_version: Cow::borrowed(api_version),
            kind: Cow::borrowed(kind),
            name: generated_name(w, inventory),
            namespace: w.id.namespace.clone(),
        };
        let file = w.file.as_deref().map(|(file, _index)| {
            let dir = file.rfind('/').and_then(|i| file.get(..=i)).unwrap_or("");
            (format!("{dir}{file_prefix}-{}.yaml", w.id.name), None)
        });
        Generated {
            head: (api_version, kind),
            id: Arc::new(id),
            file: file.map(Arc::new),
        }
    }

    /// A [`Create`] of the object `build` makes from this, after `w`'s item.
    fn create(
        self,
        w: &Workload,
        message: report::Message,
        build: impl Fn(&Generated) -> Node<'static> + Send + Sync + 'static,
    ) -> Create {
        let (id, file) = (Arc::clone(&self.id), self.file.clone());
        Create {
            after: w.item,
            id,
            file,
            object: Deferred::new(move || build(&self)),
            message,
        }
    }

    /// The object's `apiVersion` and `kind`, then `metadata` ([`generated_metadata`]) for `w`.
    fn head(&self, w: &WorkloadCore) -> [(&'static str, Node<'static>); 3] {
        [
            ("apiVersion", Node::string(self.head.0)),
            ("kind", Node::string(self.head.1)),
            ("metadata", generated_metadata(w, self)),
        ]
    }
}

/// Everything the policies want done, in the order it will be applied and reported.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    pub edits: Vec<(usize, Edit)>,
    pub creates: Vec<Create>,
    pub findings: Vec<Finding>,
}

impl Plan {
    pub fn extend(&mut self, other: Plan) {
        self.edits.extend(other.edits);
        self.creates.extend(other.creates);
        self.findings.extend(other.findings);
    }

    fn edit(&mut self, item: usize, edit: Edit) {
        self.edits.push((item, edit));
    }

    fn finding(
        &mut self,
        severity: Severity,
        item: usize,
        path: Option<FieldPath>,
        message: impl Into<Message>,
    ) {
        self.findings.push(Finding {
            severity,
            message: shared(&message.into()),
            item: Some(item),
            path: path.map(|p| shared_with(|text| p.write_text(text))),
        });
    }
}

/// What every policy may consult besides the workload and its settings.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub inventory: &'a Inventory,
    pub kubernetes_version: (u32, u32),
    pub capacity: &'a Capacity,
    /// Severity of consistency checks: `error` in prod with `strict: true`, else `warning`.
    pub check: Severity,
    pub production: bool,
}

/// The effective replica floor: the fixed count, else the HPA's minReplicas (envpolicy's or the
/// user's), else `spec.replicas` as written (Kubernetes defaults it to 1). PDBs, rollout and
/// the capacity checks are all computed from this one number.
#[must_use]
pub fn replica_floor(w: &Workload, settings: &Effective, inventory: &Inventory) -> i32 {
    if let Some(fixed) = settings.replicas {
        return fixed;
    }
    if let Some(scaling) = &settings.autoscaling {
        return scaling.min_replicas;
    }
    if let Some(hpa) = inventory.hpa_for(w) {
        return hpa.min_replicas.unwrap_or(1);
    }
    w.replicas.unwrap_or(1)
}

/// Where required anti-affinity allows only one pod per domain, how many domains the declared
/// capacity has: `capacity.nodes` for the hostname key, `capacity.zones` for the zone key.
/// `None` without required anti-affinity, for other keys, or when the count is not declared.
#[derive(Debug, Clone, Copy)]
struct Domains {
    count: i32,
    /// `node` or `zone`, for messages.
    unit: &'static str,
    /// The capacity field the count came from.
    field: &'static str,
}

fn anti_affinity_domains(
    w: &Workload,
    settings: &Effective,
    capacity: &Capacity,
) -> Option<Domains> {
    let anti = settings
        .anti_affinity
        .as_ref()
        .filter(|a| w.traits.spreads && a.mode == AntiAffinityMode::Required)?;
    match anti.topology_key.as_str() {
        "kubernetes.io/hostname" => Some(Domains {
            count: capacity.nodes?,
            unit: "node",
            field: "capacity.nodes",
        }),
        "topology.kubernetes.io/zone" | "failure-domain.beta.kubernetes.io/zone" => Some(Domains {
            count: capacity.zones?,
            unit: "zone",
            field: "capacity.zones",
        }),
        _ => None,
    }
}

/// The name of an object generated for `w`: the workload's name, with its kind appended when
/// another workload kind in the namespace has the same name (a Deployment and a StatefulSet
/// `cache` would otherwise get two HPAs `cache`, which kustomize and kpt reject).
fn generated_name(w: &Workload, inventory: &Inventory) -> String {
    let shared = inventory
        .workloads_named(w.id.namespace.as_deref(), &w.id.name)
        .any(|e| e.id.kind != w.id.kind);
    if shared {
        format!("{}-{}", w.id.name, w.id.kind.to_lowercase())
    } else {
        w.id.name.clone()
    }
}

/// Metadata for an object generated for `w`: its name and namespace, the workload's labels,
/// and kpt path annotations so kpt writes it beside the workload. Never id or local-config
/// annotations (see krm-protocol.md).
fn generated_metadata(w: &WorkloadCore, generated: &Generated) -> Node<'static> {
    let mut metadata = Fields::with_capacity(4);
    metadata.push("name", Node::string(generated.id.name.clone()));
    if let Some(ns) = &generated.id.namespace {
        metadata.push("namespace", Node::string(ns.clone()));
    }
    if !w.labels.is_empty() {
        metadata.push("labels", string_map(w.labels.iter()));
    }
    let mut annotations = Fields::with_capacity(PATH_ANNOTATIONS.len() + 1);
    if let Some((path, _index)) = generated.file.as_deref() {
        for key in PATH_ANNOTATIONS {
            annotations.push(key, Node::string(path.clone()));
        }
    }
    if let Some(package) = &w.package_path {
        annotations.push(PACKAGE_PATH_ANNOTATION, Node::string(package.clone()));
    }
    if !annotations.is_empty() {
        metadata.push("annotations", annotations.into_node());
    }
    metadata.into_node()
}

/// Runs every per-workload policy, in a fixed order: resources first, so the checks see the
/// requests containers will have. Each policy runs only for kinds it makes sense for.
#[must_use]
pub fn plan_workload(w: &Workload, settings: &Effective, ctx: &Context<'_>) -> Plan {
    let mut plan = Plan::default();
    let traits = &w.traits;
    plan.extend(resources::plan(w, &settings.resources));
    if traits.scalable {
        plan.extend(replicas::plan(w, settings, ctx.inventory));
    }
    if let (Some(anti), true) = (&settings.anti_affinity, traits.spreads) {
        plan.extend(anti_affinity::plan(w, anti));
    }
    if let (Some(spread), true) = (&settings.topology_spread, traits.spreads) {
        plan.extend(topology_spread::plan(w, spread, ctx));
    }
    if let Some(level) = &settings.log_level {
        plan.extend(log_level::env_edits(w, level));
    }
    if let (Some(scaling), true) = (&settings.autoscaling, traits.scalable) {
        plan.extend(autoscaling::plan(w, scaling, ctx.inventory));
    }
    if let (Some(budget), true) = (&settings.disruption_budget, traits.scalable) {
        plan.extend(disruption_budget::plan(w, budget, settings, ctx));
    }
    if let Some(rollout) = &settings.rollout {
        plan.extend(rollout::plan(w, rollout, settings, ctx));
    }
    if settings.hardened {
        plan.extend(hardening::plan(w));
    }
    plan.extend(checks::workload_checks(w, settings, ctx));
    plan
}

/// The workload's `spec.selector` as a node: the label selector of the terms, constraints and
/// budgets written for it.
fn selector_node(w: &WorkloadCore) -> Node<'static> {
    label_selector_node(&w.selector)
}

/// A label selector as a node, in the order the API writes one (`matchExpressions`, then
/// `matchLabels`; `key`, `operator`, `values`), built directly: through JSON each cost a hash
/// map per mapping and a second copy.
fn label_selector_node(selector: &Selector) -> Node<'static> {
    let mut fields = Fields::with_capacity(2);
    if let Some(requirements) = &selector.match_expressions {
        let requirements = requirements.iter().map(|r| {
            let mut requirement = Fields::with_capacity(3);
            requirement.push("key", Node::string(r.key.clone()));
            requirement.push("operator", Node::string(r.operator.clone()));
            if let Some(values) = &r.values {
                requirement.push(
                    "values",
                    Node::seq(values.iter().map(|v| Node::string(v.clone()))),
                );
            }
            requirement.into_node()
        });
        fields.push("matchExpressions", Node::seq(requirements));
    }
    if let Some(labels) = &selector.match_labels {
        fields.push("matchLabels", string_map(labels.iter()));
    }
    fields.into_node()
}

/// Labels (or any string map) as a new block mapping, in key order.
fn string_map<'p>(pairs: impl IntoIterator<Item = (&'p str, &'p str)>) -> Node<'static> {
    Node::Map(Map::block(pairs.into_iter().map(|(key, value)| {
        (Key::new(interned(key)), Node::string(value.to_owned()))
    })))
}

/// `percent` of `count`, rounded up, as Kubernetes scales surge and budget percentages.
fn ceil_percent(count: i32, percent: i32) -> i64 {
    (i64::from(count.max(0)) * i64::from(percent.max(0)) + 99) / 100
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

    use super::*;
    use crate::yaml::emit_document;

    /// Built directly, a selector reads and writes exactly as the API's own serialization of it
    /// (what envpolicy wrote before it built selectors as nodes). Kept compact, it is the same
    /// selector as the API's type and its key is that type's JSON.
    #[test]
    fn label_selectors_are_written_as_the_api_serializes_them() {
        let requirement = |values: Option<Vec<&str>>| LabelSelectorRequirement {
            key: "tier".into(),
            operator: "In".into(),
            values: values.map(|v| v.into_iter().map(str::to_owned).collect()),
        };
        let labels = |pairs: &[(&str, &str)]| {
            Some(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            )
        };
        let selectors = [
            LabelSelector::default(),
            LabelSelector {
                match_labels: labels(&[("app.kubernetes.io/name", "web"), ("a", "yes")]),
                match_expressions: None,
            },
            LabelSelector {
                match_labels: labels(&[]),
                match_expressions: Some(vec![
                    requirement(Some(vec!["web", "1e3"])),
                    requirement(None),
                    requirement(Some(vec![])),
                ]),
            },
        ];
        for (i, selector) in selectors.iter().enumerate() {
            let compact = Selector::from(selector.clone());
            let through_json = Node::from_json(&serde_json::to_value(selector).unwrap_or_default());
            let direct = label_selector_node(&compact);
            assert_eq!(direct.to_json(), through_json.to_json());
            assert_eq!(emit_document(&direct), emit_document(&through_json));
            assert_eq!(compact.key(), serde_json::to_string(selector).ok());
            for (j, other) in selectors.iter().enumerate() {
                assert_eq!(compact.is(other), i == j, "{selector:?} against {other:?}");
            }
        }
    }
}
