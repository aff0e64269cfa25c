//! Pods do not notice a changed ConfigMap: kustomize renames *generated* ConfigMaps by content
//! hash, so their consumers roll, but a plain ConfigMap keeps its name. When envpolicy changes
//! one, it stamps a content hash on the pod templates that read it, so the pods roll.

use hashbrown::HashSet;

use crate::edit::Edit;
use crate::inventory::{ConfigMap, Inventory, Workload};
use crate::yaml::Node;

/// The pod-template annotation that carries the hash.
pub const CONFIG_HASH_ANNOTATION: &str = "envpolicy.dev/config-hash";

/// FNV-1a, 64 bits: stable across Rust versions and platforms (std's hasher promises neither),
/// and ten lines instead of a dependency for a non-cryptographic fingerprint.
fn fnv1a(bytes: impl Iterator<Item = u8>) -> u64 {
    bytes.fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The edit stamping the hash of the ConfigMaps a workload reads, when one of them changed in
/// this run (`changed`: item indices). `items` are the items after the run's edits, so the hash
/// is of what will be applied.
#[must_use]
pub fn config_hash_edit(
    items: &[Node<'_>],
    changed: &HashSet<usize>,
    w: &Workload,
    inventory: &Inventory,
) -> Option<(usize, Edit)> {
    let ns = w.id.namespace.as_deref();
    let mut read: Vec<&ConfigMap> = w
        .config_maps
        .iter()
        .flat_map(|name| inventory.config_maps_known_as(ns, name))
        .filter(|cm| !cm.generated)
        .collect();
    read.sort_by_key(|cm| cm.item);
    read.dedup_by_key(|cm| cm.item);
    if !read.iter().any(|cm| changed.contains(&cm.item)) {
        return None;
    }
    let mut text = String::new();
    for cm in read {
        let data = items
            .get(cm.item)
            .and_then(|n| n.get("data"))
            .map_or_else(|| "null".to_owned(), Node::json_text);
        text.push_str(&cm.id.name);
        text.push('\0');
        text.push_str(&data);
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
}
