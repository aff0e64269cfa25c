//! Resources: the configured requests and limits replace those of every container (init
//! containers keep theirs); values not configured stay.

use serde_json::json;

use super::Plan;
use crate::config::Resources;
use crate::edit::Edit;
use crate::inventory::Workload;

#[must_use]
pub fn plan(w: &Workload, resources: &Resources) -> Plan {
    let mut plan = Plan::default();
    for pc in w.all_containers().filter(|pc| !pc.init) {
        let (container, base) = (pc.container, pc.path().key("resources"));
        for (section, values) in [
            ("requests", &resources.requests),
            ("limits", &resources.limits),
        ] {
            for (resource, quantity) in values {
                let path = base.clone().key(section).key(resource.clone());
                let message = format!(
                    "container {}: {} {section} {quantity}",
                    container.name, resource
                );
                plan.edit(w.item, Edit::set(path, json!(quantity), message));
            }
        }
    }
    plan
}
