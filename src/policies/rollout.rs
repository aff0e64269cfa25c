//! Rollout strategy: Deployment `strategy.rollingUpdate`, DaemonSet `updateStrategy.rollingUpdate`
//! and StatefulSet `updateStrategy.type: RollingUpdate`. When required anti-affinity and the
//! declared `capacity.nodes` leave no node for a surge pod, the surge would stay Pending and the
//! rollout stall: then `maxSurge: 0, maxUnavailable: 1`, with a warning that says why.

use serde_json::json;

use super::{ceil_percent, replica_floor, required_anti_affinity, Context, Plan, Severity};
use crate::config::{Effective, IntOrPercent, Rollout};
use crate::edit::{Edit, FieldPath};
use crate::inventory::{RolloutKind, Workload};

/// Surge pods at `floor` (Kubernetes rounds a surge percentage up).
fn surge_pods(surge: &IntOrPercent, floor: i32) -> i64 {
    match surge {
        IntOrPercent::Int(n) => i64::from(*n),
        IntOrPercent::Percent(p) => ceil_percent(floor, *p),
    }
}

#[must_use]
pub fn plan(w: &Workload, rollout: &Rollout, settings: &Effective, ctx: &Context<'_>) -> Plan {
    let mut plan = Plan::default();
    let user_choice = matches!(w.update_strategy.as_deref(), Some("Recreate" | "OnDelete"));
    if user_choice {
        let message = format!(
            "update strategy {} is left as written; rollout settings apply to RollingUpdate only",
            w.update_strategy.as_deref().unwrap_or_default()
        );
        plan.finding(Severity::Info, w.item, None, message);
        return plan;
    }
    let (mut surge, mut unavailable) = (rollout.max_surge, rollout.max_unavailable);
    if w.traits.rollout == RolloutKind::Deployment && required_anti_affinity(w, settings) {
        if let Some(nodes) = ctx.capacity.nodes {
            let floor = replica_floor(w, settings, ctx.inventory);
            let needed = i64::from(floor) + surge_pods(&surge, floor);
            if needed > i64::from(nodes) {
                let message = format!(
                    "required anti-affinity allows one pod per node: {floor} replicas plus {} surge pod(s) need {needed} nodes but capacity.nodes is {nodes}, so the surge pod would stay Pending and the rollout stall; using maxSurge: 0, maxUnavailable: 1",
                    needed - i64::from(floor)
                );
                plan.finding(
                    Severity::Warning,
                    w.item,
                    Some(FieldPath::keys(&["spec", "strategy", "rollingUpdate"])),
                    message,
                );
                surge = IntOrPercent::Int(0);
                unavailable = IntOrPercent::Int(1);
            }
        }
    }
    let why = |field: &str, value: &IntOrPercent| format!("rolling update {field} {value}");
    match w.traits.rollout {
        RolloutKind::Deployment | RolloutKind::DaemonSet => {
            let base = if w.traits.rollout == RolloutKind::Deployment {
                FieldPath::keys(&["spec", "strategy", "rollingUpdate"])
            } else {
                FieldPath::keys(&["spec", "updateStrategy", "rollingUpdate"])
            };
            plan.edit(
                w.item,
                Edit::set(
                    base.clone().key("maxSurge"),
                    surge.to_json(),
                    why("maxSurge", &surge),
                ),
            );
            plan.edit(
                w.item,
                Edit::set(
                    base.key("maxUnavailable"),
                    unavailable.to_json(),
                    why("maxUnavailable", &unavailable),
                ),
            );
        }
        RolloutKind::StatefulSet => {
            // maxUnavailable for StatefulSets needs a feature gate; the strategy type is what matters.
            let path = FieldPath::keys(&["spec", "updateStrategy", "type"]);
            plan.edit(
                w.item,
                Edit::set(
                    path,
                    json!("RollingUpdate"),
                    "rolling updates for StatefulSet pods",
                ),
            );
        }
        RolloutKind::None => {}
    }
    plan
}
