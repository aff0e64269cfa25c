//! Which workloads a policy, or one of its overrides, applies to.
//!
//! A workload matches when every given criterion matches: `kinds`, `names` and `namespaces`
//! by membership, `matchLabels` when every pair is among the workload's labels. A workload
//! without a namespace (cluster-scoped view, or a package that leaves namespaces to kpt)
//! matches a `namespaces` list only if the list contains `""`.
//!
//! Kinds are the built-in [`SUPPORTED_KINDS`] plus those declared in `spec.podTemplatePaths`,
//! matched by name only: [`WorkloadMeta`] has no apiVersion, so the group restriction of a
//! declared kind is applied by the caller (see `PodTemplatePath::matches`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{join_path, ConfigError, WorkloadMeta, DEFAULT_KINDS, SUPPORTED_KINDS};

/// The selector as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SelectorSpec {
    /// Top level default: Deployment, StatefulSet and the kinds of `podTemplatePaths`
    /// (DaemonSet, Job and CronJob only when listed). In an override, absent means "any kind
    /// the top level selects".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
    /// `""` stands for "no namespace".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
}

/// A validated selector. `None` criteria accept anything.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Selector {
    kinds: Option<Vec<String>>,
    names: Option<Vec<String>>,
    namespaces: Option<Vec<String>>,
    match_labels: BTreeMap<String, String>,
    /// `kinds` was filled in by default rather than written: error messages say so.
    kinds_defaulted: bool,
}

impl Selector {
    /// The policy's own selector: absent `kinds` means [`DEFAULT_KINDS`] plus `custom_kinds`
    /// (the kinds of `spec.podTemplatePaths`, which may also be listed explicitly).
    pub(super) fn top_level(
        spec: Option<&SelectorSpec>,
        path: &str,
        custom_kinds: &[&str],
    ) -> Result<Selector, ConfigError> {
        let mut selector = match spec {
            Some(spec) => Selector::refining(spec, path, custom_kinds)?,
            None => Selector {
                kinds: None,
                names: None,
                namespaces: None,
                match_labels: BTreeMap::new(),
                kinds_defaulted: false,
            },
        };
        if selector.kinds.is_none() {
            let mut kinds: Vec<String> = Vec::new();
            for kind in DEFAULT_KINDS.iter().chain(custom_kinds) {
                // One kind may be declared twice, for two API groups.
                if !kinds.iter().any(|known| known == kind) {
                    kinds.push(kind.to_string());
                }
            }
            selector.kinds = Some(kinds);
            selector.kinds_defaulted = true;
        }
        Ok(selector)
    }

    /// An override's selector: refines the top-level one, so absent `kinds` stays absent.
    /// `custom_kinds` are the kinds of `spec.podTemplatePaths`, accepted besides the built-in
    /// ones.
    pub(super) fn refining(
        spec: &SelectorSpec,
        path: &str,
        custom_kinds: &[&str],
    ) -> Result<Selector, ConfigError> {
        let kinds = checked_list(spec.kinds.as_ref(), &join_path(path, "kinds"), false)?;
        let known = || SUPPORTED_KINDS.iter().chain(custom_kinds);
        for (index, kind) in kinds.iter().flatten().enumerate() {
            if !known().any(|known| known == kind) {
                let mut known_list: Vec<&str> = Vec::new();
                for known in known() {
                    if !known_list.contains(known) {
                        known_list.push(known);
                    }
                }
                let mut message = format!(
                    "kind {kind} has no pod template envpolicy knows; supported kinds: {} \
                     (declare others in podTemplatePaths)",
                    known_list.join(", ")
                );
                if let Some(supported) = known().find(|known| known.eq_ignore_ascii_case(kind)) {
                    message.push_str(&format!(
                        " (kinds are case-sensitive: did you mean {supported}?)"
                    ));
                }
                return Err(ConfigError::invalid(
                    join_path(path, &format!("kinds[{index}]")),
                    message,
                ));
            }
        }
        let names = checked_list(spec.names.as_ref(), &join_path(path, "names"), false)?;
        let namespaces = checked_list(
            spec.namespaces.as_ref(),
            &join_path(path, "namespaces"),
            true,
        )?;
        let match_labels = spec.match_labels.clone().unwrap_or_default();
        if match_labels.keys().any(|key| key.is_empty()) {
            return Err(ConfigError::invalid(
                join_path(path, "matchLabels"),
                "label keys must not be empty",
            ));
        }
        Ok(Selector {
            kinds,
            names,
            namespaces,
            match_labels,
            kinds_defaulted: false,
        })
    }

    pub(super) fn matches(&self, workload: &WorkloadMeta<'_>) -> bool {
        let listed = |list: &Option<Vec<String>>, value: &str| {
            list.as_ref()
                .is_none_or(|list| list.iter().any(|entry| entry == value))
        };
        listed(&self.kinds, workload.kind)
            && listed(&self.names, workload.name)
            && listed(&self.namespaces, workload.namespace.unwrap_or(""))
            && self
                .match_labels
                .iter()
                .all(|(key, value)| workload.labels.get(key) == Some(value.as_str()))
    }

    /// Rejects an override selector that can never match anything `top` selects: such an
    /// override is dead configuration in every package, most likely a typo.
    pub(super) fn check_can_overlap(
        &self,
        top: &Selector,
        path: &str,
        top_path: &str,
    ) -> Result<(), ConfigError> {
        for (field, mine, theirs) in [
            ("kinds", &self.kinds, &top.kinds),
            ("names", &self.names, &top.names),
            ("namespaces", &self.namespaces, &top.namespaces),
        ] {
            if let (Some(mine), Some(theirs)) = (mine, theirs) {
                if !mine.iter().any(|entry| theirs.contains(entry)) {
                    if field == "kinds" && top.kinds_defaulted {
                        return Err(ConfigError::invalid(
                            join_path(path, field),
                            format!(
                                "selects only {}, which {top_path} does not select by default \
                                 (it selects {}); list the kinds in {} to include them",
                                mine.join(", "),
                                theirs.join(", "),
                                join_path(top_path, field),
                            ),
                        ));
                    }
                    return Err(ConfigError::invalid(
                        join_path(path, field),
                        format!(
                            "selects only {}, none of which {} selects ({}); this override would never apply",
                            mine.join(", "),
                            join_path(top_path, field),
                            theirs.join(", ")
                        ),
                    ));
                }
            }
        }
        for (key, value) in &self.match_labels {
            if let Some(top_value) = top
                .match_labels
                .get(key)
                .filter(|top_value| *top_value != value)
            {
                return Err(ConfigError::invalid(
                    join_path(path, &format!("matchLabels.{key}")),
                    format!(
                        "is {value:?} but {} requires {top_value:?}; this override would never apply",
                        join_path(top_path, &format!("matchLabels.{key}"))
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A selector list must select something and hold non-empty strings (except that
/// `namespaces` may hold `""` for "no namespace").
fn checked_list(
    list: Option<&Vec<String>>,
    path: &str,
    allow_empty_entry: bool,
) -> Result<Option<Vec<String>>, ConfigError> {
    let Some(list) = list else {
        return Ok(None);
    };
    if list.is_empty() {
        return Err(ConfigError::invalid(
            path,
            "an empty list selects nothing; leave the field out to select everything",
        ));
    }
    if !allow_empty_entry {
        if let Some(index) = list.iter().position(|entry| entry.is_empty()) {
            return Err(ConfigError::invalid(
                format!("{path}[{index}]"),
                "must be a non-empty string",
            ));
        }
    }
    Ok(Some(list.clone()))
}
