//! The pipeline: select workloads → each policy computes its edits → apply → reports.
//! Nothing here knows the wire format or YAML text.

use anyhow::{anyhow, Result};

use crate::config::{Effective, Policy, WorkloadMeta};
use crate::edit::apply;
use crate::inventory::{Inventory, Workload};
use crate::policies::{self, Plan, Severity};
use crate::report::{FieldReport, Report};
use crate::resource::{file_of, ResourceId};
use crate::yaml::Node;

/// Applies the policy to the items. On error nothing is returned: the caller writes no items.
pub fn run<'a>(items: Vec<Node<'a>>, policy: &Policy) -> Result<(Vec<Node<'a>>, Vec<Report>)> {
    let inventory = Inventory::read(&items)?;
    let selected = select(&inventory, policy)?;
    let mut plan = Plan::default();
    for (w, settings) in &selected {
        plan.extend(policies::plan_workload(w, settings, &inventory));
    }
    plan.extend(policies::config_map_edits(&selected, &inventory));
    let skipped = skipped_reports(&inventory, policy);
    let (items, mut reports) = apply_plan(items, plan)?;
    reports.extend(skipped);
    Ok((items, reports))
}

/// The workloads the policy selects, each with its effective settings. A selected workload whose
/// view could not be read is an error: its problem is named, never silently passed over.
fn select<'i>(inventory: &'i Inventory, policy: &Policy) -> Result<Vec<(&'i Workload, Effective)>> {
    let mut selected = Vec::new();
    for entry in &inventory.workloads {
        if entry.untouchable {
            continue;
        }
        let meta = WorkloadMeta {
            kind: &entry.id.kind,
            name: &entry.id.name,
            namespace: entry.id.namespace.as_deref(),
            labels: &entry.labels,
        };
        let Some(settings) = policy
            .settings_for(&meta)
            .map_err(|e| anyhow!("{}: {e}", entry.id))?
        else {
            continue;
        };
        let w = entry.view.as_ref().map_err(|e| anyhow!("{e}"))?;
        selected.push((w, settings));
    }
    Ok(selected)
}

/// Workloads the selector picks but the skip annotation protects: said, so nobody wonders.
fn skipped_reports(inventory: &Inventory, policy: &Policy) -> Vec<Report> {
    inventory
        .workloads
        .iter()
        .filter(|e| e.untouchable)
        .filter(|e| {
            let meta = WorkloadMeta {
                kind: &e.id.kind,
                name: &e.id.name,
                namespace: e.id.namespace.as_deref(),
                labels: &e.labels,
            };
            matches!(policy.settings_for(&meta), Ok(Some(_)))
        })
        .map(|e| Report {
            severity: Severity::Info,
            message: "selected but left alone: annotated envpolicy.dev/skip or local config".into(),
            resource: Some(e.id.clone()),
            field: None,
            file: None,
        })
        .collect()
}

/// Applies edits item by item, inserts new objects after their workloads, and reports each
/// change that did something. Edits that change nothing report nothing (idempotence).
fn apply_plan<'a>(mut items: Vec<Node<'a>>, plan: Plan) -> Result<(Vec<Node<'a>>, Vec<Report>)> {
    let mut reports = Vec::new();
    for (item, edit) in &plan.edits {
        let node = items
            .get_mut(*item)
            .ok_or_else(|| anyhow!("internal: edit for missing item {item}"))?;
        let id = ResourceId::of(node);
        let applied = apply(node, edit).map_err(|e| anyhow!("{id}: {e}"))?;
        if let Some(applied) = applied {
            reports.push(Report {
                severity: Severity::Info,
                message: edit.message.clone(),
                resource: Some(id),
                field: Some(FieldReport {
                    path: edit.path.to_string(),
                    current: applied.current,
                    proposed: applied.proposed,
                }),
                file: file_of(node),
            });
        }
    }
    for finding in &plan.findings {
        let node = finding.item.and_then(|i| items.get(i));
        reports.push(Report {
            severity: finding.severity,
            message: finding.message.clone(),
            resource: node.map(ResourceId::of),
            field: finding.path.as_ref().map(|p| FieldReport {
                path: p.to_string(),
                current: None,
                proposed: None,
            }),
            file: node.and_then(file_of),
        });
    }
    if plan.creates.is_empty() {
        return Ok((items, reports));
    }
    let mut creates = plan.creates;
    creates.sort_by_key(|c| c.after);
    let mut creates = creates.into_iter().peekable();
    let mut out = Vec::with_capacity(items.len() + creates.len());
    for (i, node) in items.into_iter().enumerate() {
        out.push(node);
        while let Some(create) = creates.next_if(|c| c.after == i) {
            let object = Node::from_json(&create.object);
            reports.push(Report {
                severity: Severity::Info,
                message: create.message.clone(),
                resource: Some(ResourceId::of(&object)),
                field: None,
                file: file_of(&object),
            });
            out.push(object);
        }
    }
    Ok((out, reports))
}
