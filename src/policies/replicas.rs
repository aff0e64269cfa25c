//! Replicas: a fixed count is set; when an HPA owns the workload the count is removed, since a
//! GitOps apply of `spec.replicas` would otherwise fight the HPA on every sync.

use serde_json::json;

use super::{Plan, Severity};
use crate::config::Effective;
use crate::edit::{Edit, FieldPath};
use crate::inventory::{Inventory, Workload};

#[must_use]
pub fn plan(w: &Workload, settings: &Effective, inventory: &Inventory) -> Plan {
    let mut plan = Plan::default();
    let path = FieldPath::keys(&["spec", "replicas"]);
    let existing_hpa = inventory.hpa_for(w);
    match (settings.replicas, &settings.autoscaling, existing_hpa) {
        (Some(count), _, hpa) => {
            plan.edit(
                w.item,
                Edit::set(
                    path.clone(),
                    json!(count),
                    format!("fixed replica count {count}"),
                ),
            );
            if let Some(hpa) = hpa {
                let message = format!(
                    "{} scales this workload and will override the fixed replica count {count}; remove the HPA or configure autoscaling instead",
                    hpa.id
                );
                plan.finding(Severity::Warning, w.item, Some(path), message);
            }
        }
        (None, Some(_), _) | (None, None, Some(_)) if w.replicas.is_some() => {
            plan.edit(
                w.item,
                Edit::remove(path, 0, "removed: an HPA owns the replica count and an applied spec.replicas would fight it (on a live cluster, the first client-side apply without it can reset the Deployment to 1 replica until the HPA reacts)"),
            );
        }
        _ => {}
    }
    plan
}
