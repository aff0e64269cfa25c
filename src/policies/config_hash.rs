//! Pods do not notice a changed ConfigMap: kustomize renames *generated* ConfigMaps by content
//! hash, so their consumers roll, but a plain ConfigMap keeps its name. When envpolicy changes
//! one, it stamps a content hash on the pod templates that read it, so the pods roll.

use hashbrown::{HashMap, HashSet};

use crate::edit::Edit;
use crate::inventory::{ConfigMap, Inventory, Workload};
use crate::parallel::map_in_order;
use crate::yaml::{Doc, Node};

/// The pod-template annotation that carries the hash.
pub const CONFIG_HASH_ANNOTATION: &str = "envpolicy.dev/config-hash";

/// FNV-1a, 64 bits: stable across Rust versions and platforms (std's hasher promises neither),
/// and ten lines instead of a dependency for a non-cryptographic fingerprint.
fn fnv1a(bytes: impl Iterator<Item = u8>) -> u64 {
    bytes.fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The edits stamping, on each of `workloads` that reads a ConfigMap changed in this run
/// (`changed`: item indices), the hash of every ConfigMap it reads; `None` for the others.
/// `items` are the items after the run's edits, so the hash is of what will be applied.
///
/// Each ConfigMap's content is digested once, and a workload's hash is of the names and
/// digests of what it reads: hashing the whole content per workload made a ConfigMap that
/// every workload reads (a shared dashboard or platform config) cost workloads × its size.
#[must_use]
pub fn config_hash_edits(
    items: &[Doc<'_>],
    changed: &HashSet<usize>,
    workloads: Vec<&Workload>,
    inventory: &Inventory,
    min_part: usize,
) -> Vec<Option<(usize, Edit)>> {
    let reads: Vec<(&Workload, Option<Vec<&ConfigMap>>)> = workloads
        .into_iter()
        .map(|w| (w, read_if_changed(w, inventory, changed)))
        .collect();
    let mut needed: Vec<&ConfigMap> = reads
        .iter()
        .flat_map(|(_, r)| r.iter().flatten())
        .copied()
        .collect();
    needed.sort_by_key(|cm| cm.item);
    needed.dedup_by_key(|cm| cm.item);
    let digests: HashMap<usize, u64> =
        map_in_order(needed, min_part, |cm| (cm.item, content_digest(items, cm)))
            .into_iter()
            .collect();
    map_in_order(reads, min_part, |(w, read)| {
        let mut text = String::new();
        for cm in read? {
            let digest = digests.get(&cm.item)?;
            text.push_str(&cm.id.name);
            text.push('\0');
            text.push_str(&format!("{digest:016x}"));
            text.push('\0');
        }
        let hash = format!("{:016x}", fnv1a(text.bytes()));
        let path = w
            .template_path()
            .key("metadata")
            .key("annotations")
            .key(CONFIG_HASH_ANNOTATION);
        Some((
            w.item,
            Edit::set(
                path,
                Node::string(hash),
                "ConfigMap content changed: roll the pods that read it",
            ),
        ))
    })
}

/// The ConfigMaps (not generated ones: kustomize renames those) a workload reads, in input
/// order, if one of them changed in this run.
fn read_if_changed<'i>(
    w: &Workload,
    inventory: &'i Inventory,
    changed: &HashSet<usize>,
) -> Option<Vec<&'i ConfigMap>> {
    let ns = w.id.namespace.as_deref();
    let mut read: Vec<&ConfigMap> = w
        .config_maps
        .iter()
        .flat_map(|name| inventory.config_maps_known_as(ns, name))
        .filter(|cm| !cm.generated)
        .collect();
    read.sort_by_key(|cm| cm.item);
    read.dedup_by_key(|cm| cm.item);
    read.iter()
        .any(|cm| changed.contains(&cm.item))
        .then_some(read)
}

/// A ConfigMap's `data` as applied, digested.
fn content_digest(items: &[Doc<'_>], cm: &ConfigMap) -> u64 {
    let data = items
        .get(cm.item)
        .and_then(Doc::as_tree)
        .and_then(|n| n.get("data"))
        .map_or_else(|| "null".to_owned(), Node::json_text);
    fnv1a(data.bytes())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::Policy;
    use crate::yaml::parse_stream;

    /// Runs the staging preset (log level info) over `items` (a YAML list) and returns each
    /// Deployment's config hash by name.
    fn hashes(items: &str) -> Vec<(String, Option<String>)> {
        let items = match parse_stream(items).ok().and_then(|d| d.into_iter().next()) {
            Some(Node::Seq(seq)) => seq.items.into_vec(),
            other => panic!("not a list: {other:?}"),
        };
        let config = json!({
            "apiVersion": "envpolicy.dev/v1alpha1",
            "kind": "EnvironmentPolicy",
            "metadata": {"name": "staging"},
            "spec": {"environment": "staging"},
        });
        let policy = Policy::from_config(Some(&config)).expect("policy");
        let (items, _) = crate::run::run(items, &policy).expect("run");
        items
            .iter()
            .filter(|i| i.str_at(&["kind"]) == Some("Deployment"))
            .map(|i| {
                let name = i.str_at(&["metadata", "name"]).unwrap_or_default();
                let path = [
                    "spec",
                    "template",
                    "metadata",
                    "annotations",
                    CONFIG_HASH_ANNOTATION,
                ];
                (name.to_owned(), i.str_at(&path).map(str::to_owned))
            })
            .collect()
    }

    fn deployment(name: &str, config_maps: &[&str]) -> String {
        let refs: Vec<String> = (config_maps.iter())
            .map(|cm| format!("{{configMapRef: {{name: {cm}}}}}"))
            .collect();
        format!(
            "- {{apiVersion: apps/v1, kind: Deployment, metadata: {{name: {name}}}, spec: \
             {{selector: {{matchLabels: {{app: {name}}}}}, template: {{metadata: {{labels: \
             {{app: {name}}}}}, spec: {{containers: [{{name: c, image: i, envFrom: [{}]}}]}}}}}}}}\n",
            refs.join(", ")
        )
    }

    fn config_map(name: &str, data: &str) -> String {
        format!("- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: {name}}}, data: {data}}}\n")
    }

    /// The hash is of the set of ConfigMaps a workload reads and of their applied content:
    /// equal sets give equal hashes whatever the order of the references, another set or other
    /// content another hash, and a workload whose ConfigMaps did not change gets none.
    #[test]
    fn hash_follows_the_configmaps_read_and_their_content() {
        let shared = config_map("shared", "{LOG_LEVEL: debug, big: 'x'}");
        let other = config_map("other", "{a: '1'}");
        let quiet = config_map("quiet", "{a: '1'}");
        let input = [
            shared.clone(),
            other.clone(),
            quiet.clone(),
            deployment("a", &["shared"]),
            deployment("b", &["shared"]),
            deployment("c", &["shared", "other"]),
            deployment("d", &["other", "shared"]),
            deployment("e", &["quiet"]),
        ]
        .concat();
        let first = hashes(&input);
        let hash = |name: &str| {
            (first.iter())
                .find(|(n, _)| n == name)
                .and_then(|(_, h)| h.clone())
        };
        assert!(hash("a").is_some(), "{first:?}");
        assert_eq!(hash("a"), hash("b"));
        assert_ne!(hash("a"), hash("c"));
        assert_eq!(hash("c"), hash("d"), "reference order does not matter");
        assert_eq!(hash("e"), None, "quiet did not change");
        // Other content in a ConfigMap read along with the changed one: another hash.
        let changed_other = input.replace(
            "{a: '1'}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: quiet}",
            "{a: '2'}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: quiet}",
        );
        assert_ne!(changed_other, input);
        let second = hashes(&changed_other);
        assert_eq!(second.first(), first.first(), "a reads only shared");
        assert_ne!(second.get(2), first.get(2), "c reads other too");
        // Other content in the shared one changes every reader's hash.
        let bigger = input.replace("big: 'x'", "big: 'y'");
        let third = hashes(&bigger);
        for (before, after) in first.iter().zip(&third).take(4) {
            assert_ne!(before, after);
        }
    }
}
