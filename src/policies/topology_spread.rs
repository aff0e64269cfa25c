//! Topology spread: one constraint that spreads the workload's own pods (its `spec.selector`)
//! over zones, `DoNotSchedule` in prod and `ScheduleAnyway` elsewhere. Deployments add
//! `matchLabelKeys: [pod-template-hash]` so old and new ReplicaSets are spread separately
//! during a rollout (Kubernetes 1.27 and later).

use k8s_openapi::api::core::v1::TopologySpreadConstraint;
use serde_json::json;

use super::{selector_node, Context, Plan};
use crate::config::TopologySpread;
use crate::edit::Edit;
use crate::inventory::Workload;
use crate::yaml::{Fields, Node};

fn is_ours(c: &TopologySpreadConstraint, w: &Workload, key: &str) -> bool {
    c.topology_key == key && c.label_selector.as_ref().is_some_and(|s| w.selector.is(s))
}

#[must_use]
pub fn plan(w: &Workload, spread: &TopologySpread, ctx: &Context<'_>) -> Plan {
    let mut plan = Plan::default();
    let list = w.pod_spec_path().key("topologySpreadConstraints");
    let existing = w
        .pod()
        .topology_spread_constraints
        .as_deref()
        .unwrap_or_default();
    let key = spread.topology_key.as_str();
    let when = spread.when_unsatisfiable.as_str();
    match existing.iter().position(|c| is_ours(c, w, key)) {
        None => {
            let mut constraint = Fields::with_capacity(5);
            constraint.push("maxSkew", Node::int(spread.max_skew));
            constraint.push("topologyKey", Node::string(key.to_owned()));
            constraint.push("whenUnsatisfiable", Node::string(when.to_owned()));
            constraint.push("labelSelector", selector_node(w));
            if w.traits.pod_template_hash && ctx.kubernetes_version >= (1, 27) {
                constraint.push(
                    "matchLabelKeys",
                    Node::seq([Node::string("pod-template-hash")]),
                );
            }
            let message = format!("spread this workload's pods over {key} ({when})");
            plan.edit(w.item, Edit::append(list, constraint.into_node(), message));
        }
        Some(i) => {
            let ours = list.item(i, None);
            if existing
                .get(i)
                .is_some_and(|c| c.max_skew != spread.max_skew)
            {
                plan.edit(
                    w.item,
                    Edit::set(
                        ours.clone().key("maxSkew"),
                        json!(spread.max_skew),
                        "topology spread maxSkew",
                    ),
                );
            }
            if existing
                .get(i)
                .is_some_and(|c| c.when_unsatisfiable != when)
            {
                plan.edit(
                    w.item,
                    Edit::set(
                        ours.key("whenUnsatisfiable"),
                        json!(when),
                        format!("topology spread over {key}: {when}"),
                    ),
                );
            }
        }
    }
    plan
}
