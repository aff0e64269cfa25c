//! Autoscaling: one `autoscaling/v2` HPA per selected workload, named after it, in its namespace,
//! with its labels. An HPA that already scales the workload is updated, never duplicated, so a
//! second run (which sees the HPA the first one wrote) changes nothing.

use serde_json::{json, Map, Value};

use super::{pod_spec_path, Create, Plan, Severity};
use crate::config::{Autoscaling, Resources};
use crate::edit::{Edit, FieldPath};
use crate::inventory::{Inventory, Workload};
use crate::resource::{PACKAGE_PATH_ANNOTATION, PATH_ANNOTATIONS};

#[must_use]
pub fn plan(
    w: &Workload,
    settings: &Autoscaling,
    resources: &Resources,
    inventory: &Inventory,
) -> Plan {
    let mut plan = Plan::default();
    match inventory.hpa_for(w) {
        Some(hpa) if hpa.skipped => {
            let message = format!(
                "{} scales this workload and is skipped or local; envpolicy leaves it as it is",
                hpa.id
            );
            plan.finding(Severity::Info, w.item, None, message);
        }
        Some(hpa) if hpa.id.api_version != "autoscaling/v2" => {
            let message = format!(
                "{} is {}; envpolicy manages autoscaling/v2 HPAs and leaves it as it is",
                hpa.id, hpa.id.api_version
            );
            plan.finding(Severity::Warning, hpa.item, None, message);
        }
        Some(hpa) => {
            let spec = FieldPath::keys(&["spec"]);
            let why = |what: &str| format!("autoscaling: {what} for {}", w.id);
            plan.edit(
                hpa.item,
                Edit::set(
                    spec.clone().key("minReplicas"),
                    json!(settings.min_replicas),
                    why("minReplicas"),
                ),
            );
            plan.edit(
                hpa.item,
                Edit::set(
                    spec.clone().key("maxReplicas"),
                    json!(settings.max_replicas),
                    why("maxReplicas"),
                ),
            );
            // Only the CPU and memory utilization metrics are envpolicy's; the rest stay untouched.
            let metrics_path = spec.key("metrics");
            let mut removals = Vec::new();
            for (resource, target) in [
                ("cpu", settings.cpu_utilization),
                ("memory", settings.memory_utilization),
            ] {
                let existing = hpa
                    .metrics
                    .iter()
                    .position(|m| is_managed_metric(m, resource));
                match (existing, target) {
                    (Some(i), Some(target)) => {
                        let path = metrics_path
                            .clone()
                            .item(i, None)
                            .key("resource")
                            .key("target")
                            .key("averageUtilization");
                        plan.edit(
                            hpa.item,
                            Edit::set(
                                path,
                                json!(target),
                                why(&format!("{resource} utilization target")),
                            ),
                        );
                    }
                    (None, Some(target)) => {
                        plan.edit(
                            hpa.item,
                            Edit::append(
                                metrics_path.clone(),
                                metric(resource, target),
                                why(&format!("{resource} utilization target")),
                            ),
                        );
                    }
                    (Some(i), None) => removals.push((i, resource)),
                    (None, None) => {}
                }
            }
            // Removals last and from the end, so the indices above stay valid.
            removals.sort_unstable_by_key(|r| std::cmp::Reverse(r.0));
            for (i, resource) in removals {
                let message = why(&format!(
                    "{resource} utilization target removed (configured 0)"
                ));
                plan.edit(
                    hpa.item,
                    Edit::remove(metrics_path.clone().item(i, None), 1, message),
                );
            }
        }
        None => {
            let object = new_hpa(w, settings);
            let message = format!(
                "created HorizontalPodAutoscaler for {} ({}-{} replicas)",
                w.id, settings.min_replicas, settings.max_replicas
            );
            plan.creates.push(Create {
                after: w.item,
                object,
                message,
            });
        }
    }
    plan.extend(missing_requests(w, settings, resources));
    plan
}

fn metric(resource: &str, target: i32) -> Value {
    json!({"type": "Resource", "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": target}}})
}

fn is_managed_metric(metric: &Value, resource: &str) -> bool {
    metric["type"] == "Resource"
        && metric["resource"]["name"] == resource
        && metric["resource"]["target"]["type"] == "Utilization"
}

fn new_hpa(w: &Workload, settings: &Autoscaling) -> Value {
    let metrics: Vec<Value> = [
        ("cpu", settings.cpu_utilization),
        ("memory", settings.memory_utilization),
    ]
    .into_iter()
    .filter_map(|(resource, target)| Some(metric(resource, target?)))
    .collect();
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(w.id.name));
    if let Some(ns) = &w.id.namespace {
        metadata.insert("namespace".into(), json!(ns));
    }
    if !w.labels.is_empty() {
        metadata.insert("labels".into(), json!(w.labels));
    }
    // kpt writes the HPA in a file beside the workload's (no index: kpt appends; never ids).
    let mut annotations = Map::new();
    if let Some(file) = &w.file {
        let dir = file
            .rsplit_once('/')
            .map(|(d, _)| format!("{d}/"))
            .unwrap_or_default();
        for key in PATH_ANNOTATIONS {
            annotations.insert(key.into(), json!(format!("{dir}hpa-{}.yaml", w.id.name)));
        }
    }
    if let Some(package) = &w.package_path {
        annotations.insert(PACKAGE_PATH_ANNOTATION.into(), json!(package));
    }
    if !annotations.is_empty() {
        metadata.insert("annotations".into(), Value::Object(annotations));
    }
    json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata,
        "spec": {
            "scaleTargetRef": {"apiVersion": w.id.api_version, "kind": w.id.kind, "name": w.id.name},
            "minReplicas": settings.min_replicas,
            "maxReplicas": settings.max_replicas,
            "metrics": metrics,
        }
    })
}

/// An HPA with a utilization target never scales when a container lacks that request.
fn missing_requests(w: &Workload, settings: &Autoscaling, resources: &Resources) -> Plan {
    let mut plan = Plan::default();
    let sidecars = w
        .pod
        .init_containers
        .iter()
        .flatten()
        .enumerate()
        .filter(|(_, c)| c.restart_policy.as_deref() == Some("Always"));
    let containers = w
        .pod
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| ("containers", i, c, true));
    let all = containers.chain(sidecars.map(|(i, c)| ("initContainers", i, c, false)));
    for (list, i, c, configured) in all {
        for (resource, target) in [
            ("cpu", settings.cpu_utilization),
            ("memory", settings.memory_utilization),
        ] {
            if target.is_none() {
                continue;
            }
            let has = c
                .resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
                .is_some_and(|r| r.contains_key(resource))
                || (configured && resources.requests.contains_key(resource));
            if !has {
                let path = pod_spec_path()
                    .key(list)
                    .item(i, Some(&c.name))
                    .key("resources")
                    .key("requests")
                    .key(resource);
                let message = format!(
                    "container {} has no {resource} request, so the HPA's {resource} utilization target can never be computed and it will not scale; set resources.requests.{resource}",
                    c.name
                );
                plan.finding(Severity::Warning, w.item, Some(path), message);
            }
        }
    }
    plan
}
