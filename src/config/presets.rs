//! The built-in environment presets: the first layer for `dev`, `staging` and `prod`.
//!
//! Presets are written as ordinary [`PolicySpec`]s with every default spelled out, so the
//! same value both feeds resolution and is printed by `envpolicy presets` as a ready-to-edit
//! `EnvironmentPolicy`. Resources are never preset: they depend on the application.
//!
//! Only `prod` gets a disruption budget, a surge-only rollout and a hard zone spread: they
//! keep a service up through node drains, deploys and zone loss, which in dev and staging is
//! not worth the extra capacity (or the pending pods on a one-zone cluster).

use serde_json::Value;

use super::{
    AntiAffinityMode, AntiAffinitySpec, AutoscalingSpec, DisruptionBudgetSpec, EnvironmentPolicy,
    IntOrPercent, LogLevelSpec, PolicySpec, RolloutSpec, TopologySpreadSpec, WhenUnsatisfiable,
    API_VERSION, DEFAULT_CONFIG_MAP_KEYS, DEFAULT_ENV_VARS, DEFAULT_MAX_SKEW,
    DEFAULT_SPREAD_TOPOLOGY_KEY, DEFAULT_TOPOLOGY_KEY, DEFAULT_WEIGHT, KIND,
};

/// Environment names that have a preset, in the order `envpolicy presets` prints them.
pub const PRESET_ENVIRONMENTS: &[&str] = &["dev", "staging", "prod"];

/// The preset for `environment`, or `None` for a name without one.
pub(super) fn preset_spec(environment: &str) -> Option<PolicySpec> {
    let settings = match environment {
        "dev" => PolicySpec {
            replicas: Some(1),
            anti_affinity: Some(anti_affinity(AntiAffinityMode::Preferred)),
            log_level: Some(log_level("debug")),
            ..PolicySpec::default()
        },
        "staging" => PolicySpec {
            replicas: Some(2),
            anti_affinity: Some(anti_affinity(AntiAffinityMode::Preferred)),
            log_level: Some(log_level("info")),
            ..PolicySpec::default()
        },
        "prod" => PolicySpec {
            anti_affinity: Some(anti_affinity(AntiAffinityMode::Required)),
            log_level: Some(log_level("info")),
            autoscaling: Some(AutoscalingSpec {
                enabled: Some(true),
                min_replicas: Some(3),
                max_replicas: Some(10),
                cpu_utilization: Some(75),
                memory_utilization: Some(75),
            }),
            // Voluntary disruptions (drains, upgrades) take down one pod at a time.
            disruption_budget: Some(DisruptionBudgetSpec {
                enabled: Some(true),
                min_available: None,
                max_unavailable: Some(IntOrPercent::Int(1)),
            }),
            // Surge-only: a deploy never drops below the serving replica count.
            rollout: Some(RolloutSpec {
                max_surge: Some(IntOrPercent::Int(1)),
                max_unavailable: Some(IntOrPercent::Int(0)),
            }),
            topology_spread: Some(TopologySpreadSpec {
                enabled: Some(true),
                topology_key: Some(DEFAULT_SPREAD_TOPOLOGY_KEY.to_string()),
                max_skew: Some(DEFAULT_MAX_SKEW),
                when_unsatisfiable: Some(WhenUnsatisfiable::DoNotSchedule),
            }),
            ..PolicySpec::default()
        },
        _ => return None,
    };
    Some(PolicySpec {
        environment: Some(environment.to_string()),
        ..settings
    })
}

fn anti_affinity(mode: AntiAffinityMode) -> AntiAffinitySpec {
    AntiAffinitySpec {
        mode: Some(mode),
        topology_key: Some(DEFAULT_TOPOLOGY_KEY.to_string()),
        weight: Some(DEFAULT_WEIGHT),
    }
}

fn log_level(level: &str) -> LogLevelSpec {
    LogLevelSpec {
        level: Some(level.to_string()),
        config_map_keys: Some(
            DEFAULT_CONFIG_MAP_KEYS
                .iter()
                .map(|key| key.to_string())
                .collect(),
        ),
        env_vars: Some(DEFAULT_ENV_VARS.iter().map(|var| var.to_string()).collect()),
    }
}

/// Every preset as a complete `EnvironmentPolicy` object (for `envpolicy presets`).
pub fn presets() -> Vec<Value> {
    PRESET_ENVIRONMENTS
        .iter()
        .filter_map(|environment| {
            let spec = preset_spec(environment)?;
            let policy = EnvironmentPolicy {
                api_version: API_VERSION.to_string(),
                kind: KIND.to_string(),
                metadata: Some(serde_json::json!({ "name": environment })),
                spec,
            };
            // Serializing plain structs with string keys cannot fail; a test checks all
            // presets come out.
            serde_json::to_value(policy).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{Effective, Policy, WorkloadMeta};
    use super::*;
    use serde_json::json;

    fn resolve(config: &Value) -> Effective {
        let labels = crate::resource::Labels::default();
        let workload = WorkloadMeta {
            kind: "Deployment",
            name: "web",
            namespace: Some("shop"),
            labels: &labels,
        };
        match Policy::from_config(Some(config)).and_then(|policy| policy.settings_for(&workload)) {
            Ok(Some(effective)) => effective,
            other => panic!("{config} did not resolve: {other:?}"),
        }
    }

    #[test]
    fn every_preset_is_printed_as_a_full_environment_policy() {
        let printed = presets();
        assert_eq!(printed.len(), PRESET_ENVIRONMENTS.len());
        for (preset, environment) in printed.iter().zip(PRESET_ENVIRONMENTS) {
            assert_eq!(preset["apiVersion"], API_VERSION);
            assert_eq!(preset["kind"], KIND);
            assert_eq!(preset["metadata"]["name"], *environment);
            assert_eq!(preset["spec"]["environment"], *environment);
            assert_eq!(
                preset["spec"]["antiAffinity"]["topologyKey"],
                DEFAULT_TOPOLOGY_KEY
            );
            assert_eq!(preset["spec"]["antiAffinity"]["weight"], DEFAULT_WEIGHT);
            assert_eq!(
                preset["spec"]["logLevel"]["configMapKeys"],
                json!(DEFAULT_CONFIG_MAP_KEYS)
            );
            assert_eq!(
                preset["spec"]["logLevel"]["envVars"],
                json!(DEFAULT_ENV_VARS)
            );
            assert!(
                preset["spec"].get("resources").is_none(),
                "resources are never preset"
            );
            for top_level_only in [
                "kubernetesVersion",
                "strict",
                "capacity",
                "podTemplatePaths",
                "securityContext",
            ] {
                assert!(
                    preset["spec"].get(top_level_only).is_none(),
                    "{top_level_only}"
                );
            }
        }
    }

    #[test]
    fn only_prod_gets_a_budget_a_rollout_and_a_spread_spelled_out() {
        let printed = presets();
        for preset in &printed {
            let spec = &preset["spec"];
            if spec["environment"] == "prod" {
                assert_eq!(
                    spec["disruptionBudget"],
                    json!({"enabled": true, "maxUnavailable": 1})
                );
                assert_eq!(spec["rollout"], json!({"maxSurge": 1, "maxUnavailable": 0}));
                assert_eq!(
                    spec["topologySpread"],
                    json!({
                        "enabled": true,
                        "topologyKey": "topology.kubernetes.io/zone",
                        "maxSkew": 1,
                        "whenUnsatisfiable": "DoNotSchedule",
                    })
                );
            } else {
                for field in ["disruptionBudget", "rollout", "topologySpread"] {
                    assert!(
                        spec.get(field).is_none(),
                        "{}: {field}",
                        spec["environment"]
                    );
                }
            }
        }
        assert!(printed
            .iter()
            .any(|preset| preset["spec"]["environment"] == "prod"));
    }

    #[test]
    fn printed_presets_parse_back_to_the_same_settings_as_the_bare_environment() {
        for (preset, environment) in presets().iter().zip(PRESET_ENVIRONMENTS) {
            let bare = json!({
                "apiVersion": API_VERSION,
                "kind": KIND,
                "metadata": {"name": environment},
                "spec": {"environment": environment},
            });
            assert_eq!(resolve(preset), resolve(&bare), "preset {environment}");
        }
    }

    #[test]
    fn preset_lookup_is_exact() {
        assert!(preset_spec("prod").is_some());
        assert!(preset_spec("production").is_none());
        assert!(preset_spec("").is_none());
    }
}
