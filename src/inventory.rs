//! Typed, read-only views of the input the policies reason about: workloads, HPAs and
//! ConfigMaps, each indexed once so no policy scans every item per workload.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use k8s_openapi::api::autoscaling::v2::CrossVersionObjectReference;
use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::resource::{file_of, is_local_config, is_skipped, ResourceId};
use crate::yaml::{from_node, Node};

/// Kinds whose pod template lives at `spec.template` and which envpolicy manages.
pub const WORKLOAD_KINDS: &[&str] = &["Deployment", "StatefulSet"];

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

/// A Deployment or StatefulSet as the policies see it.
#[derive(Debug, Clone)]
pub struct Workload {
    pub item: usize,
    pub id: ResourceId,
    pub labels: BTreeMap<String, String>,
    pub selector: LabelSelector,
    pub has_replicas: bool,
    pub pod: PodSpec,
    /// kpt file and package annotations, copied onto objects generated for this workload.
    pub file: Option<String>,
    pub package_path: Option<String>,
    /// ConfigMaps its pods read (env, envFrom, volumes), by name.
    pub config_maps: Vec<String>,
}

/// An HPA in the input and what it scales.
#[derive(Debug, Clone)]
pub struct Hpa {
    pub item: usize,
    pub id: ResourceId,
    pub target: CrossVersionObjectReference,
    /// `spec.metrics` as JSON: the user's custom metrics are kept when envpolicy updates it.
    pub metrics: Vec<serde_json::Value>,
    pub skipped: bool,
}

/// A ConfigMap's string data.
#[derive(Debug, Clone)]
pub struct ConfigMap {
    pub item: usize,
    pub id: ResourceId,
    /// Every name pods may refer to it by: kustomize's `namePrefix` renames the ConfigMap
    /// before envpolicy runs but fixes references only afterwards, so the pods still use a
    /// name kept in `internal.config.kubernetes.io/previousNames`.
    pub names: Vec<String>,
    pub data: BTreeMap<String, String>,
}

impl ConfigMap {
    /// True when a pod reference by `name` means this ConfigMap.
    #[must_use]
    pub fn known_as(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }
}

/// A workload candidate: its view, or why it could not be read (raised only if selected).
#[derive(Debug, Clone)]
pub struct WorkloadEntry {
    pub id: ResourceId,
    pub labels: BTreeMap<String, String>,
    /// Skipped by annotation, or local config: never changed.
    pub untouchable: bool,
    pub view: Result<Workload, InputError>,
}

#[derive(Debug, Default)]
pub struct Inventory {
    /// Every Deployment and StatefulSet, in input order.
    pub workloads: Vec<WorkloadEntry>,
    pub hpas: Vec<Hpa>,
    pub config_maps: Vec<ConfigMap>,
    hpa_by_target: HashMap<(Option<String>, String, String), usize>,
}

impl Inventory {
    /// Reads the views; fails only on items no client would accept (not a mapping, no kind).
    pub fn read(items: &[Node<'_>]) -> Result<Inventory, InputError> {
        let mut inv = Inventory::default();
        for (item, node) in items.iter().enumerate() {
            check_item(item, node)?;
            let id = ResourceId::of(node);
            let untouchable = is_skipped(node) || is_local_config(node);
            match (id.group(), id.kind.as_str()) {
                ("apps", kind) if WORKLOAD_KINDS.contains(&kind) => {
                    let view = workload(item, node, &id);
                    let labels = match &view {
                        Ok(w) => w.labels.clone(),
                        Err(_) => lenient_labels(node),
                    };
                    inv.workloads.push(WorkloadEntry {
                        id,
                        labels,
                        untouchable,
                        view,
                    });
                }
                ("autoscaling", "HorizontalPodAutoscaler") => {
                    let target = node
                        .get_path(&["spec", "scaleTargetRef"])
                        .map(from_node::<CrossVersionObjectReference>);
                    if let Some(Ok(target)) = target {
                        let key = (
                            id.namespace.clone(),
                            target.kind.clone(),
                            target.name.clone(),
                        );
                        inv.hpa_by_target.entry(key).or_insert(inv.hpas.len());
                        let metrics = match node.get_path(&["spec", "metrics"]).map(Node::to_json) {
                            Some(serde_json::Value::Array(m)) => m,
                            _ => Vec::new(),
                        };
                        inv.hpas.push(Hpa {
                            item,
                            id,
                            target,
                            metrics,
                            skipped: untouchable,
                        });
                    }
                }
                ("", "ConfigMap") if !untouchable => {
                    let data = match node.get("data") {
                        Some(d) => {
                            from_node::<BTreeMap<String, Option<String>>>(d).map_err(|e| {
                                InputError {
                                    resource: Some(Box::new(id.clone())),
                                    path: format!("data.{}", e.path)
                                        .trim_end_matches('.')
                                        .to_owned(),
                                    message: e.message,
                                }
                            })?
                        }
                        None => BTreeMap::new(),
                    };
                    let data = data
                        .into_iter()
                        .map(|(k, v)| (k, v.unwrap_or_default()))
                        .collect();
                    let mut names = vec![id.name.clone()];
                    let previous = crate::resource::annotation(
                        node,
                        "internal.config.kubernetes.io/previousNames",
                    );
                    names.extend(
                        previous
                            .into_iter()
                            .flat_map(|p| p.split(','))
                            .map(|n| n.trim().to_owned())
                            .filter(|n| !n.is_empty()),
                    );
                    names.dedup();
                    inv.config_maps.push(ConfigMap {
                        item,
                        id,
                        names,
                        data,
                    });
                }
                _ => {}
            }
        }
        Ok(inv)
    }

    /// The HPA that scales this workload, if any.
    #[must_use]
    pub fn hpa_for(&self, w: &Workload) -> Option<&Hpa> {
        let key = (w.id.namespace.clone(), w.id.kind.clone(), w.id.name.clone());
        self.hpa_by_target.get(&key).and_then(|&i| self.hpas.get(i))
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
    let kustomization = file_of(node).is_some_and(|(p, _)| {
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

fn workload(item: usize, node: &Node<'_>, id: &ResourceId) -> Result<Workload, InputError> {
    let fail = |path: &str, message: String| InputError {
        resource: Some(Box::new(id.clone())),
        path: path.to_owned(),
        message,
    };
    let view = |path: &'static [&'static str]| node.get_path(path);
    let labels: BTreeMap<String, String> = match view(&["metadata", "labels"]) {
        Some(n) => from_node::<Option<BTreeMap<String, String>>>(n)
            .map_err(|e| fail("metadata.labels", e.to_string()))?
            .unwrap_or_default(),
        None => BTreeMap::new(),
    };
    let selector: LabelSelector = match view(&["spec", "selector"]) {
        Some(n) => from_node(n).map_err(|e| fail("spec.selector", e.to_string()))?,
        None => {
            return Err(fail(
                "spec.selector",
                "is missing; envpolicy derives anti-affinity and HPA targets from it".into(),
            ))
        }
    };
    if selector
        .match_labels
        .as_ref()
        .is_none_or(BTreeMap::is_empty)
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(Vec::is_empty)
    {
        return Err(fail(
            "spec.selector",
            "is empty; it must select the workload's own pods".into(),
        ));
    }
    let template: PodTemplateSpec = match view(&["spec", "template"]) {
        Some(n) => {
            from_node(n).map_err(|e| fail(&format!("spec.template.{}", e.path), e.message))?
        }
        None => return Err(fail("spec.template", "is missing".into())),
    };
    let pod = template
        .spec
        .ok_or_else(|| fail("spec.template.spec", "is missing".into()))?;
    if let Some(Node::Scalar(s)) = view(&["spec", "replicas"]) {
        if !s.is_null() && s.value.parse::<i64>().is_err() {
            return Err(fail(
                "spec.replicas",
                format!("{:?} is not a whole number", s.value),
            ));
        }
    }
    let config_maps = consumed_config_maps(&pod);
    Ok(Workload {
        item,
        id: id.clone(),
        labels,
        selector,
        has_replicas: view(&["spec", "replicas"])
            .is_some_and(|n| !n.as_scalar().is_some_and(|s| s.is_null())),
        pod,
        file: file_of(node).map(|(p, _)| p),
        package_path: crate::resource::annotation(node, crate::resource::PACKAGE_PATH_ANNOTATION)
            .map(str::to_owned),
        config_maps,
    })
}

/// Labels of a workload whose view failed, so selection still sees what it can.
fn lenient_labels(node: &Node<'_>) -> BTreeMap<String, String> {
    node.get_path(&["metadata", "labels"])
        .and_then(Node::as_map)
        .map(|m| {
            m.entries
                .iter()
                .filter_map(|(k, v)| Some((k.value.to_string(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
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
