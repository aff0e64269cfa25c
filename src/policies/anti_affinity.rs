//! Pod anti-affinity: one term that keeps the workload's own pods apart, preferred in dev and
//! required in prod. The term selects pods with the workload's `spec.selector` (never a guessed
//! `app` label), so it cannot match another workload's pods. Terms the user wrote stay.

use k8s_openapi::api::core::v1::{PodAffinityTerm, WeightedPodAffinityTerm};
use serde_json::json;

use super::{selector_node, Plan};
use crate::config::{AntiAffinity, AntiAffinityMode};
use crate::edit::{Edit, FieldPath};
use crate::inventory::Workload;
use crate::yaml::Node;

const REQUIRED: &str = "requiredDuringSchedulingIgnoredDuringExecution";
const PREFERRED: &str = "preferredDuringSchedulingIgnoredDuringExecution";

fn anti_path(w: &Workload) -> FieldPath {
    w.pod_spec_path().key("affinity").key("podAntiAffinity")
}

/// Ours: selects exactly the workload's pods over the configured topology key.
fn is_ours(term: &PodAffinityTerm, w: &Workload, key: &str) -> bool {
    term.topology_key == key
        && term
            .label_selector
            .as_ref()
            .is_some_and(|s| w.selector.is(s))
        && term.namespaces.as_ref().is_none_or(Vec::is_empty)
        && term.namespace_selector.is_none()
}

#[must_use]
pub fn plan(w: &Workload, settings: &AntiAffinity) -> Plan {
    let mut plan = Plan::default();
    let anti = w
        .pod()
        .affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref());
    let required: &[PodAffinityTerm] = anti
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_deref()
        })
        .unwrap_or_default();
    let preferred: &[WeightedPodAffinityTerm] = anti
        .and_then(|a| {
            a.preferred_during_scheduling_ignored_during_execution
                .as_deref()
        })
        .unwrap_or_default();
    let key = settings.topology_key.as_str();
    let term = || {
        Node::map([
            ("labelSelector", selector_node(w)),
            ("topologyKey", Node::string(key.to_owned())),
        ])
    };
    let required_ours: Vec<usize> = required
        .iter()
        .enumerate()
        .filter(|(_, t)| is_ours(t, w, key))
        .map(|(i, _)| i)
        .collect();
    let preferred_ours: Vec<usize> = preferred
        .iter()
        .enumerate()
        .filter(|(_, t)| is_ours(&t.pod_affinity_term, w, key))
        .map(|(i, _)| i)
        .collect();

    let (keep_required, keep_preferred) = match settings.mode {
        AntiAffinityMode::Required => (true, false),
        AntiAffinityMode::Preferred => (false, true),
        AntiAffinityMode::None => (false, false),
    };
    // Removals go last-first so earlier indices stay valid; then additions.
    let removals = [
        (REQUIRED, &required_ours, keep_required),
        (PREFERRED, &preferred_ours, keep_preferred),
    ];
    for (list, ours, keep) in removals {
        // When kept, one term of ours stays; duplicates of it go.
        let skip = usize::from(keep);
        for &i in ours.iter().skip(skip).rev() {
            let message = format!(
                "anti-affinity is {}: removed envpolicy's {list} term",
                mode_word(settings.mode)
            );
            plan.edit(
                w.item,
                Edit::remove(anti_path(w).key(list).item(i, None), 3, message),
            );
        }
    }
    if keep_required && required_ours.is_empty() {
        let message = format!("required anti-affinity: at most one pod of this workload per {key}");
        plan.edit(
            w.item,
            Edit::append(anti_path(w).key(REQUIRED), term(), message),
        );
    }
    if keep_preferred {
        match preferred_ours.first() {
            None => {
                let message = format!("preferred anti-affinity: spread this workload's pods across {key} when possible");
                plan.edit(
                    w.item,
                    Edit::append(
                        anti_path(w).key(PREFERRED),
                        Node::map([
                            ("weight", Node::int(settings.weight)),
                            ("podAffinityTerm", term()),
                        ]),
                        message,
                    ),
                );
            }
            Some(&i)
                if preferred
                    .get(i)
                    .is_some_and(|t| t.weight != settings.weight) =>
            {
                let path = anti_path(w).key(PREFERRED).item(i, None).key("weight");
                plan.edit(
                    w.item,
                    Edit::set(
                        path,
                        json!(settings.weight),
                        "preferred anti-affinity weight",
                    ),
                );
            }
            Some(_) => {}
        }
    }
    plan
}

fn mode_word(mode: AntiAffinityMode) -> &'static str {
    match mode {
        AntiAffinityMode::Required => "required",
        AntiAffinityMode::Preferred => "preferred",
        AntiAffinityMode::None => "none",
    }
}
