//! The pipeline: select workloads → each policy computes its edits → apply → reports.
//! Nothing here knows the wire format or YAML text.

use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use hashbrown::{HashMap, HashSet};

use crate::config::{Effective, Policy, WorkloadMeta};
use crate::edit::{apply, Edit};
use crate::inventory::{Inventory, Wanted, Workload, WorkloadEntry};
use crate::parallel::{map_in_order, Parallelism};
use crate::policies::{self, Context, Create, Finding, Severity};
use crate::report::{shared, shared_with, FieldReport, Report};
use crate::resource::{file_of, File, ResourceId};
use crate::yaml::{Doc, Node};

/// Applies the policy to the items. On error nothing is returned: the caller writes no items.
pub fn run<'a>(items: Vec<Node<'a>>, policy: &Policy) -> Result<(Vec<Node<'a>>, Vec<Report>)> {
    run_with(Doc::trees(items), policy, Parallelism::default()).map(|done| {
        let items = done.items.into_iter().map(Doc::into_tree).collect();
        (items, done.reports)
    })
}

/// A run's output, and what it built to reason with.
pub struct Outcome<'a> {
    /// The items as edited (some kept as their input text), and the new objects, built when
    /// written.
    pub items: Vec<Doc<'a>>,
    pub reports: Vec<Report>,
    /// Freeing it field by field takes a few percent of a large run, so a process about to exit
    /// may forget it instead.
    pub scratch: Scratch,
}

/// The inventory and the planned workloads.
pub struct Scratch {
    _inventory: Inventory,
    _planned: Vec<(Workload, Arc<Effective>)>,
}

/// [`run`] with the given parallelism; the output does not depend on it. `items` are trees but
/// for those the reader kept as text ([`Doc::Passed`]), which no policy reads or edits.
pub fn run_with<'a>(
    mut items: Vec<Doc<'a>>,
    policy: &Policy,
    parallelism: Parallelism,
) -> Result<Outcome<'a>> {
    read_declared_kinds(&mut items, policy);
    let wanted = Wanted {
        custom: policy.pod_template_paths(),
        config_map_keys: policy.config_map_keys().collect(),
        flagged_key: policies::looks_like_secret,
    };
    let inventory = Inventory::read(&items, &wanted, parallelism.min_part)?;
    let production = policy.is_production();
    let ctx = Context {
        inventory: &inventory,
        kubernetes_version: policy.kubernetes_version(),
        capacity: policy.capacity(),
        check: if policy.strict() && production {
            Severity::Error
        } else {
            Severity::Warning
        },
        production,
    };
    let (selected, override_hits) = select(&inventory, policy)?;
    // A batch at a time: plan its workloads and apply the edits to their own items (on several
    // threads), then the rest in input order, so reports and errors come in the same order as
    // on one thread.
    let mut reports = Vec::new();
    let mut changed = HashSet::new();
    let mut made = Vec::new();
    let mut findings = Vec::new();
    let mut planned: Vec<(Workload, Arc<Effective>)> = Vec::with_capacity(selected.len());
    // Each planned workload's identity, by item, for the reports of later passes about it.
    let mut known: Vec<Option<Identity>> = vec![None; items.len()];
    let workloads = selected.len();
    let mut selected = selected.into_iter().peekable();
    while selected.peek().is_some() {
        let batch: Selection<'_> = selected.by_ref().take(parallelism.batch.max(1)).collect();
        let outcomes = plan_batch(&mut items, &batch, &ctx, parallelism)?;
        if planned.is_empty() {
            reserve_at_first_rate(&outcomes, workloads, &mut reports, &mut made, &mut findings);
        }
        for ((_, settings), outcome) in batch.into_iter().zip(outcomes) {
            let done = outcome?;
            if let Some(slot) = known.get_mut(done.workload.item) {
                *slot = Some(workload_identity(&done.workload));
            }
            reports.extend(done.reports);
            if done.changed {
                changed.insert(done.workload.item);
            }
            if !done.rest.is_empty() {
                apply_edits(
                    &mut items,
                    done.rest,
                    &mut reports,
                    &mut changed,
                    &known,
                    usize::MAX,
                )?;
            }
            made.extend(done.made);
            findings.extend(done.findings);
            planned.push((done.workload, settings));
        }
    }
    let mut rest = policies::config_map_edits(&planned, &inventory, parallelism.min_part);
    rest.extend(policies::input_checks(&planned, &ctx));
    apply_edits(
        &mut items,
        rest.edits,
        &mut reports,
        &mut changed,
        &known,
        parallelism.min_part,
    )?;
    made.extend(rest.creates.into_iter().map(Made::from));
    findings.extend(rest.findings);
    findings.extend(policies::unmatched_selectors(
        policy.strict(),
        !planned.is_empty(),
        &override_hits,
        "spec",
    ));

    // Hashes are of the ConfigMaps as edited, so this pass comes after the first.
    let hashes = policies::config_hash_edits(
        &items,
        &changed,
        planned.iter().map(|(w, _)| w).collect(),
        &inventory,
        parallelism.min_part,
    );
    apply_edits(
        &mut items,
        hashes.into_iter().flatten().collect(),
        &mut reports,
        &mut HashSet::new(),
        &known,
        parallelism.min_part,
    )?;
    reports.extend(finding_reports(
        &items,
        findings,
        &known,
        parallelism.min_part,
    ));
    reports.extend(skipped_reports(&inventory, policy));
    let (items, created) = insert_made(items, made);
    reports.extend(created);
    Ok(Outcome {
        items,
        reports,
        scratch: Scratch {
            _inventory: inventory,
            _planned: planned,
        },
    })
}

/// Items kept as text whose kind `podTemplatePaths` declares a workload are read back as trees:
/// the reader keeps only kinds no built-in policy reads, before the policy is known.
fn read_declared_kinds(items: &mut [Doc<'_>], policy: &Policy) {
    let declared = policy.pod_template_paths();
    if declared.is_empty() {
        return;
    }
    for doc in items.iter_mut() {
        if let Doc::Passed(p) = doc {
            if declared.iter().any(|d| d.matches(p.kind, p.api_version)) {
                *doc = Doc::Tree(p.tree());
            }
        }
    }
}

fn meta(entry: &WorkloadEntry) -> WorkloadMeta<'_> {
    WorkloadMeta {
        kind: &entry.id.kind,
        name: &entry.id.name,
        namespace: entry.id.namespace.as_deref(),
        labels: entry.labels(),
    }
}

/// Selected workloads (without their pod spec, read later) with their settings.
type Selection<'i> = Vec<(&'i Workload, Arc<Effective>)>;

/// The workloads the policy selects, each with its effective settings, and how many workloads
/// each override matched. A selected workload whose view could not be read is an error: its
/// problem is named, never silently passed over. Workloads matched by the same layers share
/// one resolution of their settings: most runs have a handful of combinations.
fn select<'i>(inventory: &'i Inventory, policy: &Policy) -> Result<(Selection<'i>, Vec<usize>)> {
    let mut selected = Vec::with_capacity(inventory.workloads.len());
    let mut override_hits = vec![0; policy.override_count()];
    let mut resolved: HashMap<Vec<usize>, Arc<Effective>> = HashMap::new();
    let mut layers = Vec::new();
    for entry in inventory.workloads.iter().filter(|e| !e.untouchable) {
        if !policy.layers_into(&meta(entry), &mut layers) {
            continue;
        }
        let settings = match resolved.get(layers.as_slice()) {
            Some(settings) => Arc::clone(settings),
            None => {
                let settings = policy
                    .settings_of(&layers, &meta(entry))
                    .map(Arc::new)
                    .map_err(|e| anyhow!("{}: {e}", entry.id))?;
                resolved.insert(layers.clone(), Arc::clone(&settings));
                settings
            }
        };
        for i in policy.matching_overrides(&meta(entry)) {
            if let Some(hits) = override_hits.get_mut(i) {
                *hits += 1;
            }
        }
        let w = entry.view.as_ref().map_err(|e| anyhow!("{e}"))?;
        selected.push((w, settings));
    }
    Ok((selected, override_hits))
}

/// Makes room for all `workloads` at the first batch's rate (new objects and findings become
/// reports too): growing these lists by doubling copied them and touched twice their memory.
/// Only a hint: a first batch unlike the rest must not reserve memory the run never needs, so
/// the room is capped, and a failed reservation leaves the lists to grow as they would.
fn reserve_at_first_rate(
    first: &[Result<Planned>],
    workloads: usize,
    reports: &mut Vec<Report>,
    made: &mut Vec<Made>,
    findings: &mut Vec<Finding>,
) {
    const MOST_PER_WORKLOAD: usize = 64;
    let batch = first.len().max(1);
    let room = |count: usize| {
        let per_workload = (count.div_ceil(batch) + 1).min(MOST_PER_WORKLOAD);
        workloads.saturating_mul(per_workload)
    };
    let (edited, new, found) = first.iter().flatten().fold((0, 0, 0), |(r, c, f), p| {
        (r + p.reports.len(), c + p.made.len(), f + p.findings.len())
    });
    let _ = reports.try_reserve(room(edited + new + found));
    let _ = made.try_reserve(room(new));
    let _ = findings.try_reserve(room(found));
}

/// A workload planned, with the edits to its own item applied.
struct Planned {
    workload: Workload,
    reports: Vec<Report>,
    /// Its item changed.
    changed: bool,
    /// Edits from the first one to another item (an existing HPA or PDB) on, in plan order:
    /// applied after the batch, in input order.
    rest: Vec<(usize, Edit)>,
    made: Vec<Made>,
    findings: Vec<Finding>,
}

/// Plans each workload of a batch from its item as read and applies the edits to that item.
/// Plans read only their own item and edit it or objects that are not workloads, so the batch
/// is shared among threads, each with its own items; the outcomes come back in input order.
/// Each pod view is dropped once planned: one typed pod spec per thread is alive at a time.
fn plan_batch(
    items: &mut [Doc<'_>],
    batch: &[(&Workload, Arc<Effective>)],
    ctx: &Context<'_>,
    parallelism: Parallelism,
) -> Result<Vec<Result<Planned>>> {
    let wanted: Vec<usize> = batch.iter().map(|(w, _)| w.item).collect();
    let nodes = items_at(items, &wanted)?;
    let plan_one = |((light, settings), node): (&(&Workload, Arc<Effective>), &mut Node<'_>)| {
        let mut workload = light.with_pod(node).map_err(|e| anyhow!("{e}"))?;
        let mut plan = policies::plan_workload(&workload, settings, ctx);
        workload.drop_pod();
        let own = plan
            .edits
            .iter()
            .position(|(item, _)| *item != workload.item)
            .unwrap_or(plan.edits.len());
        let rest = plan.edits.split_off(own);
        let mut reports = Vec::new();
        let edits = plan.edits.into_iter().map(|(_, edit)| edit);
        let changed = apply_item_edits(node, edits, &mut reports, &workload_identity(&workload))?;
        Ok(Planned {
            workload,
            reports,
            changed,
            rest,
            made: plan.creates.into_iter().map(Made::from).collect(),
            findings: plan.findings,
        })
    };
    Ok(map_in_order(
        batch.iter().zip(nodes).collect(),
        parallelism.min_part,
        plan_one,
    ))
}

/// The items at the indices in `wanted` (ascending, as workloads are), mutably and apart. Each
/// is a tree: only items no policy edits are kept as text.
fn items_at<'n, 'a>(items: &'n mut [Doc<'a>], wanted: &[usize]) -> Result<Vec<&'n mut Node<'a>>> {
    let mut next = wanted.iter().copied().peekable();
    let mut nodes = Vec::with_capacity(wanted.len());
    let first = wanted.first().copied().unwrap_or_default();
    for (i, doc) in items.iter_mut().enumerate().skip(first) {
        if next.peek() == Some(&i) {
            let node = doc
                .as_tree_mut()
                .ok_or_else(|| anyhow!("internal: item {i} to edit was kept as text"))?;
            nodes.push(node);
            next.next();
        }
        if next.peek().is_none() {
            break;
        }
    }
    if let Some(item) = next.next() {
        bail!("internal: workload item {item} is missing or out of order");
    }
    Ok(nodes)
}

/// Workloads the selector picks but the skip annotation protects: said, so nobody wonders.
fn skipped_reports(inventory: &Inventory, policy: &Policy) -> Vec<Report> {
    inventory
        .workloads
        .iter()
        .filter(|e| e.untouchable && matches!(policy.settings_for(&meta(e)), Ok(Some(_))))
        .map(|e| Report {
            severity: Severity::Info,
            message: "selected but left alone: annotated envpolicy.dev/skip or local config".into(),
            resource: Some(Arc::clone(&e.id)),
            field: None,
            file: None,
        })
        .collect()
}

/// Applies edits in order and notes the items that changed in `changed`; see
/// [`apply_item_edits`]. When each item's edits come together and the items ascend (one edit
/// per workload, one run per ConfigMap), the items are edited apart, on all cores.
fn apply_edits(
    items: &mut [Doc<'_>],
    edits: Vec<(usize, Edit)>,
    reports: &mut Vec<Report>,
    changed: &mut HashSet<usize>,
    known: &[Option<Identity>],
    min_part: usize,
) -> Result<()> {
    let runs: Vec<(usize, Vec<Edit>)> = consecutive_runs(edits, |(item, _)| *item)
        .into_iter()
        .map(|(item, run)| (item, run.into_iter().map(|(_, edit)| edit).collect()))
        .collect();
    if !runs.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0)) {
        for (item, run) in runs {
            let node = items
                .get_mut(item)
                .and_then(Doc::as_tree_mut)
                .ok_or_else(|| anyhow!("internal: edit for missing item {item}"))?;
            let identity = known_or_read(known, item, node);
            if apply_item_edits(node, run, reports, &identity)? {
                changed.insert(item);
            }
        }
        return Ok(());
    }
    let wanted: Vec<usize> = runs.iter().map(|(item, _)| *item).collect();
    let nodes = items_at(items, &wanted)?;
    let outcomes: Vec<Result<(usize, bool, Vec<Report>)>> = map_in_order(
        runs.into_iter().zip(nodes).collect(),
        min_part,
        |((item, run), node)| {
            let mut reports = Vec::new();
            let identity = known_or_read(known, item, node);
            let changed = apply_item_edits(node, run, &mut reports, &identity)?;
            Ok((item, changed, reports))
        },
    );
    for outcome in outcomes {
        let (item, item_changed, item_reports) = outcome?;
        reports.extend(item_reports);
        if item_changed {
            changed.insert(item);
        }
    }
    Ok(())
}

/// Applies one item's edits in order and reports each that changed something (so a second run
/// reports no changes); true when one did.
fn apply_item_edits(
    node: &mut Node<'_>,
    edits: impl IntoIterator<Item = Edit>,
    reports: &mut Vec<Report>,
    (id, file): &Identity,
) -> Result<bool> {
    let mut changed = false;
    for Edit { path, op, message } in edits {
        let applied = apply(node, &path, op).map_err(|e| anyhow!("{id}: {e}"))?;
        if let Some(applied) = applied {
            changed = true;
            reports.push(Report {
                severity: Severity::Info,
                message: shared(&message).into(),
                resource: Some(id.clone()),
                field: Some(Box::new(FieldReport {
                    path: shared_with(|text| path.write_text(text)),
                    current: applied.current,
                    proposed: applied.proposed,
                })),
                file: file.clone(),
            });
        }
    }
    Ok(changed)
}

/// `things` in runs of neighbours with the same key, in order: one workload's edits or findings
/// about an item come together, and each run is handled at once.
fn consecutive_runs<T, K: PartialEq>(
    things: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> K,
) -> Vec<(K, Vec<T>)> {
    let mut runs: Vec<(K, Vec<T>)> = Vec::new();
    for thing in things {
        let k = key(&thing);
        match runs.last_mut() {
            Some((last, run)) if *last == k => run.push(thing),
            _ => runs.push((k, vec![thing])),
        }
    }
    runs
}

/// An item's identity and kpt file, shared by the reports about it. Policies never edit an
/// item's own name, kind, namespace or kpt annotations, so it holds for the whole run.
type Identity = (Arc<ResourceId>, Option<Arc<File>>);

fn identity(node: &Node<'_>) -> Identity {
    (Arc::new(ResourceId::of(node)), file_of(node).map(Arc::new))
}

/// A workload's identity as the inventory read it from its item: shared, not read again.
fn workload_identity(w: &Workload) -> Identity {
    (Arc::clone(&w.id), w.file.clone())
}

/// The identity a planned workload's item already has, else read from the item.
fn known_or_read(known: &[Option<Identity>], item: usize, node: &Node<'_>) -> Identity {
    known
        .get(item)
        .and_then(Option::as_ref)
        .cloned()
        .unwrap_or_else(|| identity(node))
}

/// [`known_or_read`] for an item that may be kept as text, which is read back (no policy makes
/// findings about such kinds, so this does not happen in a run).
fn known_or_read_doc(known: &[Option<Identity>], item: usize, doc: &Doc<'_>) -> Identity {
    match doc {
        Doc::Tree(node) => known_or_read(known, item, node),
        Doc::Passed(p) => known_or_read(known, item, &p.tree()),
        Doc::Deferred(d) => known_or_read(known, item, &d.build()),
    }
}

/// Reports for findings, in order. A workload's findings come together, so each run of findings
/// about one item shares that item's identity, read once.
fn finding_reports(
    items: &[Doc<'_>],
    findings: Vec<Finding>,
    known: &[Option<Identity>],
    min_part: usize,
) -> Vec<Report> {
    let runs = consecutive_runs(findings, |f| f.item);
    let reports = map_in_order(runs, min_part, |(item, run)| {
        let (resource, file) = item
            .and_then(|i| Some(known_or_read_doc(known, i, items.get(i)?)))
            .map_or((None, None), |(id, file)| (Some(id), file));
        run.into_iter()
            .map(|finding| Report {
                severity: finding.severity,
                message: finding.message.into(),
                resource: resource.clone(),
                field: finding.path.map(|path| {
                    Box::new(FieldReport {
                        path,
                        current: None,
                        proposed: None,
                    })
                }),
                file: file.clone(),
            })
            .collect::<Vec<_>>()
    });
    reports.into_iter().flatten().collect()
}

/// A new object, built when written ([`Doc::Deferred`]), with its report.
struct Made {
    after: usize,
    doc: Doc<'static>,
    report: Report,
}

impl From<Create> for Made {
    fn from(create: Create) -> Self {
        let (id, file) = (create.id, create.file);
        let report = Report {
            severity: Severity::Info,
            message: create.message,
            resource: Some(id),
            field: None,
            file,
        };
        Made {
            after: create.after,
            doc: Doc::Deferred(create.object),
            report,
        }
    }
}

/// Inserts new objects right after the item they were made for, in a stable order.
fn insert_made<'a>(items: Vec<Doc<'a>>, mut made: Vec<Made>) -> (Vec<Doc<'a>>, Vec<Report>) {
    made.sort_by_key(|m| m.after);
    let mut reports = Vec::with_capacity(made.len());
    let mut out = Vec::with_capacity(items.len() + made.len());
    let mut made = made.into_iter().peekable();
    for (i, doc) in items.into_iter().enumerate() {
        out.push(doc);
        while let Some(m) = made.next_if(|m| m.after == i) {
            out.push(m.doc);
            reports.push(m.report);
        }
    }
    (out, reports)
}
