//! PodDisruptionBudgets that never block a node drain: one `policy/v1` PDB per workload, its
//! selector the workload's own, computed from the effective replica floor. A budget that would
//! allow no disruption at the floor (`minAvailable` equal to the replicas, `maxUnavailable: 0`)
//! is replaced by `maxUnavailable: 1`, with a warning saying why.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{ceil_percent, replica_floor, selector_node, Context, Generated, Plan, Severity};
use crate::config::{DisruptionBudget, Effective, IntOrPercent};
use crate::edit::{Edit, FieldPath};
use crate::inventory::Workload;
use crate::report::Message;
use crate::yaml::{Fields, Node};

/// Pods a budget field stands for at `floor` (Kubernetes rounds both percentages up).
fn pods(value: &IntOrPercent, floor: i32) -> i32 {
    match value {
        IntOrPercent::Int(n) => *n,
        IntOrPercent::Percent(p) => ceil_percent(floor, *p).try_into().unwrap_or(i32::MAX),
    }
}

/// True when the budget lets at least one pod be evicted with `floor` pods running.
#[must_use]
pub fn allows_disruption(
    min_available: Option<&IntOrPercent>,
    max_unavailable: Option<&IntOrPercent>,
    floor: i32,
) -> bool {
    match (min_available, max_unavailable) {
        (Some(min), _) => pods(min, floor) < floor,
        (None, Some(max)) => pods(max, floor) >= 1,
        (None, None) => true,
    }
}

/// The field and value to write, and a warning when the configured budget had to give way.
fn desired(budget: &DisruptionBudget, floor: i32) -> (&'static str, Value, Option<String>) {
    let one = ("maxUnavailable", json!(1));
    if floor <= 1 {
        return (one.0, one.1, None);
    }
    let configured = match (&budget.min_available, &budget.max_unavailable) {
        (Some(min), _) => Some(("minAvailable", min)),
        (None, Some(max)) => Some(("maxUnavailable", max)),
        (None, None) => None,
    };
    match configured {
        None => (one.0, one.1, None),
        Some((field, value))
            if allows_disruption(
                budget.min_available.as_ref(),
                budget.max_unavailable.as_ref(),
                floor,
            ) =>
        {
            (field, value.to_json(), None)
        }
        Some((field, value)) => {
            let warning = format!(
                "{field}: {value} allows no voluntary disruption at a floor of {floor} replicas, so every node drain would block; using maxUnavailable: 1"
            );
            (one.0, one.1, Some(warning))
        }
    }
}

#[must_use]
pub fn plan(
    w: &Workload,
    budget: &DisruptionBudget,
    settings: &Effective,
    ctx: &Context<'_>,
) -> Plan {
    let mut plan = Plan::default();
    let floor = replica_floor(w, settings, ctx.inventory);
    let (field, value, warning) = desired(budget, floor);
    let other = if field == "maxUnavailable" {
        "minAvailable"
    } else {
        "maxUnavailable"
    };
    // `unhealthyPodEvictionPolicy` is on by default from 1.27 (beta; GA in 1.31): crash-looping
    // pods then never block a drain.
    let always_allow = ctx.kubernetes_version >= (1, 27);
    if let Some(warning) = warning {
        plan.finding(Severity::Warning, w.item, None, warning);
    }
    // The reason names the workload: as an edit's message, or a new budget's (`Message::about`).
    let (why_before, why_after) = (
        "drain-safe disruption budget for ",
        format!(" (replica floor {floor})"),
    );
    let why = format!("{why_before}{}{why_after}", w.id);
    match ctx.inventory.pdb_for(w) {
        Some(pdb) if pdb.skipped => {
            let message = format!(
                "{} covers this workload and is skipped or local; envpolicy leaves it as it is",
                pdb.id
            );
            plan.finding(Severity::Info, w.item, None, message);
        }
        Some(pdb) => {
            let spec = FieldPath::keys(&["spec"]);
            plan.edit(
                pdb.item,
                Edit::set(spec.clone().key(field), value, why.clone()),
            );
            plan.edit(
                pdb.item,
                Edit::remove(
                    spec.clone().key(other),
                    0,
                    format!("{other} replaced by {field}"),
                ),
            );
            if always_allow {
                plan.edit(
                    pdb.item,
                    Edit::set(
                        spec.key("unhealthyPodEvictionPolicy"),
                        json!("AlwaysAllow"),
                        why,
                    ),
                );
            }
        }
        None => {
            let kind = ("policy/v1", "PodDisruptionBudget");
            let message = Message::about(
                &format!("created PodDisruptionBudget: {why_before}"),
                &w.id,
                &why_after,
            );
            let core = Arc::clone(w.core());
            let build = move |pdb: &Generated| {
                let mut spec = Fields::with_capacity(3);
                spec.push(field, Node::from_json(&value));
                spec.push("selector", selector_node(&core));
                if always_allow {
                    spec.push("unhealthyPodEvictionPolicy", Node::string("AlwaysAllow"));
                }
                let [api_version, kind, metadata] = pdb.head(&core);
                Node::map([api_version, kind, metadata, ("spec", spec.into_node())])
            };
            let create = Generated::new(w, kind, "pdb", ctx.inventory).create(w, message, build);
            plan.creates.push(create);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_that_block_drains_are_recognised() {
        let int = IntOrPercent::Int;
        let pct = IntOrPercent::Percent;
        assert!(!allows_disruption(Some(&int(3)), None, 3));
        assert!(allows_disruption(Some(&int(2)), None, 3));
        assert!(
            !allows_disruption(Some(&pct(60)), None, 2),
            "60% of 2 rounds up to 2"
        );
        assert!(
            allows_disruption(Some(&pct(50)), None, 3),
            "50% of 3 rounds up to 2"
        );
        assert!(!allows_disruption(None, Some(&int(0)), 5));
        assert!(!allows_disruption(None, Some(&pct(0)), 5));
        assert!(
            allows_disruption(None, Some(&pct(10)), 5),
            "10% of 5 rounds up to 1"
        );
    }

    #[test]
    fn floor_of_one_always_gets_max_unavailable_one() {
        let budget = DisruptionBudget {
            min_available: Some(IntOrPercent::Int(1)),
            max_unavailable: None,
        };
        let (field, value, warning) = desired(&budget, 1);
        assert_eq!((field, value, warning), ("maxUnavailable", json!(1), None));
        let (field, _, warning) = desired(&budget, 1 + 1);
        assert_eq!(field, "minAvailable");
        assert!(warning.is_none());
        let blocking = DisruptionBudget {
            min_available: Some(IntOrPercent::Int(3)),
            max_unavailable: None,
        };
        let (field, _, warning) = desired(&blocking, 3);
        assert_eq!(field, "maxUnavailable");
        assert!(warning.is_some_and(|w| w.contains("every node drain would block")));
    }
}
