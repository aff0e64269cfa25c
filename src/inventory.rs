//! Typed, read-only views of the input the policies reason about: workloads, HPAs and
//! ConfigMaps, each indexed once so no policy scans every item per workload.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::{DefaultHashBuilder, Equivalent, HashMap, HashSet, HashTable};
use k8s_openapi::api::autoscaling::v2::CrossVersionObjectReference;
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::config::PodTemplatePath;
use crate::edit::FieldPath;
use crate::parallel::map_in_order;
use crate::resource::{
    file_of, file_path_of, group_of, is_local_config, is_skipped, namespace_kind_name, File,
    Labels, ResourceId, Selector,
};
use crate::yaml::{from_node, Cow, Doc, Node};

/// How a kind rolls out new pods: which strategy fields the rollout policy sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutKind {
    /// `strategy.rollingUpdate` (maxSurge, maxUnavailable).
    Deployment,
    /// `updateStrategy.type: RollingUpdate`.
    StatefulSet,
    /// `updateStrategy.rollingUpdate` (maxSurge, maxUnavailable).
    DaemonSet,
    None,
}

/// Where a kind keeps its pod template and which policies make sense for it. Written down once
/// here, so no policy guesses at paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindTraits {
    /// Borrowed for the built-in kinds: every field path of a workload starts with it.
    pub template: Vec<Cow<'static, str>>,
    /// Has `spec.replicas`: fixed replicas, HPA and PodDisruptionBudget apply.
    pub scalable: bool,
    /// Runs several interchangeable pods selected by `spec.selector`: anti-affinity and spread apply.
    pub spreads: bool,
    pub rollout: RolloutKind,
    /// Pods carry `pod-template-hash` (Deployments): spread constraints can use `matchLabelKeys`.
    pub pod_template_hash: bool,
}

impl KindTraits {
    fn builtin(template: &[&'static str], scalable: bool, rollout: RolloutKind) -> Self {
        KindTraits {
            template: template.iter().map(|s| Cow::borrowed(*s)).collect(),
            scalable,
            spreads: scalable,
            rollout,
            pod_template_hash: rollout == RolloutKind::Deployment,
        }
    }

    /// The traits of a resource, or `None` when it has no pod template envpolicy knows.
    #[must_use]
    pub fn of(api_version: &str, kind: &str, custom: &[PodTemplatePath]) -> Option<KindTraits> {
        let builtin = match (group_of(api_version), kind) {
            ("apps", "Deployment") => Some(Self::builtin(
                &["spec", "template"],
                true,
                RolloutKind::Deployment,
            )),
            ("apps", "StatefulSet") => Some(Self::builtin(
                &["spec", "template"],
                true,
                RolloutKind::StatefulSet,
            )),
            ("apps", "DaemonSet") => Some(Self::builtin(
                &["spec", "template"],
                false,
                RolloutKind::DaemonSet,
            )),
            ("batch", "Job") => Some(Self::builtin(
                &["spec", "template"],
                false,
                RolloutKind::None,
            )),
            ("batch", "CronJob") => Some(Self::builtin(
                &["spec", "jobTemplate", "spec", "template"],
                false,
                RolloutKind::None,
            )),
            _ => None,
        };
        builtin.or_else(|| {
            let entry = custom.iter().find(|c| c.matches(kind, api_version))?;
            Some(KindTraits {
                template: entry.path.iter().cloned().map(Cow::owned).collect(),
                scalable: entry.scalable,
                spreads: entry.scalable,
                rollout: RolloutKind::None,
                pod_template_hash: false,
            })
        })
    }
}

/// Bad input: which resource, which field, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// Boxed: errors are rare, and a small `Result` keeps the happy path cheap.
    pub resource: Option<Box<ResourceId>>,
    pub path: String,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(r) = &self.resource {
            write!(f, "{r}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for InputError {}

impl InputError {
    /// `message` about the field at `path` of resource `id`.
    fn at(id: &ResourceId, path: &str, message: String) -> Self {
        InputError {
            resource: Some(Box::new(id.clone())),
            path: path.to_owned(),
            message,
        }
    }
}

/// A workload (anything with a pod template envpolicy knows) as the policies see it: what the
/// inventory read (shared, never copied per workload) plus, while planned, its pod.
#[derive(Debug, Clone)]
pub struct Workload {
    core: Arc<WorkloadCore>,
    /// Empty in the inventory; filled by [`Workload::with_pod`] while the workload is planned.
    pod: Option<Box<PodSpec>>,
    /// ConfigMaps its pods read (env, envFrom, volumes), by name; filled with the pod.
    pub config_maps: Vec<String>,
}

/// The fields of a workload read once, from its item, when the inventory is built.
#[derive(Debug)]
pub struct WorkloadCore {
    pub item: usize,
    /// Shared with the entry and with every result about the workload.
    pub id: Arc<ResourceId>,
    pub labels: Labels,
    pub traits: KindTraits,
    /// `spec.selector`; required (and non-empty) for kinds that scale or spread.
    pub selector: Selector,
    /// `spec.replicas` as written.
    pub replicas: Option<i32>,
    /// `spec.strategy.type` (Deployment) or `spec.updateStrategy.type`: `Recreate` and
    /// `OnDelete` are the user's choice, and rollout settings leave them alone.
    pub update_strategy: Option<String>,
    /// kpt file (path and index) and package annotations, copied onto objects generated for
    /// this workload; the file is shared with every result about the workload.
    pub file: Option<Arc<File>>,
    pub package_path: Option<String>,
}

/// A workload reads like its core (`w.id`, `w.labels`): the pod and ConfigMaps are all it adds.
impl std::ops::Deref for Workload {
    type Target = WorkloadCore;

    fn deref(&self) -> &WorkloadCore {
        &self.core
    }
}

impl Workload {
    /// This workload with its pod spec read from `node` (its item), and the ConfigMaps the pod
    /// reads. The inventory keeps workloads without their pod: a typed pod spec copies most of
    /// the item, so the run reads one workload's pod at a time and drops it once planned.
    pub fn with_pod(&self, node: &Node<'_>) -> Result<Workload, InputError> {
        let fail = |path: &str, message: String| InputError::at(&self.id, path, message);
        let template_keys: Vec<&str> = self.traits.template.iter().map(|k| k.as_ref()).collect();
        let template_path = template_keys.join(".");
        let Some(template) = node.get_path(&template_keys) else {
            return Err(fail(&template_path, "is missing".into()));
        };
        // Only the pod spec: policies read the template's labels from the node, and typing its
        // metadata too cost a tenth of reading the view.
        let spec_path = format!("{template_path}.spec");
        let pod: PodSpec = match template.get("spec") {
            Some(n) if !matches!(n, Node::Scalar(s) if s.is_null()) => {
                from_node(n).map_err(|e| fail(&format!("{spec_path}.{}", e.path), e.message))?
            }
            _ if template.as_map().is_none() => {
                // Not a mapping: the error the typed template gives, naming what was found.
                let e = from_node::<PodTemplateSpec>(template).err();
                let message = e.map_or_else(|| "is not a mapping".into(), |e| e.message);
                return Err(fail(&template_path, message));
            }
            _ => return Err(fail(&spec_path, "is missing".into())),
        };
        Ok(Workload {
            core: Arc::clone(&self.core),
            config_maps: consumed_config_maps(&pod),
            pod: Some(Box::new(pod)),
        })
    }

    /// What the inventory read, shared: new objects built later keep it rather than copies.
    #[must_use]
    pub fn core(&self) -> &Arc<WorkloadCore> {
        &self.core
    }

    /// The pod spec; empty until [`Workload::with_pod`] read it.
    #[must_use]
    pub fn pod(&self) -> &PodSpec {
        static EMPTY: std::sync::OnceLock<PodSpec> = std::sync::OnceLock::new();
        self.pod
            .as_deref()
            .unwrap_or_else(|| EMPTY.get_or_init(PodSpec::default))
    }

    /// Drops the pod spec once the workload is planned (it is most of a workload's memory).
    pub fn drop_pod(&mut self) {
        self.pod = None;
    }

    /// The pod template (`spec.template`, `spec.jobTemplate.spec.template`, ...), with room for
    /// the keys policies add below it (`spec.containers[name=web].resources.requests.cpu`):
    /// every container's path starts here, and growing it step by step cost three allocations.
    #[must_use]
    pub fn template_path(&self) -> FieldPath {
        let template = &self.traits.template;
        let mut path = Vec::with_capacity(template.len() + 8);
        path.extend(template.iter().map(|k| crate::edit::Seg::Key(k.clone())));
        FieldPath(path)
    }

    /// The pod spec inside the template.
    #[must_use]
    pub fn pod_spec_path(&self) -> FieldPath {
        self.template_path().key("spec")
    }

    /// Every container and where it sits: `containers` first, then `initContainers`.
    pub fn all_containers(&self) -> impl Iterator<Item = PodContainer<'_>> {
        let pod = self.pod();
        let init = pod.init_containers.as_deref().unwrap_or_default();
        let lists: [(&'static str, &[Container]); 2] =
            [("containers", &pod.containers), ("initContainers", init)];
        lists.into_iter().flat_map(move |(list, containers)| {
            containers
                .iter()
                .enumerate()
                .map(move |(index, container)| PodContainer {
                    init: list == "initContainers",
                    container,
                    workload: self,
                    list,
                    index,
                })
        })
    }
}

/// A container of a workload's pod and where it sits.
#[derive(Debug, Clone)]
pub struct PodContainer<'w> {
    /// An init container (a sidecar when its restartPolicy is `Always`).
    pub init: bool,
    pub container: &'w Container,
    workload: &'w Workload,
    list: &'static str,
    index: usize,
}

impl PodContainer<'_> {
    /// An init container that keeps running beside the main containers.
    #[must_use]
    pub fn is_sidecar(&self) -> bool {
        self.init && self.container.restart_policy.as_deref() == Some("Always")
    }

    /// `spec.template.spec.containers[name=web]` and the like. Built when asked: most checks
    /// of most containers find nothing to say, and seven policies walk every container.
    #[must_use]
    pub fn path(&self) -> FieldPath {
        self.workload
            .pod_spec_path()
            .key(self.list)
            .item(self.index, Some(&self.container.name))
    }
}

/// An HPA in the input and what it scales.
#[derive(Debug, Clone)]
pub struct Hpa {
    pub item: usize,
    pub id: ResourceId,
    pub target: CrossVersionObjectReference,
    pub min_replicas: Option<i32>,
    pub max_replicas: Option<i32>,
    /// `spec.metrics` as JSON: the user's custom metrics are kept when envpolicy updates it.
    pub metrics: Vec<serde_json::Value>,
    pub skipped: bool,
}

/// A PodDisruptionBudget in the input.
#[derive(Debug, Clone)]
pub struct Pdb {
    pub item: usize,
    pub id: ResourceId,
    pub selector: Option<LabelSelector>,
    pub min_available: Option<IntOrString>,
    pub max_unavailable: Option<IntOrString>,
    pub skipped: bool,
}

/// A ConfigMap's string data.
#[derive(Debug, Clone)]
pub struct ConfigMap {
    pub item: usize,
    pub id: ResourceId,
    /// kustomize will rename it with a content hash after transformers, so pods roll anyway.
    pub generated: bool,
    /// Other names pods may refer to it by: kustomize's `namePrefix` renames the ConfigMap
    /// before envpolicy runs but fixes references only afterwards, so the pods still use a
    /// name kept in `internal.config.kubernetes.io/previousNames`. Nearly always empty, which
    /// costs no allocation (see [`ConfigMap::names`]).
    pub previous_names: Box<[String]>,
    /// The string entries of `data` under a key some log level may be written to, by key:
    /// only these are copied, since a ConfigMap can hold whole files (dashboards, configs).
    pub level_entries: Vec<(String, String)>,
    /// The keys of `data` (string values) that [`Wanted::flagged_key`] asked for, in key order.
    pub flagged_keys: Vec<String>,
}

impl ConfigMap {
    /// True when a pod reference by `name` means this ConfigMap.
    #[must_use]
    pub fn known_as(&self, name: &str) -> bool {
        self.names().any(|n| n == name)
    }

    /// Every name pods may refer to it by: its own, then its previous ones.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.name.as_str()).chain(self.previous_names.iter().map(String::as_str))
    }
}

/// A workload candidate: its view, or why it could not be read (raised only if selected).
#[derive(Debug, Clone)]
pub struct WorkloadEntry {
    pub id: Arc<ResourceId>,
    /// The labels read leniently, kept only when the view failed (else the view has them).
    lenient_labels: Labels,
    /// Skipped by annotation, or local config: never changed.
    pub untouchable: bool,
    pub view: Result<Workload, InputError>,
}

/// What the policies need the inventory to read beyond the built-in kinds. ConfigMaps can
/// hold whole files (dashboards, configs), so only the entries asked for are copied.
#[derive(Debug)]
pub struct Wanted<'p> {
    /// The custom kinds the policy declares, with their pod templates.
    pub custom: &'p [PodTemplatePath],
    /// Every ConfigMap key some workload's log level may be written to: kept with its value.
    pub config_map_keys: HashSet<&'p str>,
    /// The ConfigMap keys a check reports (secret-looking names): kept without their values.
    pub flagged_key: fn(&str) -> bool,
}

impl Default for Wanted<'_> {
    fn default() -> Self {
        Wanted {
            custom: &[],
            config_map_keys: HashSet::new(),
            flagged_key: |_| false,
        }
    }
}

/// Kinds no policy reads or edits and no HPA can scale (they have no scale subresource):
/// [`crate::wire::read`] keeps such items as their text instead of trees. Workload kinds declared
/// in `podTemplatePaths` are read again as trees by [`crate::run::run_with`], so a declaration
/// that names one of these kinds still works.
#[must_use]
pub fn never_read(api_version: &str, kind: &str) -> bool {
    matches!(
        (group_of(api_version), kind),
        (
            "",
            "Service"
                | "Secret"
                | "ServiceAccount"
                | "Namespace"
                | "PersistentVolumeClaim"
                | "PersistentVolume"
                | "Endpoints"
                | "LimitRange"
                | "ResourceQuota"
        ) | (
            "rbac.authorization.k8s.io",
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding"
        ) | (
            "networking.k8s.io",
            "Ingress" | "IngressClass" | "NetworkPolicy"
        ) | ("apiextensions.k8s.io", "CustomResourceDefinition")
            | (
                "admissionregistration.k8s.io",
                "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration"
            )
            | ("storage.k8s.io", "StorageClass")
            | ("scheduling.k8s.io", "PriorityClass")
            | ("discovery.k8s.io", "EndpointSlice")
    )
}

/// What one item tells the inventory, read on its own so that items are read on all cores;
/// [`Inventory::read`] then indexes the facts in input order.
enum Fact {
    Workload(WorkloadEntry),
    /// The PDB and its selector as an index key.
    Pdb(Pdb, Option<String>),
    Hpa(Hpa),
    ConfigMap(ConfigMap),
    /// Any other item: only an HPA's target, looked up by [`Inventory::read`] when there are
    /// HPAs, needs its identity.
    Other,
}

/// The kinds besides workloads whose facts the inventory keeps.
enum Kept {
    Pdb,
    Hpa,
    ConfigMap,
}

impl Fact {
    fn of(item: usize, node: &Node<'_>, wanted: &Wanted<'_>) -> Result<Fact, InputError> {
        check_item(item, node)?;
        // Kinds first, from the item: only the kinds the inventory keeps copy their identity.
        let api_version = node.str_at(&["apiVersion"]).unwrap_or_default();
        let kind = node.str_at(&["kind"]).unwrap_or_default();
        let kept = match (group_of(api_version), kind) {
            ("policy", "PodDisruptionBudget") => Some(Kept::Pdb),
            ("autoscaling", "HorizontalPodAutoscaler") => Some(Kept::Hpa),
            ("", "ConfigMap") => Some(Kept::ConfigMap),
            _ => None,
        };
        let traits = KindTraits::of(api_version, kind, wanted.custom);
        if traits.is_none() && kept.is_none() {
            return Ok(Fact::Other);
        }
        let untouchable = is_skipped(node) || is_local_config(node);
        if let Some(traits) = traits {
            let id = Arc::new(ResourceId::of(node));
            let view = workload(item, node, &id, traits);
            let lenient_labels = match &view {
                Ok(_) => Labels::default(),
                Err(_) => lenient_labels(node),
            };
            return Ok(Fact::Workload(WorkloadEntry {
                id,
                lenient_labels,
                untouchable,
                view,
            }));
        }
        let id = ResourceId::of(node);
        Ok(match kept {
            Some(Kept::Pdb) => {
                let spec = node.get("spec");
                let field = |key: &str| spec.and_then(|s| s.get(key));
                let selector = field("selector").and_then(|n| from_node::<LabelSelector>(n).ok());
                let min_available =
                    field("minAvailable").and_then(|n| from_node::<IntOrString>(n).ok());
                let max_unavailable =
                    field("maxUnavailable").and_then(|n| from_node::<IntOrString>(n).ok());
                let key = selector.clone().and_then(|s| Selector::from(s).key());
                Fact::Pdb(
                    Pdb {
                        item,
                        id,
                        selector,
                        min_available,
                        max_unavailable,
                        skipped: untouchable,
                    },
                    key,
                )
            }
            Some(Kept::Hpa) => {
                let target = node
                    .get_path(&["spec", "scaleTargetRef"])
                    .map(from_node::<CrossVersionObjectReference>);
                let Some(Ok(target)) = target else {
                    return Ok(Fact::Other);
                };
                let metrics = match node.get_path(&["spec", "metrics"]).map(Node::to_json) {
                    Some(serde_json::Value::Array(m)) => m,
                    _ => Vec::new(),
                };
                let int = |key: &str| {
                    node.get_path(&["spec", key])
                        .and_then(|n| from_node::<i32>(n).ok())
                };
                let (min_replicas, max_replicas) = (int("minReplicas"), int("maxReplicas"));
                Fact::Hpa(Hpa {
                    item,
                    id,
                    target,
                    min_replicas,
                    max_replicas,
                    metrics,
                    skipped: untouchable,
                })
            }
            Some(Kept::ConfigMap) if !untouchable => {
                // Only string values are read (log level keys, secret-looking names); anything
                // else passes through untouched: it is not envpolicy's to reject a ConfigMap
                // no selected workload may even read.
                let strings = node
                    .get("data")
                    .and_then(Node::as_map)
                    .into_iter()
                    .flat_map(|m| m.entries.iter())
                    .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)));
                let mut level_entries = Vec::new();
                let mut flagged_keys = Vec::new();
                for (key, value) in strings {
                    if wanted.config_map_keys.contains(key) {
                        level_entries.push((key.to_owned(), value.to_owned()));
                    }
                    if (wanted.flagged_key)(key) {
                        flagged_keys.push(key.to_owned());
                    }
                }
                level_entries.sort_unstable();
                flagged_keys.sort_unstable();
                let generated = crate::resource::annotation(
                    node,
                    "internal.config.kubernetes.io/needsHashSuffix",
                ) == Some("enabled");
                let previous = crate::resource::annotation(
                    node,
                    "internal.config.kubernetes.io/previousNames",
                );
                let mut previous_names: Vec<String> = (previous.into_iter())
                    .flat_map(|p| p.split(','))
                    .map(str::trim)
                    .filter(|n| !n.is_empty() && *n != id.name)
                    .map(str::to_owned)
                    .collect();
                previous_names.dedup();
                Fact::ConfigMap(ConfigMap {
                    item,
                    id,
                    generated,
                    previous_names: previous_names.into(),
                    level_entries,
                    flagged_keys,
                })
            }
            _ => Fact::Other,
        })
    }
}

#[derive(Debug, Default)]
pub struct Inventory {
    /// Every Deployment and StatefulSet, in input order.
    pub workloads: Vec<WorkloadEntry>,
    pub hpas: Vec<Hpa>,
    pub pdbs: Vec<Pdb>,
    pub config_maps: Vec<ConfigMap>,
    hpa_by_target: HashMap<(Option<String>, String, String), usize>,
    /// The HPA targets (namespace, kind, name) the input holds: only those, so a package without
    /// HPAs keeps no set of every object.
    present_hpa_targets: HashSet<(Option<String>, String, String)>,
    /// `workloads` by (namespace, name).
    workloads_by_name: ByName,
    /// `config_maps` by (namespace, each name pods may use for it).
    config_maps_by_name: ByName,
    /// The first PDB (index into `pdbs`) by (namespace, selector as JSON), and by (namespace, name).
    pdb_by_selector: HashMap<(Option<String>, String), usize>,
    pdb_by_name: HashMap<(Option<String>, String), usize>,
}

impl WorkloadEntry {
    /// The workload's labels, for selection: read leniently when its view could not be read.
    #[must_use]
    pub fn labels(&self) -> &Labels {
        match &self.view {
            Ok(w) => &w.labels,
            Err(_) => &self.lenient_labels,
        }
    }
}

impl Inventory {
    /// Reads the views; fails only on items no client would accept (not a mapping, no kind).
    pub fn read(
        items: &[Doc<'_>],
        wanted: &Wanted<'_>,
        min_part: usize,
    ) -> Result<Inventory, InputError> {
        let facts = map_in_order(
            items.iter().enumerate().collect(),
            min_part,
            |(item, doc)| match doc.as_tree() {
                Some(node) => Fact::of(item, node, wanted),
                None => Ok(Fact::Other),
            },
        );
        // Sized from the facts: growing the lists and rehashing the maps item by item cost
        // about a third of this sequential pass.
        let count = |of: fn(&Fact) -> bool| facts.iter().flatten().filter(|f| of(f)).count();
        let workloads = count(|f| matches!(f, Fact::Workload(_)));
        let pdbs = count(|f| matches!(f, Fact::Pdb(..)));
        let hpas = count(|f| matches!(f, Fact::Hpa(_)));
        let config_maps = count(|f| matches!(f, Fact::ConfigMap(_)));
        let mut inv = Inventory {
            workloads: Vec::with_capacity(workloads),
            pdbs: Vec::with_capacity(pdbs),
            pdb_by_selector: HashMap::with_capacity(pdbs),
            pdb_by_name: HashMap::with_capacity(pdbs),
            hpas: Vec::with_capacity(hpas),
            hpa_by_target: HashMap::with_capacity(hpas),
            config_maps: Vec::with_capacity(config_maps),
            ..Inventory::default()
        };
        let mut others = Vec::with_capacity(
            facts
                .len()
                .saturating_sub(workloads + pdbs + hpas + config_maps),
        );
        for (item, fact) in facts.into_iter().enumerate() {
            match fact? {
                Fact::Workload(entry) => inv.workloads.push(entry),
                Fact::Pdb(pdb, selector) => {
                    let at = inv.pdbs.len();
                    if let Some(json) = selector {
                        inv.pdb_by_selector
                            .entry((pdb.id.namespace.clone(), json))
                            .or_insert(at);
                    }
                    inv.pdb_by_name
                        .entry((pdb.id.namespace.clone(), pdb.id.name.clone()))
                        .or_insert(at);
                    inv.pdbs.push(pdb);
                }
                Fact::Hpa(hpa) => {
                    let key = (
                        hpa.id.namespace.clone(),
                        hpa.target.kind.clone(),
                        hpa.target.name.clone(),
                    );
                    inv.hpa_by_target.entry(key).or_insert(inv.hpas.len());
                    inv.hpas.push(hpa);
                }
                Fact::ConfigMap(cm) => inv.config_maps.push(cm),
                Fact::Other => others.push(item),
            }
        }
        inv.workloads_by_name = ByName::new(
            inv.workloads.len(),
            (0..inv.workloads.len()).map(|i| (i, 0)),
            |place| workload_key(&inv.workloads, place),
        );
        let config_map_names = (inv.config_maps.iter().enumerate())
            .flat_map(|(i, cm)| (0..=cm.previous_names.len()).map(move |k| (i, k)));
        inv.config_maps_by_name = ByName::new(inv.config_maps.len(), config_map_names, |place| {
            config_map_key(&inv.config_maps, place)
        });
        if !inv.hpa_by_target.is_empty() {
            let kept = (inv.workloads.iter().map(|w| &*w.id))
                .chain(inv.pdbs.iter().map(|p| &p.id))
                .chain(inv.hpas.iter().map(|h| &h.id))
                .chain(inv.config_maps.iter().map(|c| &c.id))
                .map(|id| KindNameRef(id.namespace.as_deref(), &id.kind, &id.name));
            // The other items' identities are read in place, not copied.
            let other = (others.iter().filter_map(|&i| items.get(i))).filter_map(|doc| {
                let (namespace, kind, name) = match doc {
                    Doc::Tree(node) => namespace_kind_name(node),
                    Doc::Passed(p) => (p.namespace, p.kind, p.name),
                    Doc::Deferred(_) => return None,
                };
                Some(KindNameRef(namespace, kind, name))
            });
            // Looked up borrowed; only the targets found are copied.
            let present: Vec<_> = kept
                .chain(other)
                .filter(|key| inv.hpa_by_target.contains_key(key))
                .map(|KindNameRef(ns, kind, name)| {
                    (ns.map(str::to_owned), kind.to_owned(), name.to_owned())
                })
                .collect();
            inv.present_hpa_targets.extend(present);
        }
        Ok(inv)
    }

    /// The PodDisruptionBudget that covers this workload: same namespace and the workload's own
    /// selector, else one named after it.
    #[must_use]
    pub fn pdb_for(&self, w: &Workload) -> Option<&Pdb> {
        // Indexed, not scanned: a second run sees one PDB per workload.
        let ns = w.id.namespace.as_deref();
        w.selector
            .key()
            .and_then(|json| self.pdb_by_selector.get(&NameRef(ns, &json)))
            .or_else(|| self.pdb_by_name.get(&NameRef(ns, &w.id.name)))
            .and_then(|&i| self.pdbs.get(i))
    }

    /// The workloads (of any kind) with this name in this namespace, in input order: a lookup,
    /// for policies that would otherwise scan every workload for each one.
    pub fn workloads_named<'s>(
        &'s self,
        namespace: Option<&str>,
        name: &str,
    ) -> impl Iterator<Item = &'s WorkloadEntry> + 's {
        (self.workloads_by_name)
            .get((namespace, name), |place| {
                workload_key(&self.workloads, place)
            })
            .into_iter()
            .filter_map(|i| self.workloads.get(i))
    }

    /// The ConfigMaps a pod in `namespace` means by `name` (see [`ConfigMap::known_as`]), in
    /// input order: a lookup instead of a scan of every ConfigMap.
    pub fn config_maps_known_as<'s>(
        &'s self,
        namespace: Option<&str>,
        name: &str,
    ) -> impl Iterator<Item = &'s ConfigMap> + 's {
        (self.config_maps_by_name)
            .get((namespace, name), |place| {
                config_map_key(&self.config_maps, place)
            })
            .into_iter()
            .filter_map(|i| self.config_maps.get(i))
    }

    /// True when the input holds the object of this kind and name in this namespace that an HPA
    /// there targets: only HPA targets are indexed, so ask only about them.
    #[must_use]
    pub fn has_hpa_target(&self, namespace: Option<&str>, kind: &str, name: &str) -> bool {
        self.present_hpa_targets
            .contains(&KindNameRef(namespace, kind, name))
    }

    /// The HPA that scales this workload, if any.
    #[must_use]
    pub fn hpa_for(&self, w: &Workload) -> Option<&Hpa> {
        let key = KindNameRef(w.id.namespace.as_deref(), &w.id.kind, &w.id.name);
        self.hpa_by_target.get(&key).and_then(|&i| self.hpas.get(i))
    }
}

/// A `(namespace, name)` index key, borrowed: it hashes as the owned tuple does (a derived hash
/// hashes the fields in order, as a tuple's does), so lookups copy nothing.
#[derive(Hash)]
struct NameRef<'a>(Option<&'a str>, &'a str);

impl Equivalent<(Option<String>, String)> for NameRef<'_> {
    fn equivalent(&self, key: &(Option<String>, String)) -> bool {
        self.0 == key.0.as_deref() && self.1 == key.1
    }
}

/// A (namespace, name) key, read back from an entry.
type NameKey<'s> = (Option<&'s str>, &'s str);

/// Entries by (namespace, name), holding only their places (entry, and which of its names): the
/// key is read back from the entry, so the index copies no string. Keyed by owned strings, the
/// workload and ConfigMap indexes held two copies per entry (2 MB at 10,000 workloads).
#[derive(Default)]
struct ByName {
    places: HashTable<(usize, usize)>,
    hasher: DefaultHashBuilder,
}

impl fmt::Debug for ByName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ByName({} places)", self.places.len())
    }
}

impl ByName {
    /// Indexes `places` (about `capacity`); `key_of` reads a place's key back.
    fn new<'s>(
        capacity: usize,
        places: impl Iterator<Item = (usize, usize)>,
        key_of: impl Fn((usize, usize)) -> Option<NameKey<'s>>,
    ) -> Self {
        let hasher = DefaultHashBuilder::default();
        let mut table = HashTable::with_capacity(capacity);
        let hash_of = |place: (usize, usize)| key_of(place).map_or(0, |k| hasher.hash_one(k));
        for place in places {
            table.insert_unique(hash_of(place), place, |p| hash_of(*p));
        }
        ByName {
            places: table,
            hasher,
        }
    }

    /// The entries under `key`, in input order, each once.
    fn get<'s>(
        &self,
        key: NameKey<'_>,
        key_of: impl Fn((usize, usize)) -> Option<NameKey<'s>>,
    ) -> Vec<usize> {
        let mut found: Vec<usize> = (self.places.iter_hash(self.hasher.hash_one(key)))
            .filter(|place| key_of(**place) == Some(key))
            .map(|&(entry, _)| entry)
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }
}

fn workload_key(workloads: &[WorkloadEntry], (i, _): (usize, usize)) -> Option<NameKey<'_>> {
    let id = &workloads.get(i)?.id;
    Some((id.namespace.as_deref(), &id.name))
}

/// Name 0 is the ConfigMap's own, then its previous names.
fn config_map_key(config_maps: &[ConfigMap], (i, name): (usize, usize)) -> Option<NameKey<'_>> {
    let cm = config_maps.get(i)?;
    let name = match name.checked_sub(1) {
        None => &cm.id.name,
        Some(previous) => cm.previous_names.get(previous)?,
    };
    Some((cm.id.namespace.as_deref(), name))
}

/// A `(namespace, kind, name)` index key, borrowed, like [`NameRef`].
#[derive(Hash)]
struct KindNameRef<'a>(Option<&'a str>, &'a str, &'a str);

impl Equivalent<(Option<String>, String, String)> for KindNameRef<'_> {
    fn equivalent(&self, key: &(Option<String>, String, String)) -> bool {
        self.0 == key.0.as_deref() && self.1 == key.1 && self.2 == key.2
    }
}

/// Items must be mappings with a kind; kustomization files (which kpt sends too) are exempt.
fn check_item(item: usize, node: &Node<'_>) -> Result<(), InputError> {
    let fail = |message: &str| InputError {
        resource: None,
        path: format!("items[{item}]"),
        message: message.to_owned(),
    };
    if node.as_map().is_none() {
        return Err(fail(
            "is not a mapping; every item must be a Kubernetes object",
        ));
    }
    let has_kind = node
        .get("kind")
        .and_then(Node::as_str)
        .is_some_and(|k| !k.is_empty());
    let kustomization = file_path_of(node).is_some_and(|p| {
        let base = p.rsplit('/').next().unwrap_or_default();
        matches!(
            base,
            "kustomization.yaml" | "kustomization.yml" | "Kustomization"
        )
    });
    if !has_kind && !kustomization {
        let name = node.str_at(&["metadata", "name"]).unwrap_or("<no name>");
        return Err(fail(&format!("(metadata.name {name:?}) has no kind")));
    }
    Ok(())
}

fn workload(
    item: usize,
    node: &Node<'_>,
    id: &Arc<ResourceId>,
    traits: KindTraits,
) -> Result<Workload, InputError> {
    let fail = |path: &str, message: String| InputError::at(id, path, message);
    let labels: BTreeMap<String, String> = match node.get_path(&["metadata", "labels"]) {
        Some(n) => from_node::<Option<BTreeMap<String, String>>>(n)
            .map_err(|e| fail("metadata.labels", e.to_string()))?
            .unwrap_or_default(),
        None => BTreeMap::new(),
    };
    let selector: Selector = match node.get_path(&["spec", "selector"]) {
        Some(n) => from_node::<Option<LabelSelector>>(n)
            .map_err(|e| fail("spec.selector", e.to_string()))?
            .map(Selector::from)
            .unwrap_or_default(),
        None => Selector::default(),
    };
    if selector.is_empty() && (traits.scalable || traits.spreads) {
        let what = if node.get_path(&["spec", "selector"]).is_some() {
            "is empty"
        } else {
            "is missing"
        };
        let message = format!(
            "{what}; envpolicy derives anti-affinity, spread, HPA and PDB selectors from it"
        );
        return Err(fail("spec.selector", message));
    }
    let replicas = match node.get_path(&["spec", "replicas"]) {
        Some(Node::Scalar(s)) if s.is_null() => None,
        Some(n) => Some(from_node::<i32>(n).map_err(|_| {
            fail(
                "spec.replicas",
                format!(
                    "{:?} is not a whole number",
                    n.as_str().unwrap_or("(a collection)")
                ),
            )
        })?),
        None => None,
    };
    let strategy_key = if traits.rollout == RolloutKind::Deployment {
        "strategy"
    } else {
        "updateStrategy"
    };
    let update_strategy = node
        .str_at(&["spec", strategy_key, "type"])
        .map(str::to_owned);
    Ok(Workload {
        core: Arc::new(WorkloadCore {
            item,
            id: Arc::clone(id),
            labels: labels.into(),
            traits,
            selector,
            replicas,
            update_strategy,
            file: file_of(node).map(Arc::new),
            package_path: crate::resource::annotation(
                node,
                crate::resource::PACKAGE_PATH_ANNOTATION,
            )
            .map(str::to_owned),
        }),
        pod: None,
        config_maps: Vec::new(),
    })
}

/// Labels of a workload whose view failed, so selection still sees what it can.
fn lenient_labels(node: &Node<'_>) -> Labels {
    let pairs: BTreeMap<String, String> = node
        .get_path(&["metadata", "labels"])
        .and_then(Node::as_map)
        .map(|m| {
            m.entries
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Labels::from(pairs)
}

/// ConfigMap names the pod reads through env, envFrom, volumes and projected volumes.
fn consumed_config_maps(pod: &PodSpec) -> Vec<String> {
    let mut names = Vec::new();
    let containers = pod
        .containers
        .iter()
        .chain(pod.init_containers.iter().flatten());
    for c in containers {
        for from in c.env_from.iter().flatten() {
            names.extend(from.config_map_ref.as_ref().map(|r| r.name.clone()));
        }
        for env in c.env.iter().flatten() {
            names.extend(
                env.value_from
                    .as_ref()
                    .and_then(|v| v.config_map_key_ref.as_ref())
                    .map(|r| r.name.clone()),
            );
        }
    }
    for v in pod.volumes.iter().flatten() {
        names.extend(v.config_map.as_ref().map(|c| c.name.clone()));
        for source in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
            names.extend(source.config_map.as_ref().map(|c| c.name.clone()));
        }
    }
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A borrowed key must find what its owned key stored: a hash that differed would make the
    /// lookups miss silently (no PDB or HPA found, no shared name seen).
    #[test]
    fn borrowed_keys_find_owned_ones() {
        let names = [
            (None, "web"),
            (Some("shop"), "web"),
            (Some(""), ""),
            (None, ""),
        ];
        let mut by_name: HashMap<(Option<String>, String), usize> = HashMap::new();
        let mut by_target: HashSet<(Option<String>, String, String)> = HashSet::new();
        for (i, (ns, name)) in names.iter().enumerate() {
            by_name.insert((ns.map(str::to_owned), (*name).to_owned()), i);
            by_target.insert((
                ns.map(str::to_owned),
                "Deployment".into(),
                (*name).to_owned(),
            ));
        }
        for (i, (ns, name)) in names.iter().enumerate() {
            assert_eq!(by_name.get(&NameRef(*ns, name)), Some(&i));
            assert!(by_target.contains(&KindNameRef(*ns, "Deployment", name)));
            assert!(!by_target.contains(&KindNameRef(*ns, "StatefulSet", name)));
        }
        assert_eq!(by_name.get(&NameRef(Some("other"), "web")), None);
    }

    /// HPA targets are found among every kind, not only those the inventory keeps: a Service,
    /// a custom resource, an HPA that targets another HPA's kind.
    #[test]
    fn hpa_targets_of_any_kind_are_present() {
        let text = "\
- {apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: a, namespace: shop},
   spec: {scaleTargetRef: {apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: web}}}
- {apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: b, namespace: shop},
   spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}}}
- {apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {name: web, namespace: shop}}
- {apiVersion: v1, kind: Service, metadata: {name: api, namespace: shop}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: shop,
   annotations: {config.kubernetes.io/local-config: 'true'}}}
";
        let items = match crate::yaml::parse_stream(text)
            .ok()
            .and_then(|d| d.into_iter().next())
        {
            Some(Node::Seq(seq)) => seq.items.into_vec(),
            other => panic!("not a list: {other:?}"),
        };
        // In block layout, as kpt sends items: read from a ResourceList, the Service is kept as
        // its text ([`never_read`]) and must still be found.
        let block: Vec<Node<'_>> = items
            .iter()
            .map(|n| Node::from_json(&n.to_json()))
            .collect();
        let list = crate::wire::write(
            None,
            crate::wire::Mode::ResourceList,
            Doc::trees(block),
            &[],
        );
        let read = crate::wire::read(&list, None).expect("read");
        let passed: Vec<&str> = (read.items.iter())
            .filter_map(|d| match d {
                Doc::Passed(p) => Some(p.kind),
                _ => None,
            })
            .collect();
        assert_eq!(passed, ["Service"]);
        for items in [Doc::trees(items), read.items] {
            let inventory = Inventory::read(&items, &Wanted::default(), 1).expect("inventory");
            assert!(inventory.has_hpa_target(Some("shop"), "Rollout", "web"));
            assert!(!inventory.has_hpa_target(Some("shop"), "Deployment", "api"));
            assert!(!inventory.has_hpa_target(None, "Rollout", "web"));
            assert_eq!(inventory.hpas.len(), 2);
            assert!(
                inventory.config_maps.is_empty(),
                "local config is not indexed"
            );
        }
    }

    /// A ConfigMap keeps only the entries a policy asks for: the log level keys with their
    /// values, flagged keys without theirs, in key order; files and other keys are not copied.
    #[test]
    fn config_maps_keep_only_wanted_entries() {
        let text = "\
- {apiVersion: v1, kind: ConfigMap, metadata: {name: c},
   data: {zeta: '1', LOG_LEVEL: debug, app_log: warn, API_TOKEN: t, DB_PASSWORD: p,
          level: {not: a string}, dashboard.json: '{\"panels\": []}'}}
";
        let items = match crate::yaml::parse_stream(text)
            .ok()
            .and_then(|d| d.into_iter().next())
        {
            Some(Node::Seq(seq)) => seq.items.into_vec(),
            other => panic!("not a list: {other:?}"),
        };
        let wanted = Wanted {
            config_map_keys: ["app_log", "LOG_LEVEL", "level"].into_iter().collect(),
            flagged_key: |key| key.ends_with("TOKEN") || key.ends_with("PASSWORD"),
            ..Wanted::default()
        };
        let inventory = Inventory::read(&Doc::trees(items), &wanted, 1).expect("inventory");
        let [cm] = inventory.config_maps.as_slice() else {
            panic!("one ConfigMap: {:?}", inventory.config_maps);
        };
        let entries: Vec<(&str, &str)> = (cm.level_entries.iter())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(entries, [("LOG_LEVEL", "debug"), ("app_log", "warn")]);
        assert_eq!(cm.flagged_keys, ["API_TOKEN", "DB_PASSWORD"]);
    }

    /// The name indexes find every entry under a (namespace, name), in input order, and nothing
    /// of another namespace (or none): workloads of two kinds sharing a name, a ConfigMap by its
    /// own and its previous names, a previous name shared with another ConfigMap.
    #[test]
    fn name_indexes_find_entries_in_input_order() {
        let text = "\
- {apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: a},
   spec: {selector: {matchLabels: {app: web}}, template: {spec: {containers: []}}}}
- {apiVersion: apps/v1, kind: Deployment, metadata: {name: web},
   spec: {selector: {matchLabels: {app: web}}, template: {spec: {containers: []}}}}
- {apiVersion: apps/v1, kind: StatefulSet, metadata: {name: web, namespace: a},
   spec: {selector: {matchLabels: {app: web}}, template: {spec: {containers: []}}}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: p-settings, namespace: a,
   annotations: {internal.config.kubernetes.io/previousNames: 'settings, old-settings'}}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: a}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: settings}}
";
        let items = match crate::yaml::parse_stream(text)
            .ok()
            .and_then(|d| d.into_iter().next())
        {
            Some(Node::Seq(seq)) => seq.items.into_vec(),
            other => panic!("not a list: {other:?}"),
        };
        let inventory =
            Inventory::read(&Doc::trees(items), &Wanted::default(), 1).expect("inventory");
        let workloads = |ns, name| -> Vec<String> {
            (inventory.workloads_named(ns, name))
                .map(|w| format!("{}", w.id))
                .collect()
        };
        assert_eq!(
            workloads(Some("a"), "web"),
            ["Deployment a/web", "StatefulSet a/web"]
        );
        assert_eq!(workloads(None, "web"), ["Deployment web"]);
        assert!(workloads(Some("b"), "web").is_empty());
        let config_maps = |ns, name| -> Vec<usize> {
            (inventory.config_maps_known_as(ns, name))
                .map(|cm| cm.item)
                .collect()
        };
        assert_eq!(config_maps(Some("a"), "settings"), [3, 4]);
        assert_eq!(config_maps(Some("a"), "old-settings"), [3]);
        assert_eq!(config_maps(Some("a"), "p-settings"), [3]);
        assert_eq!(config_maps(None, "settings"), [5]);
        assert!(config_maps(None, "old-settings").is_empty());
    }
}
