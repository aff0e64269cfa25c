//! `spec.podTemplatePaths`: workload kinds envpolicy does not know (Argo `Rollout`, Knative
//! services, in-house CRDs), with where their pod template is.
//!
//! A declared kind becomes selectable (and is part of the default selection); the policies
//! edit the pod template at `path`. `scalable: true` says the object has `spec.replicas` and
//! `spec.selector` like a Deployment, so the replica, HPA, PDB, anti-affinity and spread
//! policies apply too.
//!
//! Selection matches kinds by name only, because [`super::WorkloadMeta`] has no apiVersion.
//! The group restriction of an entry with `apiVersion` is therefore the caller's job:
//! [`PodTemplatePath::matches`] checks both for an object.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{join_path, ConfigError, SUPPORTED_KINDS};
use crate::resource::group_of;

/// One entry of `spec.podTemplatePaths`, as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodTemplatePathSpec {
    /// The object's `kind`, e.g. `Rollout`.
    pub kind: String,
    /// `group/version`; when given, only objects of that group match (any version of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Dotted path to the `PodTemplateSpec`, e.g. `spec.template`.
    pub path: String,
    /// Has `spec.replicas` and `spec.selector` like a Deployment; default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalable: Option<bool>,
}

/// A validated `podTemplatePaths` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodTemplatePath {
    pub kind: String,
    /// The API group objects must belong to (`argoproj.io`; `""` for the core group);
    /// `None` when `apiVersion` was not given: any group.
    pub api_group: Option<String>,
    /// Field names from the object's root to the `PodTemplateSpec`, e.g. `["spec", "template"]`.
    pub path: Vec<String>,
    /// Has `spec.replicas` and `spec.selector`: the scaling and spreading policies apply.
    pub scalable: bool,
}

impl PodTemplatePath {
    /// Whether an object of this `kind` and `apiVersion` is this entry's kind: same kind, and
    /// the same group when the entry names one (the version is not compared, so a CRD's
    /// `v1alpha1` → `v1` move keeps matching).
    pub fn matches(&self, kind: &str, api_version: &str) -> bool {
        self.kind == kind
            && self
                .api_group
                .as_deref()
                .is_none_or(|group| group == group_of(api_version))
    }
}

/// Whether `version` looks like a Kubernetes API version: `v1`, `v1beta2`, `v2alpha1`.
fn is_api_version_name(version: &str) -> bool {
    let Some(rest) = version.strip_prefix('v') else {
        return false;
    };
    let major_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    if major_len == 0 {
        return false;
    }
    let (_, rest) = rest.split_at(major_len);
    if rest.is_empty() {
        return true;
    }
    let Some(level) = rest
        .strip_prefix("alpha")
        .or_else(|| rest.strip_prefix("beta"))
    else {
        return false;
    };
    !level.is_empty() && level.bytes().all(|b| b.is_ascii_digit())
}

/// Validates `spec.podTemplatePaths` (at `path`) and converts each entry.
///
/// Refused: empty kinds and paths, kinds that are not identifiers, built-in kinds (their
/// template location is fixed), malformed apiVersions, and two entries that could both claim
/// one object (same kind with the same group, or one of them without a group) — lookups must
/// be unambiguous.
pub(super) fn validate(
    entries: &[PodTemplatePathSpec],
    path: &str,
) -> Result<Vec<PodTemplatePath>, ConfigError> {
    let mut validated: Vec<PodTemplatePath> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let entry_path = format!("{path}[{index}]");
        let field = |name: &str| join_path(&entry_path, name);
        let kind = entry.kind.as_str();
        if kind.trim().is_empty() {
            return Err(ConfigError::invalid(field("kind"), "must not be empty"));
        }
        let identifier = kind.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && kind.chars().all(|c| c.is_ascii_alphanumeric());
        if !identifier {
            return Err(ConfigError::invalid(
                field("kind"),
                format!(
                    "expected a kind such as Rollout (letters and digits), got {kind:?}; \
                     put the group in apiVersion"
                ),
            ));
        }
        if SUPPORTED_KINDS.contains(&kind) {
            return Err(ConfigError::invalid(
                field("kind"),
                format!("{kind} is built in: envpolicy already knows its pod template; remove this entry"),
            ));
        }
        if let Some(built_in) = SUPPORTED_KINDS
            .iter()
            .find(|built_in| built_in.eq_ignore_ascii_case(kind))
        {
            return Err(ConfigError::invalid(
                field("kind"),
                format!("{kind} is the built-in kind {built_in} in another case (kinds are case-sensitive); remove this entry"),
            ));
        }

        let api_group = match &entry.api_version {
            None => None,
            Some(api_version) => {
                let (group, version) = api_version
                    .rsplit_once('/')
                    .unwrap_or(("", api_version.as_str()));
                let group_ok = !api_version.starts_with('/')
                    && !group.contains('/')
                    && group
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
                if !group_ok || !is_api_version_name(version) {
                    return Err(ConfigError::invalid(
                        field("apiVersion"),
                        format!(
                            "expected GROUP/VERSION such as argoproj.io/v1alpha1, got {api_version:?}"
                        ),
                    ));
                }
                Some(group.to_string())
            }
        };

        if entry.path.trim().is_empty() {
            return Err(ConfigError::invalid(field("path"), "must not be empty"));
        }
        let segments: Vec<String> = entry.path.split('.').map(str::to_string).collect();
        let bad_segment = segments.iter().any(|segment| {
            segment.is_empty()
                || segment
                    .chars()
                    .any(|c| c.is_whitespace() || matches!(c, '[' | ']'))
        });
        if bad_segment {
            return Err(ConfigError::invalid(
                field("path"),
                format!(
                    "expected dotted field names such as spec.template, got {:?}",
                    entry.path
                ),
            ));
        }

        if let Some(earlier) = validated.iter().position(|earlier| {
            earlier.kind == kind
                && match (&earlier.api_group, &api_group) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                }
        }) {
            return Err(ConfigError::invalid(
                field("kind"),
                format!(
                    "{kind} is already declared by {path}[{earlier}]; two entries for one kind \
                     need apiVersions of different groups"
                ),
            ));
        }
        validated.push(PodTemplatePath {
            kind: kind.to_string(),
            api_group,
            path: segments,
            scalable: entry.scalable.unwrap_or(false),
        });
    }
    Ok(validated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, api_version: Option<&str>, path: &str) -> PodTemplatePathSpec {
        PodTemplatePathSpec {
            kind: kind.to_string(),
            api_version: api_version.map(str::to_string),
            path: path.to_string(),
            scalable: None,
        }
    }

    fn error(entries: &[PodTemplatePathSpec]) -> String {
        match validate(entries, "spec.podTemplatePaths") {
            Ok(paths) => panic!("expected an error, got {paths:?}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn entries_are_converted() {
        let mut rollout = entry("Rollout", Some("argoproj.io/v1alpha1"), "spec.template");
        rollout.scalable = Some(true);
        let entries = [rollout, entry("Thing", None, "template")];
        assert_eq!(
            validate(&entries, "spec.podTemplatePaths"),
            Ok(vec![
                PodTemplatePath {
                    kind: "Rollout".to_string(),
                    api_group: Some("argoproj.io".to_string()),
                    path: vec!["spec".to_string(), "template".to_string()],
                    scalable: true,
                },
                PodTemplatePath {
                    kind: "Thing".to_string(),
                    api_group: None,
                    path: vec!["template".to_string()],
                    scalable: false,
                },
            ])
        );
    }

    #[test]
    fn matches_compares_kind_and_group_but_not_version() {
        let Ok(paths) = validate(
            &[
                entry("Rollout", Some("argoproj.io/v1alpha1"), "spec.template"),
                entry("Thing", None, "spec.template"),
                entry("Core", Some("v1"), "spec.template"),
            ],
            "p",
        ) else {
            panic!()
        };
        let [rollout, thing, core] = paths.as_slice() else {
            panic!()
        };
        assert!(rollout.matches("Rollout", "argoproj.io/v1alpha1"));
        assert!(rollout.matches("Rollout", "argoproj.io/v1"));
        assert!(!rollout.matches("Rollout", "example.com/v1"));
        assert!(!rollout.matches("Deployment", "argoproj.io/v1alpha1"));
        assert!(thing.matches("Thing", "a.example/v1") && thing.matches("Thing", "v1"));
        assert_eq!(core.api_group.as_deref(), Some(""));
        assert!(core.matches("Core", "v1") && !core.matches("Core", "x.io/v1"));
    }

    #[test]
    fn kind_and_path_are_required_non_empty() {
        assert_eq!(
            error(&[entry("", None, "spec.template")]),
            "spec.podTemplatePaths[0].kind: must not be empty"
        );
        assert_eq!(
            error(&[
                entry("Rollout", None, "spec.template"),
                entry("Job2", None, " ")
            ]),
            "spec.podTemplatePaths[1].path: must not be empty"
        );
        assert_eq!(
            error(&[entry("Rollout", None, "spec..template")]),
            "spec.podTemplatePaths[0].path: expected dotted field names such as spec.template, got \"spec..template\""
        );
        assert!(error(&[entry("Rollout", None, "spec.containers[0]")])
            .contains("expected dotted field names"));
        assert!(
            error(&[entry("argoproj.io/Rollout", None, "spec.template")])
                .starts_with("spec.podTemplatePaths[0].kind: expected a kind such as Rollout")
        );
    }

    #[test]
    fn built_in_kinds_cannot_be_redeclared() {
        assert_eq!(
            error(&[entry("Deployment", None, "spec.template")]),
            "spec.podTemplatePaths[0].kind: Deployment is built in: envpolicy already knows its pod template; remove this entry"
        );
        assert!(error(&[entry(
            "CronJob",
            Some("batch/v1"),
            "spec.jobTemplate.spec.template"
        )])
        .contains("CronJob is built in"));
        assert!(error(&[entry("statefulset", None, "spec.template")])
            .contains("the built-in kind StatefulSet in another case"));
    }

    #[test]
    fn api_versions_must_be_group_slash_version() {
        for bad in [
            "argoproj.io",
            "argoproj.io/",
            "/v1",
            "a/b/v1",
            "argoproj.io/1",
            "x y/v1",
            "",
        ] {
            assert_eq!(
                error(&[entry("Rollout", Some(bad), "spec.template")]),
                format!("spec.podTemplatePaths[0].apiVersion: expected GROUP/VERSION such as argoproj.io/v1alpha1, got {bad:?}"),
                "{bad}"
            );
        }
        for good in ["v1", "x.io/v2beta1", "x.io/v1alpha12"] {
            assert!(
                validate(&[entry("Rollout", Some(good), "spec.template")], "p").is_ok(),
                "{good}"
            );
        }
    }

    #[test]
    fn overlapping_entries_are_rejected() {
        let err = error(&[
            entry("Rollout", Some("argoproj.io/v1alpha1"), "spec.template"),
            entry("Rollout", Some("argoproj.io/v1"), "spec.template"),
        ]);
        assert!(
            err.starts_with("spec.podTemplatePaths[1].kind: Rollout is already declared by spec.podTemplatePaths[0]"),
            "{err}"
        );
        assert!(error(&[
            entry("Rollout", None, "spec.template"),
            entry("Rollout", Some("argoproj.io/v1alpha1"), "spec.template"),
        ])
        .contains("already declared"));
        // The same kind name in two different groups is two different kinds.
        assert!(validate(
            &[
                entry("Rollout", Some("argoproj.io/v1alpha1"), "spec.template"),
                entry("Rollout", Some("example.com/v1"), "spec.podTemplate"),
            ],
            "p"
        )
        .is_ok());
    }
}
