//! Autoscaling: one `autoscaling/v2` HPA per selected workload, named after it, in its namespace,
//! with its labels. An HPA that already scales the workload is updated, never duplicated, so a
//! second run (which sees the HPA the first one wrote) changes nothing.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{Generated, Plan, Severity};
use crate::config::Autoscaling;
use crate::edit::{Edit, FieldPath};
use crate::inventory::{Inventory, Workload, WorkloadCore};
use crate::report::Message;
use crate::yaml::Node;

#[must_use]
pub fn plan(w: &Workload, settings: &Autoscaling, inventory: &Inventory) -> Plan {
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
                                metric(resource, target).to_json(),
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
            let kind = ("autoscaling/v2", "HorizontalPodAutoscaler");
            let replicas = format!(
                " ({}-{} replicas)",
                settings.min_replicas, settings.max_replicas
            );
            let message = Message::about("created HorizontalPodAutoscaler for ", &w.id, &replicas);
            let (core, settings) = (Arc::clone(w.core()), settings.clone());
            let create = Generated::new(w, kind, "hpa", inventory)
                .create(w, message, move |hpa| new_hpa(&core, &settings, hpa));
            plan.creates.push(create);
        }
    }
    plan
}

/// A CPU or memory utilization metric, as a node for new HPAs (see [`Node::map`]).
fn metric(resource: &'static str, target: i32) -> Node<'static> {
    Node::map([
        ("type", Node::string("Resource")),
        (
            "resource",
            Node::map([
                ("name", Node::string(resource)),
                (
                    "target",
                    Node::map([
                        ("type", Node::string("Utilization")),
                        ("averageUtilization", Node::int(target)),
                    ]),
                ),
            ]),
        ),
    ])
}

fn is_managed_metric(metric: &Value, resource: &str) -> bool {
    metric["type"] == "Resource"
        && metric["resource"]["name"] == resource
        && metric["resource"]["target"]["type"] == "Utilization"
}

/// A new HPA for `w`, as `hpa` says.
fn new_hpa(w: &WorkloadCore, settings: &Autoscaling, hpa: &Generated) -> Node<'static> {
    let metrics = [
        ("cpu", settings.cpu_utilization),
        ("memory", settings.memory_utilization),
    ]
    .into_iter()
    .filter_map(|(resource, target)| Some(metric(resource, target?)));
    let target = Node::map([
        ("apiVersion", Node::string(w.id.api_version.clone())),
        ("kind", Node::string(w.id.kind.clone())),
        ("name", Node::string(w.id.name.clone())),
    ]);
    let [api_version, kind, metadata] = hpa.head(w);
    Node::map([
        api_version,
        kind,
        metadata,
        (
            "spec",
            Node::map([
                ("scaleTargetRef", target),
                ("minReplicas", Node::int(settings.min_replicas)),
                ("maxReplicas", Node::int(settings.max_replicas)),
                ("metrics", Node::seq(metrics)),
            ]),
        ),
    ])
}
