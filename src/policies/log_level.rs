//! Log level: set in the ConfigMaps a selected workload reads that hold one of the configured
//! keys, and in literal env vars of the configured names (`valueFrom` stays). The existing
//! value's letter case is kept: `INFO` becomes `WARN`, `info` becomes `warn`.

use std::sync::Arc;

use hashbrown::HashMap;

use super::{Plan, Severity};
use crate::config::{Effective, LogLevel};
use crate::edit::{Edit, FieldPath};
use crate::inventory::{ConfigMap, Inventory, Workload};
use crate::parallel::map_in_order;
use crate::yaml::Node;

/// `level` written in the letter case of `current`.
#[must_use]
pub fn in_case_of(current: &str, level: &str) -> String {
    let letters = || current.chars().filter(|c| c.is_alphabetic());
    if letters().next().is_none() {
        level.to_owned()
    } else if letters().all(char::is_uppercase) {
        level.to_uppercase()
    } else if letters().all(char::is_lowercase) {
        level.to_lowercase()
    } else if current.chars().next().is_some_and(char::is_uppercase)
        && letters().skip(1).all(char::is_lowercase)
    {
        let lower = level.to_lowercase();
        let mut chars = lower.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    } else {
        level.to_owned()
    }
}

/// Literal env vars of the configured names, in every container and init container.
#[must_use]
pub fn env_edits(w: &Workload, settings: &LogLevel) -> Plan {
    let mut plan = Plan::default();
    for pc in w.all_containers() {
        for (ei, env) in pc.container.env.iter().flatten().enumerate() {
            let (Some(value), true) = (&env.value, settings.env_vars.contains(&env.name)) else {
                continue;
            };
            let path = pc.path().key("env").item(ei, Some(&env.name)).key("value");
            let message = format!(
                "container {}: log level {}",
                pc.container.name, settings.level
            );
            plan.edit(
                w.item,
                Edit::set(
                    path,
                    Node::string(in_case_of(value, &settings.level)),
                    message,
                ),
            );
        }
    }
    plan
}

/// The level each ConfigMap gets: (namespace, name) → (level settings, workload that chose it).
type Levels<'s> = HashMap<(Option<&'s str>, &'s str), (&'s LogLevel, &'s Workload)>;

/// ConfigMap keys, for the ConfigMaps selected workloads read. A ConfigMap read by workloads
/// configured with different levels keeps the first one's and gets a warning. The first pass
/// (who decides) runs in input order; the ConfigMaps are then edited apart, on all cores.
#[must_use]
pub fn config_map_edits(
    selected: &[(Workload, Arc<Effective>)],
    inventory: &Inventory,
    min_part: usize,
) -> Plan {
    let mut plan = Plan::default();
    let mut wanted: Levels<'_> = HashMap::with_capacity(selected.len());
    for (w, settings) in selected {
        let Some(level) = &settings.log_level else {
            continue;
        };
        for name in &w.config_maps {
            let key = (w.id.namespace.as_deref(), name.as_str());
            match wanted.get(&key) {
                None => {
                    wanted.insert(key, (level, w));
                }
                Some((first, by)) if first.level != level.level => {
                    let message = format!(
                        "ConfigMap {name} is read by {} (log level {}) and {} (log level {}); it keeps {}",
                        by.id, first.level, w.id, level.level, first.level
                    );
                    plan.finding(Severity::Warning, w.item, None, message);
                }
                Some(_) => {}
            }
        }
    }
    let edits = map_in_order(inventory.config_maps.iter().collect(), min_part, |cm| {
        level_edits(cm, &wanted)
    });
    plan.edits.extend(edits.into_iter().flatten());
    plan
}

/// One ConfigMap's log-level keys, at the level of the workload that decides it.
fn level_edits(cm: &ConfigMap, wanted: &Levels<'_>) -> Vec<(usize, Edit)> {
    let ns = cm.id.namespace.as_deref();
    let Some((settings, by)) = cm.names().find_map(|name| wanted.get(&(ns, name))) else {
        return Vec::new();
    };
    let mut edits = Vec::new();
    for (key, value) in &cm.level_entries {
        if !settings.config_map_keys.contains(key) {
            continue;
        }
        let level = in_case_of(value, &settings.level);
        // Applying the same text changes nothing and reports nothing: no edit to build.
        if level == *value {
            continue;
        }
        let message = format!("log level {} (read by {})", settings.level, by.id);
        edits.push((
            cm.item,
            Edit::set(
                FieldPath::keys(&["data"]).key(key.to_owned()),
                Node::string(level),
                message,
            ),
        ));
    }
    edits
}

#[cfg(test)]
mod tests {
    use super::in_case_of;

    #[test]
    fn keeps_letter_case() {
        assert_eq!(in_case_of("INFO", "warn"), "WARN");
        assert_eq!(in_case_of("info", "WARN"), "warn");
        assert_eq!(in_case_of("Debug", "info"), "Info");
        assert_eq!(in_case_of("", "info"), "info");
        assert_eq!(in_case_of("dEbug", "info"), "info");
    }
}
