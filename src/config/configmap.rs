//! The ConfigMap form of the configuration: `data` keys are dotted paths into the spec.
//!
//! This is what `kpt fn eval IMAGE -- environment=prod replicas=4` produces. Every value is a
//! string, so each known field is converted to the JSON type the spec wants (numbers,
//! booleans, comma-separated lists); quantities and names stay strings. The result is parsed
//! exactly like an `EnvironmentPolicy` spec, with error paths rooted at `data` so they name
//! the data key (`data.autoscaling.maxReplicas`). Keys not in the table below are passed
//! through as strings, so the spec's parser reports them (`data.replica: unknown field`).

use serde_json::{Map, Value};

use super::{join_path, ConfigError};

/// How a data value is converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conversion {
    Text,
    WholeNumber,
    Boolean,
    /// Comma-separated; an empty value is an empty list.
    List,
    /// A whole number becomes a number (`1`), anything else stays a string (`"25%"`) for the
    /// spec parser to accept or reject.
    IntOrPercent,
    /// Text; but an unquoted YAML number is passed through as a number, so the spec parser
    /// can say to quote it (an unquoted `1.30` arrives here as 1.3, a different version).
    Version,
}

/// Map-valued fields: the rest of the key after the prefix is one map key, dots and all
/// (`selector.matchLabels.app.kubernetes.io/name`, `resources.limits.nvidia.com/gpu`).
const MAP_FIELDS: &[&str] = &[
    "selector.matchLabels",
    "resources.requests",
    "resources.limits",
];

/// Every scalar or list field of the spec that a ConfigMap can set.
const LEAF_FIELDS: &[(&str, Conversion)] = &[
    ("environment", Conversion::Text),
    ("replicas", Conversion::WholeNumber),
    ("selector.kinds", Conversion::List),
    ("selector.names", Conversion::List),
    ("selector.namespaces", Conversion::List),
    ("antiAffinity.mode", Conversion::Text),
    ("antiAffinity.topologyKey", Conversion::Text),
    ("antiAffinity.weight", Conversion::WholeNumber),
    ("logLevel.level", Conversion::Text),
    ("logLevel.configMapKeys", Conversion::List),
    ("logLevel.envVars", Conversion::List),
    ("autoscaling.enabled", Conversion::Boolean),
    ("autoscaling.minReplicas", Conversion::WholeNumber),
    ("autoscaling.maxReplicas", Conversion::WholeNumber),
    ("autoscaling.cpuUtilization", Conversion::WholeNumber),
    ("autoscaling.memoryUtilization", Conversion::WholeNumber),
    ("kubernetesVersion", Conversion::Version),
    ("strict", Conversion::Boolean),
    ("capacity.nodes", Conversion::WholeNumber),
    ("capacity.zones", Conversion::WholeNumber),
    ("disruptionBudget.enabled", Conversion::Boolean),
    ("disruptionBudget.minAvailable", Conversion::IntOrPercent),
    ("disruptionBudget.maxUnavailable", Conversion::IntOrPercent),
    ("rollout.maxSurge", Conversion::IntOrPercent),
    ("rollout.maxUnavailable", Conversion::IntOrPercent),
    ("topologySpread.enabled", Conversion::Boolean),
    ("topologySpread.topologyKey", Conversion::Text),
    ("topologySpread.maxSkew", Conversion::WholeNumber),
    ("topologySpread.whenUnsatisfiable", Conversion::Text),
    ("securityContext", Conversion::Text),
];

/// Spec fields that are lists of objects: no `key=value` form can express them.
const ENVIRONMENT_POLICY_ONLY: &[&str] = &["overrides", "podTemplatePaths"];

/// Converts a `v1` ConfigMap functionConfig into the spec JSON it stands for. An absent or
/// empty `data` (kpt's `function-input` placeholder) is the "no configuration" error.
pub(super) fn spec_from_configmap(configmap: &Map<String, Value>) -> Result<Value, ConfigError> {
    let data = match configmap.get("data") {
        None | Some(Value::Null) => return Err(ConfigError::no_configuration()),
        Some(Value::Object(data)) => data,
        Some(other) => {
            return Err(ConfigError::invalid(
                "data",
                format!(
                    "must be a map of strings, got {}",
                    super::json_type_name(other)
                ),
            ))
        }
    };
    if data.is_empty() {
        return Err(ConfigError::no_configuration());
    }
    let mut spec = Map::new();
    for (key, value) in data {
        let path = join_path("data", key);
        if let Some(field) = ENVIRONMENT_POLICY_ONLY.iter().find(|field| {
            key.strip_prefix(**field)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        }) {
            return Err(ConfigError::invalid(
                path,
                format!("{field} cannot be given in a ConfigMap; use an EnvironmentPolicy functionConfig"),
            ));
        }
        let (segments, conversion) = split_key(key, &path)?;
        if let (Some(Conversion::Version), Value::Number(_)) = (conversion, value) {
            insert(&mut spec, &segments, value.clone(), &path)?;
            continue;
        }
        let text = match value {
            Value::String(text) => text.clone(),
            // Hand-written ConfigMaps sometimes leave YAML numbers and booleans unquoted.
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            other => {
                return Err(ConfigError::invalid(
                    path,
                    format!(
                        "ConfigMap values must be strings, got {}",
                        super::json_type_name(other)
                    ),
                ))
            }
        };
        let converted = convert(&text, conversion, &path)?;
        insert(&mut spec, &segments, converted, &path)?;
    }
    Ok(Value::Object(spec))
}

/// Splits a data key into spec path segments and picks its conversion. Unknown keys are split
/// on dots and kept as text, for the spec parser to reject by name.
fn split_key<'k>(
    key: &'k str,
    path: &str,
) -> Result<(Vec<&'k str>, Option<Conversion>), ConfigError> {
    let (segments, conversion) = if let Some((field, map_key)) = MAP_FIELDS
        .iter()
        .find_map(|field| Some((*field, key.strip_prefix(field)?.strip_prefix('.')?)))
    {
        let mut segments: Vec<&str> = field.split('.').collect();
        segments.push(map_key);
        (segments, Some(Conversion::Text))
    } else {
        let conversion = LEAF_FIELDS
            .iter()
            .find(|(field, _)| *field == key)
            .map(|(_, conversion)| *conversion);
        (key.split('.').collect(), conversion)
    };
    if segments.iter().any(|segment| segment.is_empty()) {
        return Err(ConfigError::invalid(
            path,
            "not a valid spec field path: expected dotted field names such as autoscaling.maxReplicas",
        ));
    }
    Ok((segments, conversion))
}

fn convert(text: &str, conversion: Option<Conversion>, path: &str) -> Result<Value, ConfigError> {
    let trimmed = text.trim();
    Ok(match conversion {
        None => Value::String(text.to_string()),
        Some(Conversion::Text | Conversion::Version) => Value::String(trimmed.to_string()),
        Some(Conversion::IntOrPercent) => match trimmed.parse::<i64>() {
            Ok(number) => Value::from(number),
            Err(_) => Value::String(trimmed.to_string()),
        },
        Some(Conversion::WholeNumber) => match trimmed.parse::<i32>() {
            Ok(number) => Value::from(number),
            Err(err) => {
                return Err(ConfigError::invalid(
                    path,
                    format!("{err}: expected a whole number, got {text:?}"),
                ))
            }
        },
        Some(Conversion::Boolean) => {
            if trimmed.eq_ignore_ascii_case("true") {
                Value::Bool(true)
            } else if trimmed.eq_ignore_ascii_case("false") {
                Value::Bool(false)
            } else {
                return Err(ConfigError::invalid(
                    path,
                    format!("expected true or false, got {text:?}"),
                ));
            }
        }
        Some(Conversion::List) if trimmed.is_empty() => Value::Array(Vec::new()),
        Some(Conversion::List) => Value::Array(
            trimmed
                .split(',')
                .map(|entry| Value::String(entry.trim().to_string()))
                .collect(),
        ),
    })
}

/// Places `value` at `segments` in the nested spec object, refusing keys that collide
/// (`autoscaling=x` together with `autoscaling.enabled=true`).
fn insert(
    spec: &mut Map<String, Value>,
    segments: &[&str],
    value: Value,
    path: &str,
) -> Result<(), ConfigError> {
    let conflict = || {
        ConfigError::invalid(
            path,
            "conflicts with another data key that sets the same field or its parent",
        )
    };
    let Some((last, parents)) = segments.split_last() else {
        return Err(conflict());
    };
    let mut object = spec;
    for segment in parents {
        let entry = object
            .entry(segment.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        object = entry.as_object_mut().ok_or_else(conflict)?;
    }
    if object.contains_key(*last) {
        return Err(conflict());
    }
    object.insert(last.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{
        Capacity, DisruptionBudgetSpec, IntOrPercent, KubernetesVersion, PolicySpec, RolloutSpec,
        SecurityContextMode, SelectorSpec, TopologySpreadSpec, WhenUnsatisfiable,
    };
    use super::*;
    use serde_json::json;

    fn configmap(data: Value) -> Map<String, Value> {
        match json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "function-input"}, "data": data})
        {
            Value::Object(object) => object,
            _ => Map::new(),
        }
    }

    #[test]
    fn converts_every_kind_of_field() {
        let spec = spec_from_configmap(&configmap(json!({
            "environment": "prod",
            "replicas": "4",
            "autoscaling.maxReplicas": "12",
            "autoscaling.enabled": "false",
            "resources.limits.cpu": "1",
            "resources.limits.nvidia.com/gpu": "2",
            "selector.names": "web, api",
            "selector.matchLabels.app.kubernetes.io/name": "shop",
            "logLevel.configMapKeys": "",
        })));
        assert_eq!(
            spec,
            Ok(json!({
                "environment": "prod",
                "replicas": 4,
                "autoscaling": {"maxReplicas": 12, "enabled": false},
                "resources": {"limits": {"cpu": "1", "nvidia.com/gpu": "2"}},
                "selector": {"names": ["web", "api"], "matchLabels": {"app.kubernetes.io/name": "shop"}},
                "logLevel": {"configMapKeys": []},
            }))
        );
    }

    #[test]
    fn unquoted_yaml_scalars_are_accepted() {
        let spec = spec_from_configmap(&configmap(
            json!({"replicas": 3, "autoscaling.enabled": true}),
        ));
        assert_eq!(
            spec,
            Ok(json!({"replicas": 3, "autoscaling": {"enabled": true}}))
        );
    }

    #[test]
    fn colliding_keys_are_rejected() {
        let err = spec_from_configmap(&configmap(
            json!({"autoscaling": "x", "autoscaling.enabled": "true"}),
        ));
        assert_eq!(
            err.map_err(|e| e.path().to_string()),
            Err("data.autoscaling.enabled".to_string())
        );
    }

    #[test]
    fn empty_path_segments_are_rejected() {
        let err = spec_from_configmap(&configmap(json!({"autoscaling..enabled": "true"})));
        assert!(err.is_err_and(|e| e.path() == "data.autoscaling..enabled"));
    }

    #[test]
    fn non_scalar_values_are_rejected() {
        let err = spec_from_configmap(&configmap(json!({"replicas": ["1"]})));
        assert!(err.is_err_and(|e| e.message().contains("must be strings, got a list")));
    }

    /// Every field of the spec (except overrides) must be settable from a ConfigMap: build a
    /// spec with all fields, list its leaves, and check the conversion table knows each.
    #[test]
    fn table_covers_every_spec_field() {
        let full = PolicySpec {
            environment: Some("prod".into()),
            selector: Some(SelectorSpec {
                kinds: Some(vec![]),
                names: Some(vec![]),
                namespaces: Some(vec![]),
                match_labels: Some([("k".to_string(), "v".to_string())].into()),
            }),
            replicas: Some(1),
            resources: Some(super::super::ResourcesSpec {
                requests: Some(Default::default()),
                limits: Some(Default::default()),
            }),
            anti_affinity: Some(super::super::AntiAffinitySpec {
                mode: Some(super::super::AntiAffinityMode::None),
                topology_key: Some("k".into()),
                weight: Some(1),
            }),
            log_level: Some(super::super::LogLevelSpec {
                level: Some("info".into()),
                config_map_keys: Some(vec![]),
                env_vars: Some(vec![]),
            }),
            autoscaling: Some(super::super::AutoscalingSpec {
                enabled: Some(true),
                min_replicas: Some(1),
                max_replicas: Some(1),
                cpu_utilization: Some(1),
                memory_utilization: Some(1),
            }),
            kubernetes_version: Some(KubernetesVersion::default()),
            strict: Some(true),
            capacity: Some(Capacity {
                nodes: Some(1),
                zones: Some(1),
            }),
            disruption_budget: Some(DisruptionBudgetSpec {
                enabled: Some(true),
                min_available: Some(IntOrPercent::Int(1)),
                max_unavailable: Some(IntOrPercent::Percent(1)),
            }),
            rollout: Some(RolloutSpec {
                max_surge: Some(IntOrPercent::Int(1)),
                max_unavailable: Some(IntOrPercent::Int(1)),
            }),
            topology_spread: Some(TopologySpreadSpec {
                enabled: Some(true),
                topology_key: Some("k".into()),
                max_skew: Some(1),
                when_unsatisfiable: Some(WhenUnsatisfiable::ScheduleAnyway),
            }),
            security_context: Some(SecurityContextMode::Hardened),
            // Lists of objects: EnvironmentPolicy only (see ENVIRONMENT_POLICY_ONLY).
            pod_template_paths: None,
            overrides: None,
        };
        let value = serde_json::to_value(full).unwrap_or(Value::Null);
        let mut leaves = Vec::new();
        collect_leaves(&value, String::new(), &mut leaves);
        assert_eq!(leaves.len(), LEAF_FIELDS.len() + MAP_FIELDS.len());
        for leaf in leaves {
            let known = LEAF_FIELDS.iter().any(|(field, _)| *field == leaf)
                || MAP_FIELDS.contains(&leaf.as_str());
            assert!(known, "{leaf} cannot be set from a ConfigMap");
        }
    }

    #[test]
    fn converts_the_cluster_and_workload_fields() {
        let spec = spec_from_configmap(&configmap(json!({
            "kubernetesVersion": "1.29",
            "strict": "true",
            "capacity.nodes": "6",
            "capacity.zones": 3,
            "disruptionBudget.enabled": "true",
            "disruptionBudget.minAvailable": "50%",
            "rollout.maxSurge": " 2 ",
            "rollout.maxUnavailable": "0%",
            "topologySpread.enabled": "false",
            "topologySpread.topologyKey": "kubernetes.io/hostname",
            "topologySpread.maxSkew": "2",
            "topologySpread.whenUnsatisfiable": "ScheduleAnyway",
            "securityContext": "hardened",
        })));
        assert_eq!(
            spec,
            Ok(json!({
                "kubernetesVersion": "1.29",
                "strict": true,
                "capacity": {"nodes": 6, "zones": 3},
                "disruptionBudget": {"enabled": true, "minAvailable": "50%"},
                "rollout": {"maxSurge": 2, "maxUnavailable": "0%"},
                "topologySpread": {
                    "enabled": false,
                    "topologyKey": "kubernetes.io/hostname",
                    "maxSkew": 2,
                    "whenUnsatisfiable": "ScheduleAnyway",
                },
                "securityContext": "hardened",
            }))
        );
    }

    #[test]
    fn int_or_percent_values_stay_strings_unless_whole_numbers() {
        let spec = spec_from_configmap(&configmap(json!({
            "rollout.maxSurge": "-1",
            "rollout.maxUnavailable": "abc",
            "disruptionBudget.maxUnavailable": 1,
        })));
        assert_eq!(
            spec,
            Ok(json!({
                "rollout": {"maxSurge": -1, "maxUnavailable": "abc"},
                "disruptionBudget": {"maxUnavailable": 1},
            }))
        );
    }

    #[test]
    fn an_unquoted_kubernetes_version_stays_a_number() {
        let spec = spec_from_configmap(&configmap(json!({"kubernetesVersion": 1.3})));
        assert_eq!(spec, Ok(json!({"kubernetesVersion": 1.3})));
    }

    #[test]
    fn pod_template_paths_need_an_environment_policy() {
        for key in [
            "podTemplatePaths",
            "podTemplatePaths.kind",
            "podTemplatePaths[0].kind",
        ] {
            let err = spec_from_configmap(&configmap(json!({key: "Rollout"})));
            assert_eq!(
                err.map_err(|e| e.to_string()),
                Err(format!("data.{key}: podTemplatePaths cannot be given in a ConfigMap; use an EnvironmentPolicy functionConfig")),
            );
        }
        // Only the field itself: a longer name is an unknown field for the spec parser.
        let spec = spec_from_configmap(&configmap(json!({"podTemplatePathsX": "1"})));
        assert_eq!(spec, Ok(json!({"podTemplatePathsX": "1"})));
    }

    fn collect_leaves(value: &Value, path: String, leaves: &mut Vec<String>) {
        match value {
            Value::Object(object) if !MAP_FIELDS.contains(&path.as_str()) => {
                for (key, child) in object {
                    collect_leaves(child, join_path(&path, key), leaves);
                }
            }
            _ => leaves.push(path),
        }
    }
}
