//! Rollout strategy: Deployment `strategy.rollingUpdate`, DaemonSet `updateStrategy.rollingUpdate`
//! and StatefulSet `updateStrategy.type: RollingUpdate`. When required anti-affinity and the
//! declared `capacity.nodes` leave no node for a surge pod, the surge would stay Pending and the
//! rollout stall: then `maxSurge: 0, maxUnavailable: 1`, with a warning that says why.

use serde_json::json;

use super::{anti_affinity_domains, ceil_percent, replica_floor, Context, Plan, Severity};
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
    let domains = anti_affinity_domains(w, settings, ctx.capacity)
        .filter(|_| w.traits.rollout == RolloutKind::Deployment);
    if let Some(d) = domains {
        let floor = replica_floor(w, settings, ctx.inventory);
        let needed = i64::from(floor) + surge_pods(&surge, floor);
        if needed > i64::from(d.count) {
            let message = format!(
                "required anti-affinity allows one pod per {unit}: {floor} replicas plus {} surge pod(s) need {needed} {unit}s but {field} is {count}, so the surge pod would stay Pending and the rollout stall; using maxSurge: 0, maxUnavailable: 1",
                needed - i64::from(floor),
                unit = d.unit,
                field = d.field,
                count = d.count,
            );
            plan.finding(
                Severity::Warning,
                w.item,
                Some(FieldPath::keys(&["spec", "strategy", "rollingUpdate"])),
                message,
            );
            (surge, unavailable) = (IntOrPercent::Int(0), IntOrPercent::Int(1));
        }
    }
    // A DaemonSet runs one pod per node: with a hostPort the surge pod cannot bind it beside
    // the old one, so the rollout would stall.
    let host_port = w
        .pod()
        .containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .any(|p| p.host_port.is_some_and(|h| h > 0));
    if w.traits.rollout == RolloutKind::DaemonSet && host_port && surge_pods(&surge, 1) > 0 {
        let message = "a container uses a hostPort, so a surge pod cannot start beside the old one on its node and the rollout would stall; using maxSurge: 0, maxUnavailable: 1";
        plan.finding(
            Severity::Warning,
            w.item,
            Some(FieldPath::keys(&[
                "spec",
                "updateStrategy",
                "rollingUpdate",
            ])),
            message,
        );
        (surge, unavailable) = (IntOrPercent::Int(0), IntOrPercent::Int(1));
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
