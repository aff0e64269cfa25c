//! The policies: pure functions from a workload view and its effective settings to edits,
//! new objects and findings. They know nothing of YAML text or the wire format.

mod anti_affinity;
mod autoscaling;
mod checks;
mod config_hash;
mod disruption_budget;
mod hardening;
mod log_level;
mod replicas;
mod resources;
mod rollout;
mod topology_spread;

use serde_json::{json, Map, Value};

use crate::config::{AntiAffinityMode, Capacity, Effective};
use crate::edit::{Edit, FieldPath};
use crate::inventory::{Inventory, Workload};
use crate::resource::{PACKAGE_PATH_ANNOTATION, PATH_ANNOTATIONS};

pub use checks::{input_checks, unmatched_selectors};
pub use config_hash::config_hash_edits;
pub use log_level::config_map_edits;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Something worth telling the user that is not itself a change: a risk or a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
    /// The input item it is about.
    pub item: Option<usize>,
    pub path: Option<FieldPath>,
}

/// A new object, placed right after the item it was made for.
#[derive(Debug, Clone, PartialEq)]
pub struct Create {
    pub after: usize,
    pub object: Value,
    pub message: String,
}

/// Everything the policies want done, in the order it will be applied and reported.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Plan {
    pub edits: Vec<(usize, Edit)>,
    pub creates: Vec<Create>,
    pub findings: Vec<Finding>,
}

impl Plan {
    pub fn extend(&mut self, other: Plan) {
        self.edits.extend(other.edits);
        self.creates.extend(other.creates);
        self.findings.extend(other.findings);
    }

    fn edit(&mut self, item: usize, edit: Edit) {
        self.edits.push((item, edit));
    }

    fn finding(
        &mut self,
        severity: Severity,
        item: usize,
        path: Option<FieldPath>,
        message: String,
    ) {
        self.findings.push(Finding {
            severity,
            message,
            item: Some(item),
            path,
        });
    }
}

/// The pod template's path in a workload.
fn pod_spec_path() -> FieldPath {
    FieldPath::keys(&["spec", "template", "spec"])
}

/// Runs every per-workload policy, in a fixed order: resources first, so the autoscaling check
/// sees the requests it will have.
#[must_use]
pub fn plan_workload(w: &Workload, settings: &Effective, inventory: &Inventory) -> Plan {
    let mut plan = Plan::default();
    plan.extend(resources::plan(w, &settings.resources));
    plan.extend(replicas::plan(w, settings, inventory));
    if let Some(anti) = &settings.anti_affinity {
        plan.extend(anti_affinity::plan(w, anti));
    }
    if let Some(level) = &settings.log_level {
        plan.extend(log_level::env_edits(w, level));
    }
    if let Some(scaling) = &settings.autoscaling {
        plan.extend(autoscaling::plan(
            w,
            scaling,
            &settings.resources,
            inventory,
        ));
    }
    plan
}
