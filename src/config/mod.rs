//! The function's configuration: parsing, validation, and per-workload resolution.
//!
//! kpt and kustomize hand the function a `functionConfig`: either an `EnvironmentPolicy`
//! (the full form, with overrides) or a `v1` `ConfigMap` whose `data` keys are dotted paths
//! into the same spec (what `kpt fn eval ... -- environment=prod` produces). Both end up as
//! one [`PolicySpec`], which is validated as a whole when it is parsed, so a bad config
//! fails before any workload is touched.
//!
//! For each workload, [`Policy::settings_for`] stacks the *layers* that apply to it — the
//! environment's preset, then the spec's own fields, then each matching override in order —
//! and refines field by field into one [`Effective`] set of settings. Only checks that depend
//! on that stacking (for example `minReplicas` above `maxReplicas` once layers are combined)
//! are left to resolution time.
//!
//! Layering rules, in short: later layers refine earlier ones field by field (map entries of
//! `resources` one by one). An explicit `replicas` switches autoscaling off from its layer on;
//! `autoscaling.enabled: true` switches it on and drops an earlier fixed count (both in one
//! layer is an error); the other autoscaling fields only tune the HPA and never switch it on.
//! `disruptionBudget` and `topologySpread` are switched the same way by their `enabled`;
//! `rollout` is configured by any layer that sets one of its fields; `securityContext` is
//! simply the last value. A later `disruptionBudget.minAvailable` replaces an earlier
//! `maxUnavailable` and vice versa, since a PodDisruptionBudget takes only one of them.
//!
//! Some fields describe the package or the cluster rather than a workload, and exist only at
//! the top of the spec: `kubernetesVersion`, `strict`, `capacity` and `podTemplatePaths`
//! (custom workload kinds, see [`PodTemplatePath`]). They are read through [`Policy`]'s
//! accessors.
//!
//! The raw spec types ([`EnvironmentPolicy`], [`PolicySpec`], ...) are plain serde types, kept
//! apart from [`Effective`], so a JSON schema can be derived from them.

mod configmap;
mod custom_kinds;
mod presets;
mod schema;
mod selector;
mod values;

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

pub use custom_kinds::{PodTemplatePath, PodTemplatePathSpec};
pub use presets::{presets, PRESET_ENVIRONMENTS};
pub use schema::schema;
use selector::Selector;

use crate::resource::Labels;
pub use selector::SelectorSpec;
pub use values::{IntOrPercent, KubernetesVersion, DEFAULT_KUBERNETES_VERSION};

/// The only `apiVersion` of `EnvironmentPolicy` this build understands.
pub const API_VERSION: &str = "envpolicy.dev/v1alpha1";
/// The API group: another version of it gets a "wrong version" error rather than "unknown kind".
pub const API_GROUP: &str = "envpolicy.dev";
/// The kind of the full-form functionConfig.
pub const KIND: &str = "EnvironmentPolicy";
/// Built-in workload kinds: envpolicy knows where their pod template is. Other kinds can be
/// declared in `spec.podTemplatePaths`.
pub const SUPPORTED_KINDS: &[&str] = &["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"];
/// The built-in kinds selected when the top-level selector lists no `kinds` (together with
/// every kind of `spec.podTemplatePaths`). DaemonSets, Jobs and CronJobs run per node or to
/// completion, so most policies mean little for them: they are selected only when listed.
pub const DEFAULT_KINDS: &[&str] = &["Deployment", "StatefulSet"];

/// Default `antiAffinity.topologyKey`: spread replicas over nodes.
pub const DEFAULT_TOPOLOGY_KEY: &str = "kubernetes.io/hostname";
/// Default `antiAffinity.weight` for the preferred mode: the strongest preference.
pub const DEFAULT_WEIGHT: i32 = 100;
/// ConfigMap keys that conventionally hold an application's log level.
pub const DEFAULT_CONFIG_MAP_KEYS: &[&str] = &["log-level", "log_level", "LOG_LEVEL", "logLevel"];
/// Container environment variables that conventionally hold the log level.
pub const DEFAULT_ENV_VARS: &[&str] = &["LOG_LEVEL"];
/// `minReplicas` when autoscaling is on and no layer sets it: the HPA's own default.
pub const DEFAULT_MIN_REPLICAS: i32 = 1;
/// `cpuUtilization` when autoscaling is on and no layer sets either utilization: the HPA's
/// own default target, so an HPA never ends up without a metric by omission.
pub const DEFAULT_CPU_UTILIZATION: i32 = 80;
/// Upper bound for the utilization targets, in percent of the request.
pub const MAX_UTILIZATION: i32 = 1000;
/// Default `topologySpread.topologyKey`: spread replicas over zones (anti-affinity already
/// spreads over nodes).
pub const DEFAULT_SPREAD_TOPOLOGY_KEY: &str = "topology.kubernetes.io/zone";
/// Default `topologySpread.maxSkew`: zones differ by at most one replica.
pub const DEFAULT_MAX_SKEW: i32 = 1;
/// `rollout.maxSurge` and `rollout.maxUnavailable` when the layers set only the other one:
/// Kubernetes' own defaults for a Deployment.
pub const DEFAULT_ROLLOUT_PERCENT: IntOrPercent = IntOrPercent::Percent(25);

// ---------------------------------------------------------------------------------------------
// Raw spec types, as written by the user.
// ---------------------------------------------------------------------------------------------

/// The `EnvironmentPolicy` functionConfig as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvironmentPolicy {
    pub api_version: String,
    pub kind: String,
    /// Free-form: kpt and kustomize put their own annotations here, so anything is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    pub spec: PolicySpec,
}

/// `spec` of an `EnvironmentPolicy` (and what a ConfigMap's `data` is converted into).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicySpec {
    /// `dev`, `staging` and `prod` bring a preset; any other name is only a label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Which workloads the policy touches; default: Deployments, StatefulSets and the kinds of
    /// `podTemplatePaths`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<SelectorSpec>,
    /// The cluster's Kubernetes minor version, `"1.30"` (quoted: YAML reads 1.30 as 1.3);
    /// default [`DEFAULT_KUBERNETES_VERSION`]. Top level only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<KubernetesVersion>,
    /// Default false. Top level only; what it tightens is up to the policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// The cluster's size, for policies that must fit it (spreading, budgets). Top level only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Capacity>,
    /// Custom workload kinds and where their pod template is. Top level only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_template_paths: Option<Vec<PodTemplatePathSpec>>,
    /// A fixed replica count; switches off autoscaling from earlier layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anti_affinity: Option<AntiAffinitySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<LogLevelSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption_budget: Option<DisruptionBudgetSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_spread: Option<TopologySpreadSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContextMode>,
    /// Refinements for subsets of the selected workloads; later entries win.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<Vec<OverrideSpec>>,
}

/// One entry of `spec.overrides`: the settings fields of the spec, for the workloads its
/// selector picks among those the top-level selector already picked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OverrideSpec {
    /// Absent: the override applies to every workload the top-level selector selects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<SelectorSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anti_affinity: Option<AntiAffinitySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<LogLevelSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption_budget: Option<DisruptionBudgetSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_spread: Option<TopologySpreadSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContextMode>,
}

/// Container resources, applied to every container of the pod template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourcesSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<BTreeMap<ResourceName, Quantity>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<BTreeMap<ResourceName, Quantity>>,
}

/// Pod anti-affinity against the workload's own pods, to spread replicas.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AntiAffinitySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<AntiAffinityMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_key: Option<String>,
    /// Only used by the `preferred` mode; 1..=100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

/// Where the application's log level is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LogLevelSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// Keys rewritten in ConfigMaps the workload uses; an empty list leaves ConfigMaps alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_keys: Option<Vec<String>>,
    /// Container env vars rewritten; an empty list leaves env vars alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_vars: Option<Vec<String>>,
}

/// A HorizontalPodAutoscaler for the workload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AutoscalingSpec {
    /// The only field that switches autoscaling on or off; the others only tune it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i32>,
    /// Target average CPU utilization in percent of the request; 0 leaves the metric out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_utilization: Option<i32>,
    /// Target average memory utilization in percent of the request; 0 leaves the metric out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_utilization: Option<i32>,
}

/// A PodDisruptionBudget for the workload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DisruptionBudgetSpec {
    /// The only field that switches the budget on or off; the others only tune it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Pods that must stay up during voluntary disruptions; replaces an earlier
    /// `maxUnavailable`. Not together with `maxUnavailable` in one layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_available: Option<IntOrPercent>,
    /// Pods that may be down during voluntary disruptions; replaces an earlier `minAvailable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrPercent>,
}

/// The rolling-update strategy. Any layer that sets a field configures it; there is no
/// `enabled`, since a workload always has some strategy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RolloutSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrPercent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrPercent>,
}

/// A topology spread constraint over the workload's own pods.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TopologySpreadSpec {
    /// The only field that switches spreading on or off; the others only tune it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_key: Option<String>,
    /// At least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_skew: Option<i32>,
    /// Default: `DoNotSchedule` in `prod`, `ScheduleAnyway` elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_unsatisfiable: Option<WhenUnsatisfiable>,
}

/// `securityContext`: whether envpolicy hardens the pod's containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SecurityContextMode {
    /// Apply the hardened container security settings.
    Hardened,
    /// Leave containers' security contexts as they are.
    None,
}

/// A key of `requests`/`limits`: `cpu`, `memory`, `ephemeral-storage`, `hugepages-<size>`,
/// or a `domain/name` extended resource. Checked when parsed so typos like `cpus` fail fast.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct ResourceName(String);

impl ResourceName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ResourceName {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        if is_resource_name(&name) {
            Ok(ResourceName(name))
        } else {
            Err(format!(
                "unknown resource {name:?}: expected cpu, memory, ephemeral-storage, \
                 hugepages-<size> or an extended resource such as example.com/gpu"
            ))
        }
    }
}

impl From<ResourceName> for String {
    fn from(name: ResourceName) -> String {
        name.0
    }
}

fn is_resource_name(name: &str) -> bool {
    if matches!(name, "cpu" | "memory" | "ephemeral-storage") {
        return true;
    }
    if let Some(size) = name.strip_prefix("hugepages-") {
        return is_quantity(size);
    }
    let valid_part = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    };
    match name.split_once('/') {
        Some((domain, resource)) => valid_part(domain) && valid_part(resource),
        None => false,
    }
}

/// A Kubernetes resource quantity, kept as the string that will be written out. YAML numbers
/// are accepted and formatted without a trailing `.0` (`1` → `"1"`, `0.5` → `"0.5"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity(String);

impl Quantity {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks the quantity grammar and rejects negative amounts, which the API server
    /// refuses for requests and limits anyway.
    fn parse(text: String) -> Result<Quantity, String> {
        if !is_quantity(&text) {
            return Err(format!(
                "invalid quantity {text:?}: expected a Kubernetes quantity such as 250m, 0.5, 1Gi or 1e3"
            ));
        }
        let negative = text.starts_with('-')
            && text
                .chars()
                .take_while(|c| c.is_ascii_digit() || matches!(c, '-' | '.'))
                .any(|c| matches!(c, '1'..='9'));
        if negative {
            return Err(format!(
                "quantity {text:?} is negative; resource amounts must be at least 0"
            ));
        }
        Ok(Quantity(text))
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct QuantityVisitor;
        impl serde::de::Visitor<'_> for QuantityVisitor {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a Kubernetes quantity (a string such as \"250m\" or \"1Gi\", or a number)",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quantity, E> {
                Quantity::parse(v.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quantity, E> {
                Quantity::parse(v.to_string()).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quantity, E> {
                Quantity::parse(v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Quantity, E> {
                if !v.is_finite() {
                    return Err(E::custom(format!("invalid quantity {v}")));
                }
                // f64's Display never uses exponents or a trailing ".0": 1.0 → "1", 0.5 → "0.5".
                Quantity::parse(v.to_string()).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(QuantityVisitor)
    }
}

/// Whether `text` matches the Kubernetes quantity grammar
/// `^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[numkMGTPE]|[KMGTPE]i)?$`.
pub fn is_quantity(text: &str) -> bool {
    let rest = text.strip_prefix(['+', '-']).unwrap_or(text);
    let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (int_part, rest) = rest.split_at(int_len);
    let (frac_len, rest) = match rest.strip_prefix('.') {
        Some(after_dot) => {
            let n = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            (n, &after_dot[n..])
        }
        None => (0, rest),
    };
    if int_part.is_empty() && frac_len == 0 {
        return false;
    }
    match rest.as_bytes() {
        [] => true,
        [b'n' | b'u' | b'm' | b'k' | b'M' | b'G' | b'T' | b'P' | b'E'] => true,
        [b'K' | b'M' | b'G' | b'T' | b'P' | b'E', b'i'] => true,
        [b'e' | b'E', exponent @ ..] => {
            let digits = match exponent {
                [b'+' | b'-', digits @ ..] => digits,
                digits => digits,
            };
            !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Effective settings, the result of layering.
// ---------------------------------------------------------------------------------------------

/// What identifies a workload for selection.
///
/// There is no apiVersion: kinds are matched by name. For a kind of `spec.podTemplatePaths`
/// that names an `apiVersion`, the caller checks the object's group with
/// [`PodTemplatePath::matches`] before selecting it (a `Rollout` of another group is not the
/// declared kind).
#[derive(Debug, Clone, Copy)]
pub struct WorkloadMeta<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub namespace: Option<&'a str>,
    pub labels: &'a Labels,
}

impl fmt::Display for WorkloadMeta<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.namespace.filter(|ns| !ns.is_empty()) {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// The settings for one workload after all layers are applied. `None`/empty means "not
/// configured: leave the workload as it is".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Effective {
    /// A fixed replica count; never set together with `autoscaling`.
    pub replicas: Option<i32>,
    pub resources: Resources,
    pub anti_affinity: Option<AntiAffinity>,
    pub log_level: Option<LogLevel>,
    /// `Some`: an HPA should own the workload's replica count.
    pub autoscaling: Option<Autoscaling>,
    /// `Some` when enabled: a PodDisruptionBudget should cover the workload.
    pub disruption_budget: Option<DisruptionBudget>,
    /// `Some` when any layer sets a rollout field.
    pub rollout: Option<Rollout>,
    /// `Some` when enabled: a topology spread constraint over the workload's pods.
    pub topology_spread: Option<TopologySpread>,
    /// `securityContext: hardened`; false (`none` or unset) leaves containers alone.
    pub hardened: bool,
}

/// Quantities per resource name, already validated; empty maps leave containers alone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resources {
    pub requests: BTreeMap<String, String>,
    pub limits: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AntiAffinity {
    pub mode: AntiAffinityMode,
    pub topology_key: String,
    /// Only meaningful for [`AntiAffinityMode::Preferred`].
    pub weight: i32,
}

/// How strongly replicas are kept apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AntiAffinityMode {
    /// Never schedule two replicas in one topology domain.
    Required,
    /// Spread when possible (weighted preference).
    Preferred,
    /// Remove envpolicy's anti-affinity rule.
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogLevel {
    pub level: String,
    pub config_map_keys: Vec<String>,
    pub env_vars: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Autoscaling {
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// `None`: the metric is left out of the HPA.
    pub cpu_utilization: Option<i32>,
    pub memory_utilization: Option<i32>,
}

/// The PodDisruptionBudget's bound. At most one field is `Some` (a PDB takes only one); both
/// `None` means "not said": the policy code picks the default (`maxUnavailable: 1`), because
/// a sensible default can depend on the workload's replica count.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DisruptionBudget {
    pub min_available: Option<IntOrPercent>,
    pub max_unavailable: Option<IntOrPercent>,
}

/// The rolling-update parameters, never both zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    pub max_surge: IntOrPercent,
    pub max_unavailable: IntOrPercent,
}

/// What the scheduler does with a pod that would break the spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum WhenUnsatisfiable {
    /// Leave the pod pending: a hard guarantee, the default in `prod`.
    DoNotSchedule,
    /// Schedule it anyway, preferring less skewed domains.
    ScheduleAnyway,
}

impl WhenUnsatisfiable {
    /// The value as Kubernetes spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            WhenUnsatisfiable::DoNotSchedule => "DoNotSchedule",
            WhenUnsatisfiable::ScheduleAnyway => "ScheduleAnyway",
        }
    }
}

/// One topology spread constraint, with every default filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologySpread {
    pub topology_key: String,
    pub max_skew: i32,
    pub when_unsatisfiable: WhenUnsatisfiable,
}

/// `spec.capacity`: how big the cluster is, for policies that must not ask for more than it
/// has (a required spread over more zones than exist leaves pods pending). `None`: unknown.
/// Also the raw spec type: both fields are plain optional numbers, validated to be ≥ 1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Capacity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zones: Option<i32>,
}

// ---------------------------------------------------------------------------------------------
// Errors.
// ---------------------------------------------------------------------------------------------

/// What sort of problem a [`ConfigError`] is, so the caller can react (e.g. print usage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// No functionConfig, or a ConfigMap without data: the user has not configured anything.
    NoConfiguration,
    /// A functionConfig of a kind or version this function does not read.
    Unsupported,
    /// A supported functionConfig with a bad field.
    Invalid,
}

/// A configuration problem: where (the functionConfig, a field path, and for per-workload
/// checks the workload) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    kind: ConfigErrorKind,
    /// "EnvironmentPolicy prod", "ConfigMap function-input"; empty when unknown.
    origin: String,
    /// `spec.overrides[0].replicas`, `data.replicas`; empty for whole-document problems.
    path: String,
    message: String,
    /// Set for problems that only arise when the layers for one workload are combined.
    workload: Option<String>,
}

impl ConfigError {
    fn new(kind: ConfigErrorKind, path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            kind,
            origin: String::new(),
            path: path.into(),
            message: message.into(),
            workload: None,
        }
    }

    fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ConfigErrorKind::Invalid, path, message)
    }

    fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ConfigErrorKind::Unsupported, "", message)
    }

    fn no_configuration() -> Self {
        Self::new(
            ConfigErrorKind::NoConfiguration,
            "",
            "no configuration: pass environment=<dev|staging|prod> \
             (kpt fn eval IMAGE -- environment=prod) or an EnvironmentPolicy functionConfig \
             (`envpolicy presets` prints examples)",
        )
    }

    fn with_origin(mut self, origin: &str) -> Self {
        if self.origin.is_empty() {
            self.origin = origin.to_string();
        }
        self
    }

    fn for_workload(mut self, workload: &WorkloadMeta<'_>) -> Self {
        self.workload = Some(workload.to_string());
        self
    }

    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// True when the user passed no configuration at all (worth printing usage for).
    pub fn is_no_configuration(&self) -> bool {
        self.kind == ConfigErrorKind::NoConfiguration
    }

    /// The field path, e.g. `spec.overrides[0].replicas`; empty for whole-document problems.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The workload being resolved, for problems that only arise for some workloads.
    pub fn workload(&self) -> Option<&str> {
        self.workload.as_deref()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.origin.is_empty() {
            write!(f, "{}: ", self.origin)?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(workload) = &self.workload {
            write!(f, " (when applied to {workload})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Joins a root (`spec`, `data`, or empty) and a relative field path.
fn join_path(root: &str, rest: &str) -> String {
    match (root.is_empty(), rest.is_empty()) {
        (_, true) => root.to_string(),
        (true, false) => rest.to_string(),
        (false, false) if rest.starts_with('[') => format!("{root}{rest}"),
        (false, false) => format!("{root}.{rest}"),
    }
}

/// Deserializes `value` as `T`, reporting serde errors with their full path under `root`.
fn deserialize_at<T: serde::de::DeserializeOwned>(
    value: &Value,
    root: &str,
) -> Result<T, ConfigError> {
    // Through the YAML layer's strict reader: serde_json would fill a struct from a list.
    let node = crate::yaml::Node::from_json(value);
    crate::yaml::from_node_strict(&node).map_err(|err| {
        let mut path = String::new();
        for segment in err.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => path.push_str(&format!("[{index}]")),
                serde_path_to_error::Segment::Map { key }
                | serde_path_to_error::Segment::Enum { variant: key } => {
                    path = join_path(&path, key)
                }
                serde_path_to_error::Segment::Unknown => path = join_path(&path, "?"),
            }
        }
        ConfigError::invalid(join_path(root, &path), err.inner().to_string())
    })
}

// ---------------------------------------------------------------------------------------------
// The parsed policy.
// ---------------------------------------------------------------------------------------------

/// The settings fields shared by the spec and its overrides: one layer's worth.
#[derive(Debug, Clone, Default, PartialEq)]
struct Settings {
    replicas: Option<i32>,
    resources: Option<ResourcesSpec>,
    anti_affinity: Option<AntiAffinitySpec>,
    log_level: Option<LogLevelSpec>,
    autoscaling: Option<AutoscalingSpec>,
    disruption_budget: Option<DisruptionBudgetSpec>,
    rollout: Option<RolloutSpec>,
    topology_spread: Option<TopologySpreadSpec>,
    security_context: Option<SecurityContextMode>,
}

impl Settings {
    fn of_spec(spec: &PolicySpec) -> Settings {
        Settings {
            replicas: spec.replicas,
            resources: spec.resources.clone(),
            anti_affinity: spec.anti_affinity.clone(),
            log_level: spec.log_level.clone(),
            autoscaling: spec.autoscaling.clone(),
            disruption_budget: spec.disruption_budget.clone(),
            rollout: spec.rollout.clone(),
            topology_spread: spec.topology_spread.clone(),
            security_context: spec.security_context,
        }
    }

    fn of_override(entry: &OverrideSpec) -> Settings {
        Settings {
            replicas: entry.replicas,
            resources: entry.resources.clone(),
            anti_affinity: entry.anti_affinity.clone(),
            log_level: entry.log_level.clone(),
            autoscaling: entry.autoscaling.clone(),
            disruption_budget: entry.disruption_budget.clone(),
            rollout: entry.rollout.clone(),
            topology_spread: entry.topology_spread.clone(),
            security_context: entry.security_context,
        }
    }
}

/// One step of the stack applied to a workload.
#[derive(Debug, Clone)]
struct Layer {
    /// Where the layer is written, as a field path prefix (`spec`, `spec.overrides[1]`,
    /// `data`); for a preset, a description (`the prod preset`).
    path: String,
    /// `None`: applies to every workload the top-level selector selects.
    selector: Option<Selector>,
    /// The index into `spec.overrides` for an override's layer, for
    /// [`Policy::matching_overrides`].
    override_index: Option<usize>,
    settings: Settings,
}

/// A parsed and statically validated functionConfig.
#[derive(Debug, Clone)]
pub struct Policy {
    name: String,
    /// "EnvironmentPolicy prod": prefixes every error.
    origin: String,
    environment: Option<String>,
    selector: Selector,
    /// Preset (if any), spec, then overrides, in application order.
    layers: Vec<Layer>,
    kubernetes_version: KubernetesVersion,
    strict: bool,
    capacity: Capacity,
    pod_template_paths: Vec<PodTemplatePath>,
    override_count: usize,
}

impl Policy {
    /// Parses an EnvironmentPolicy or ConfigMap functionConfig. `None` (or JSON `null`) is
    /// the "no configuration" error.
    pub fn from_config(config: Option<&Value>) -> Result<Policy, ConfigError> {
        let Some(config) = config.filter(|value| !value.is_null()) else {
            return Err(ConfigError::no_configuration());
        };
        let Some(object) = config.as_object() else {
            return Err(ConfigError::unsupported(format!(
                "functionConfig must be an object, got {}",
                json_type_name(config)
            )));
        };
        let text_field = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or("");
        let api_version = text_field("apiVersion");
        let kind = text_field("kind");
        let name = object
            .get("metadata")
            .and_then(|metadata| metadata.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let origin = if name.is_empty() {
            kind.to_string()
        } else {
            format!("{kind} {name}")
        };

        if kind == KIND && api_version == API_VERSION {
            let document: EnvironmentPolicy =
                deserialize_at(config, "").map_err(|e| e.with_origin(&origin))?;
            return Policy::from_spec(name, &origin, document.spec, "spec")
                .map_err(|e| e.with_origin(&origin));
        }
        if kind == KIND && api_version.split('/').next() == Some(API_GROUP) {
            return Err(ConfigError::new(
                ConfigErrorKind::Unsupported,
                "apiVersion",
                format!("{api_version} is not supported; this envpolicy reads {API_VERSION}"),
            )
            .with_origin(&origin));
        }
        if kind == "ConfigMap" && api_version == "v1" {
            let spec_value =
                configmap::spec_from_configmap(object).map_err(|e| e.with_origin(&origin))?;
            let spec: PolicySpec =
                deserialize_at(&spec_value, "data").map_err(|e| e.with_origin(&origin))?;
            return Policy::from_spec(name, &origin, spec, "data")
                .map_err(|e| e.with_origin(&origin));
        }
        let shown = |text: &str| {
            if text.is_empty() {
                "(none)".to_string()
            } else {
                text.to_string()
            }
        };
        Err(ConfigError::unsupported(format!(
            "functionConfig kind {} (apiVersion {}) is not supported; expected {API_VERSION} {KIND} or a v1 ConfigMap",
            shown(kind),
            shown(api_version)
        )))
    }

    /// Validates a spec and builds its layers. `root` is the path users know the spec by
    /// (`spec`, or `data` for a ConfigMap).
    fn from_spec(
        name: String,
        origin: &str,
        spec: PolicySpec,
        root: &str,
    ) -> Result<Policy, ConfigError> {
        let mut layers = Vec::new();
        if let Some(environment) = &spec.environment {
            let path = join_path(root, "environment");
            if environment.trim().is_empty() {
                return Err(ConfigError::invalid(path, "must not be empty"));
            }
            if let Some(preset) = presets::preset_spec(environment) {
                layers.push(Layer {
                    path: format!("the {environment} preset"),
                    selector: None,
                    override_index: None,
                    settings: Settings::of_spec(&preset),
                });
            } else if let Some(preset_name) = PRESET_ENVIRONMENTS
                .iter()
                .find(|preset_name| preset_name.eq_ignore_ascii_case(environment))
            {
                // "Prod" would silently get no preset: almost certainly a typo.
                return Err(ConfigError::invalid(
                    path,
                    format!("{environment:?} has no preset; preset names are lowercase: write {preset_name}"),
                ));
            }
        }

        let capacity = spec.capacity.unwrap_or_default();
        for (name, value) in [("nodes", capacity.nodes), ("zones", capacity.zones)] {
            if let Some(value) = value.filter(|value| *value < 1) {
                return Err(ConfigError::invalid(
                    join_path(root, &format!("capacity.{name}")),
                    format!("must be at least 1, got {value}"),
                ));
            }
        }
        // Before the selectors: they accept the kinds declared here.
        let pod_template_paths = match &spec.pod_template_paths {
            Some(entries) => custom_kinds::validate(entries, &join_path(root, "podTemplatePaths"))?,
            None => Vec::new(),
        };
        let custom_kinds: Vec<&str> = pod_template_paths
            .iter()
            .map(|entry| entry.kind.as_str())
            .collect();

        let selector_path = join_path(root, "selector");
        let selector = Selector::top_level(spec.selector.as_ref(), &selector_path, &custom_kinds)?;

        let spec_settings = Settings::of_spec(&spec);
        validate_settings(&spec_settings, root)?;
        layers.push(Layer {
            path: root.to_string(),
            selector: None,
            override_index: None,
            settings: spec_settings,
        });

        for (index, entry) in spec.overrides.iter().flatten().enumerate() {
            let path = join_path(root, &format!("overrides[{index}]"));
            let entry_selector = match &entry.selector {
                Some(selector_spec) => {
                    let entry_selector_path = join_path(&path, "selector");
                    let entry_selector =
                        Selector::refining(selector_spec, &entry_selector_path, &custom_kinds)?;
                    entry_selector.check_can_overlap(
                        &selector,
                        &entry_selector_path,
                        &selector_path,
                    )?;
                    Some(entry_selector)
                }
                None => None,
            };
            let settings = Settings::of_override(entry);
            validate_settings(&settings, &path)?;
            layers.push(Layer {
                path,
                selector: entry_selector,
                override_index: Some(index),
                settings,
            });
        }

        let policy = Policy {
            name,
            origin: origin.to_string(),
            environment: spec.environment,
            selector,
            layers,
            kubernetes_version: spec.kubernetes_version.unwrap_or_default(),
            strict: spec.strict.unwrap_or(false),
            capacity,
            pod_template_paths,
            override_count: spec.overrides.as_ref().map_or(0, Vec::len),
        };
        // Without overrides every selected workload gets the same layers, so combination
        // problems can be reported now instead of at the first workload.
        if policy.override_count == 0 {
            resolve(policy.layers.iter(), policy.is_production())?;
        }
        Ok(policy)
    }

    /// `metadata.name` of the functionConfig (e.g. `function-input` for kpt's ConfigMap).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn environment(&self) -> Option<&str> {
        self.environment.as_deref()
    }

    /// True for `environment: prod` (exactly; other names get no preset either). Decides
    /// production-only defaults such as `topologySpread.whenUnsatisfiable: DoNotSchedule`.
    pub fn is_production(&self) -> bool {
        self.environment.as_deref() == Some("prod")
    }

    /// `spec.kubernetesVersion` as (major, minor); (1, 30) when not given.
    pub fn kubernetes_version(&self) -> (u32, u32) {
        (self.kubernetes_version.major, self.kubernetes_version.minor)
    }

    /// `spec.strict`; false when not given.
    pub fn strict(&self) -> bool {
        self.strict
    }

    /// `spec.capacity`; both fields `None` when not given.
    pub fn capacity(&self) -> &Capacity {
        &self.capacity
    }

    /// The custom kinds of `spec.podTemplatePaths`, in the order written. Selection matches
    /// them by kind only: before treating an object as one of these workloads, check its
    /// apiVersion with [`PodTemplatePath::matches`].
    pub fn pod_template_paths(&self) -> &[PodTemplatePath] {
        &self.pod_template_paths
    }

    /// Every ConfigMap key a workload's log level may be written to: the defaults and each
    /// layer's `logLevel.configMapKeys`. The inventory copies only these entries.
    pub fn config_map_keys(&self) -> impl Iterator<Item = &str> {
        let named = (self.layers.iter())
            .filter_map(|layer| layer.settings.log_level.as_ref()?.config_map_keys.as_ref())
            .flatten()
            .map(String::as_str);
        DEFAULT_CONFIG_MAP_KEYS.iter().copied().chain(named)
    }

    /// How many entries `spec.overrides` has (0 for a ConfigMap).
    pub fn override_count(&self) -> usize {
        self.override_count
    }

    /// Indices (into `spec.overrides`) of the overrides whose selector matches this workload,
    /// among workloads the top-level selector selects; empty when the top level doesn't
    /// select it. Kinds are matched by name (see [`Policy::pod_template_paths`]).
    pub fn matching_overrides(&self, workload: &WorkloadMeta<'_>) -> Vec<usize> {
        if !self.selector.matches(workload) {
            return Vec::new();
        }
        self.layers
            .iter()
            .filter(|layer| Self::layer_applies(layer, workload))
            .filter_map(|layer| layer.override_index)
            .collect()
    }

    /// The effective settings for a workload. `None` when the top-level selector does not
    /// select it; an error for problems that only arise from this workload's layers.
    ///
    /// Kinds are matched by name only: for a kind of `spec.podTemplatePaths` declared with an
    /// `apiVersion`, the caller checks the object's group ([`PodTemplatePath::matches`])
    /// before asking, since [`WorkloadMeta`] carries no apiVersion.
    pub fn settings_for(
        &self,
        workload: &WorkloadMeta<'_>,
    ) -> Result<Option<Effective>, ConfigError> {
        let mut layers = Vec::new();
        if !self.layers_into(workload, &mut layers) {
            return Ok(None);
        }
        self.settings_of(&layers, workload).map(Some)
    }

    /// The layers that apply to `workload`, by index, into `layers`; false when the top-level
    /// selector does not select it. Workloads with the same layers get the same settings
    /// ([`Policy::settings_of`]), so a run resolves each combination once.
    pub fn layers_into(&self, workload: &WorkloadMeta<'_>, layers: &mut Vec<usize>) -> bool {
        layers.clear();
        if !self.selector.matches(workload) {
            return false;
        }
        layers.extend(
            self.layers
                .iter()
                .enumerate()
                .filter(|(_, layer)| Self::layer_applies(layer, workload))
                .map(|(i, _)| i),
        );
        true
    }

    /// The effective settings of the layers [`Policy::layers_into`] found for `workload`; an
    /// error names `workload`.
    pub fn settings_of(
        &self,
        layers: &[usize],
        workload: &WorkloadMeta<'_>,
    ) -> Result<Effective, ConfigError> {
        let layers = layers.iter().filter_map(|&i| self.layers.get(i));
        resolve(layers, self.is_production())
            .map_err(|e| e.with_origin(&self.origin).for_workload(workload))
    }

    fn layer_applies(layer: &Layer, workload: &WorkloadMeta<'_>) -> bool {
        layer
            .selector
            .as_ref()
            .is_none_or(|selector| selector.matches(workload))
    }
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------------------------------------
// Static validation of one layer.
// ---------------------------------------------------------------------------------------------

/// Checks one layer on its own: ranges, non-empty strings, and the same-layer
/// replicas/autoscaling conflict.
fn validate_settings(settings: &Settings, root: &str) -> Result<(), ConfigError> {
    let field = |rest: &str| join_path(root, rest);
    if let Some(replicas) = settings.replicas {
        if replicas < 1 {
            return Err(ConfigError::invalid(
                field("replicas"),
                format!("must be at least 1, got {replicas}"),
            ));
        }
    }
    if let (
        Some(_),
        Some(AutoscalingSpec {
            enabled: Some(true),
            ..
        }),
    ) = (settings.replicas, &settings.autoscaling)
    {
        return Err(ConfigError::invalid(
            format!("{} and {}", field("replicas"), field("autoscaling.enabled")),
            "a fixed replica count and an HPA cannot both own the workload; remove one",
        ));
    }
    if let Some(anti_affinity) = &settings.anti_affinity {
        if let Some(topology_key) = &anti_affinity.topology_key {
            if topology_key.trim().is_empty() {
                return Err(ConfigError::invalid(
                    field("antiAffinity.topologyKey"),
                    "must not be empty",
                ));
            }
        }
        if let Some(weight) = anti_affinity.weight {
            if !(1..=100).contains(&weight) {
                return Err(ConfigError::invalid(
                    field("antiAffinity.weight"),
                    format!("must be between 1 and 100, got {weight}"),
                ));
            }
        }
    }
    if let Some(log_level) = &settings.log_level {
        if let Some(level) = &log_level.level {
            if level.trim().is_empty() {
                return Err(ConfigError::invalid(
                    field("logLevel.level"),
                    "must not be empty",
                ));
            }
        }
        for (list_name, list) in [
            ("logLevel.configMapKeys", &log_level.config_map_keys),
            ("logLevel.envVars", &log_level.env_vars),
        ] {
            if let Some(index) = list
                .iter()
                .flatten()
                .position(|entry| entry.trim().is_empty())
            {
                return Err(ConfigError::invalid(
                    field(&format!("{list_name}[{index}]")),
                    "must be a non-empty string",
                ));
            }
        }
    }
    if let Some(autoscaling) = &settings.autoscaling {
        validate_autoscaling(autoscaling, &field("autoscaling"))?;
    }
    if let Some(DisruptionBudgetSpec {
        min_available: Some(_),
        max_unavailable: Some(_),
        ..
    }) = &settings.disruption_budget
    {
        return Err(ConfigError::invalid(
            format!(
                "{} and {}",
                field("disruptionBudget.minAvailable"),
                field("disruptionBudget.maxUnavailable")
            ),
            "set one of them, not both: a PodDisruptionBudget takes only one",
        ));
    }
    if let Some(RolloutSpec {
        max_surge: Some(surge),
        max_unavailable: Some(unavailable),
    }) = &settings.rollout
    {
        if surge.is_zero() && unavailable.is_zero() {
            return Err(rollout_stuck_error(&field("rollout"), None));
        }
    }
    if let Some(spread) = &settings.topology_spread {
        if let Some(topology_key) = &spread.topology_key {
            if topology_key.trim().is_empty() {
                return Err(ConfigError::invalid(
                    field("topologySpread.topologyKey"),
                    "must not be empty",
                ));
            }
        }
        if let Some(max_skew) = spread.max_skew.filter(|max_skew| *max_skew < 1) {
            return Err(ConfigError::invalid(
                field("topologySpread.maxSkew"),
                format!("must be at least 1, got {max_skew}"),
            ));
        }
    }
    Ok(())
}

/// Kubernetes refuses a rolling update that may neither add nor remove a pod. `earlier` names
/// the field that came from an earlier layer, when the two were set apart.
fn rollout_stuck_error(path: &str, earlier: Option<(&str, &Layer)>) -> ConfigError {
    let mut message = "maxSurge and maxUnavailable are both 0".to_string();
    if let Some((name, layer)) = earlier {
        message.push_str(&format!(" ({name} 0 comes from {})", layer.path));
    }
    message.push_str(
        "; a rolling update could then neither add nor remove a pod, and Kubernetes rejects it: \
         set one above 0",
    );
    ConfigError::invalid(path, message)
}

fn validate_autoscaling(autoscaling: &AutoscalingSpec, path: &str) -> Result<(), ConfigError> {
    let field = |name: &str| join_path(path, name);
    for (name, value) in [
        ("minReplicas", autoscaling.min_replicas),
        ("maxReplicas", autoscaling.max_replicas),
    ] {
        if let Some(value) = value.filter(|value| *value < 1) {
            return Err(ConfigError::invalid(
                field(name),
                format!("must be at least 1, got {value}"),
            ));
        }
    }
    if let (Some(min), Some(max)) = (autoscaling.min_replicas, autoscaling.max_replicas) {
        if min > max {
            return Err(ConfigError::invalid(
                path,
                format!("minReplicas {min} is above maxReplicas {max}"),
            ));
        }
    }
    for (name, value) in [
        ("cpuUtilization", autoscaling.cpu_utilization),
        ("memoryUtilization", autoscaling.memory_utilization),
    ] {
        if let Some(value) = value.filter(|value| !(0..=MAX_UTILIZATION).contains(value)) {
            return Err(ConfigError::invalid(
                field(name),
                format!("must be between 0 and {MAX_UTILIZATION} (percent), got {value}"),
            ));
        }
    }
    if autoscaling.enabled == Some(true)
        && autoscaling.cpu_utilization == Some(0)
        && autoscaling.memory_utilization == Some(0)
    {
        return Err(no_metric_error(path));
    }
    Ok(())
}

fn no_metric_error(path: &str) -> ConfigError {
    ConfigError::invalid(
        path,
        "cpuUtilization and memoryUtilization are both 0, so the HPA would have no metric; set one above 0",
    )
}

// ---------------------------------------------------------------------------------------------
// Layering.
// ---------------------------------------------------------------------------------------------

/// A merged value with the layer it came from, for error messages.
#[derive(Clone, Copy)]
struct FromLayer<'a, T> {
    value: T,
    layer: &'a Layer,
    order: usize,
}

/// The fields set so far while stacking layers.
#[derive(Default)]
struct Stack<'a> {
    replicas: Option<i32>,
    requests: BTreeMap<String, String>,
    limits: BTreeMap<String, String>,
    /// The first layer that mentions anti-affinity: it decides whether it is configured.
    anti_affinity_from: Option<&'a Layer>,
    mode: Option<AntiAffinityMode>,
    topology_key: Option<String>,
    weight: Option<i32>,
    log_level_from: Option<&'a Layer>,
    level: Option<String>,
    config_map_keys: Option<Vec<String>>,
    env_vars: Option<Vec<String>>,
    /// The layer that last switched autoscaling on; `None` while it is off.
    autoscaling_on: Option<&'a Layer>,
    min_replicas: Option<FromLayer<'a, i32>>,
    max_replicas: Option<FromLayer<'a, i32>>,
    cpu_utilization: Option<FromLayer<'a, i32>>,
    memory_utilization: Option<FromLayer<'a, i32>>,
    /// Whether the last layer that said `disruptionBudget.enabled` said true.
    disruption_budget_on: bool,
    /// The last `minAvailable` or `maxUnavailable`: setting one drops the other.
    disruption_bound: Option<DisruptionBound>,
    max_surge: Option<FromLayer<'a, IntOrPercent>>,
    rollout_max_unavailable: Option<FromLayer<'a, IntOrPercent>>,
    topology_spread_on: bool,
    spread_topology_key: Option<String>,
    max_skew: Option<i32>,
    when_unsatisfiable: Option<WhenUnsatisfiable>,
    security_context: Option<SecurityContextMode>,
}

/// The one bound a PodDisruptionBudget takes.
#[derive(Clone, Copy)]
enum DisruptionBound {
    MinAvailable(IntOrPercent),
    MaxUnavailable(IntOrPercent),
}

/// Stacks layers in order and produces the effective settings.
///
/// Replicas and autoscaling: an explicit `replicas` switches autoscaling off from that layer
/// on; `autoscaling.enabled: true` switches it on and drops an earlier fixed count;
/// `enabled: false` switches it off. The other autoscaling fields only *tune* the HPA: set in
/// a layer where autoscaling is off (and not enabled there), they are remembered for a later
/// `enabled: true` but do not switch it on. `disruptionBudget` and `topologySpread` follow the
/// same `enabled` rule. `production` picks the environment-dependent defaults.
fn resolve<'a>(
    layers: impl Iterator<Item = &'a Layer>,
    production: bool,
) -> Result<Effective, ConfigError> {
    let mut stack = Stack::default();
    for (order, layer) in layers.enumerate() {
        let settings = &layer.settings;
        let sourced = |value: i32| FromLayer {
            value,
            layer,
            order,
        };
        if let Some(replicas) = settings.replicas {
            stack.replicas = Some(replicas);
            stack.autoscaling_on = None;
        }
        if let Some(resources) = &settings.resources {
            for (target, source) in [
                (&mut stack.requests, &resources.requests),
                (&mut stack.limits, &resources.limits),
            ] {
                for (name, quantity) in source.iter().flatten() {
                    target.insert(name.as_str().to_string(), quantity.as_str().to_string());
                }
            }
        }
        if let Some(anti_affinity) = &settings.anti_affinity {
            if *anti_affinity != AntiAffinitySpec::default() {
                stack.anti_affinity_from.get_or_insert(layer);
            }
            stack.mode = anti_affinity.mode.or(stack.mode);
            stack.topology_key = anti_affinity
                .topology_key
                .clone()
                .or(stack.topology_key.take());
            stack.weight = anti_affinity.weight.or(stack.weight);
        }
        if let Some(log_level) = &settings.log_level {
            if *log_level != LogLevelSpec::default() {
                stack.log_level_from.get_or_insert(layer);
            }
            stack.level = log_level.level.clone().or(stack.level.take());
            stack.config_map_keys = log_level
                .config_map_keys
                .clone()
                .or(stack.config_map_keys.take());
            stack.env_vars = log_level.env_vars.clone().or(stack.env_vars.take());
        }
        if let Some(autoscaling) = &settings.autoscaling {
            match autoscaling.enabled {
                Some(true) => {
                    stack.autoscaling_on = Some(layer);
                    stack.replicas = None;
                }
                Some(false) => stack.autoscaling_on = None,
                None => {}
            }
            stack.min_replicas = autoscaling.min_replicas.map(sourced).or(stack.min_replicas);
            stack.max_replicas = autoscaling.max_replicas.map(sourced).or(stack.max_replicas);
            stack.cpu_utilization = autoscaling
                .cpu_utilization
                .map(sourced)
                .or(stack.cpu_utilization);
            stack.memory_utilization = autoscaling
                .memory_utilization
                .map(sourced)
                .or(stack.memory_utilization);
        }
        if let Some(budget) = &settings.disruption_budget {
            stack.disruption_budget_on = budget.enabled.unwrap_or(stack.disruption_budget_on);
            // Validation refuses both in one layer, so at most one of these applies.
            if let Some(min) = budget.min_available {
                stack.disruption_bound = Some(DisruptionBound::MinAvailable(min));
            }
            if let Some(max) = budget.max_unavailable {
                stack.disruption_bound = Some(DisruptionBound::MaxUnavailable(max));
            }
        }
        if let Some(rollout) = &settings.rollout {
            let sourced = |value: IntOrPercent| FromLayer {
                value,
                layer,
                order,
            };
            stack.max_surge = rollout.max_surge.map(sourced).or(stack.max_surge);
            stack.rollout_max_unavailable = rollout
                .max_unavailable
                .map(sourced)
                .or(stack.rollout_max_unavailable);
        }
        if let Some(spread) = &settings.topology_spread {
            stack.topology_spread_on = spread.enabled.unwrap_or(stack.topology_spread_on);
            stack.spread_topology_key = spread
                .topology_key
                .clone()
                .or(stack.spread_topology_key.take());
            stack.max_skew = spread.max_skew.or(stack.max_skew);
            stack.when_unsatisfiable = spread.when_unsatisfiable.or(stack.when_unsatisfiable);
        }
        if let Some(mode) = settings.security_context {
            stack.security_context = Some(mode);
        }
    }
    stack.finish(production)
}

impl Stack<'_> {
    fn finish(self, production: bool) -> Result<Effective, ConfigError> {
        let anti_affinity = match self.anti_affinity_from {
            None => None,
            Some(first) => {
                let Some(mode) = self.mode else {
                    return Err(ConfigError::invalid(
                        join_path(&first.path, "antiAffinity.mode"),
                        "is not set here or by a preset; choose required, preferred or none",
                    ));
                };
                Some(AntiAffinity {
                    mode,
                    topology_key: self
                        .topology_key
                        .unwrap_or_else(|| DEFAULT_TOPOLOGY_KEY.to_string()),
                    weight: self.weight.unwrap_or(DEFAULT_WEIGHT),
                })
            }
        };
        let log_level = match self.log_level_from {
            None => None,
            Some(first) => {
                let Some(level) = self.level else {
                    return Err(ConfigError::invalid(
                        join_path(&first.path, "logLevel.level"),
                        "is not set here or by a preset; set the level to write, e.g. info",
                    ));
                };
                Some(LogLevel {
                    level,
                    config_map_keys: self.config_map_keys.unwrap_or_else(|| {
                        DEFAULT_CONFIG_MAP_KEYS
                            .iter()
                            .map(|key| key.to_string())
                            .collect()
                    }),
                    env_vars: self.env_vars.unwrap_or_else(|| {
                        DEFAULT_ENV_VARS.iter().map(|var| var.to_string()).collect()
                    }),
                })
            }
        };
        let autoscaling = match self.autoscaling_on {
            None => None,
            Some(enabled_in) => Some(finish_autoscaling(
                enabled_in,
                self.min_replicas,
                self.max_replicas,
                self.cpu_utilization,
                self.memory_utilization,
            )?),
        };
        let disruption_budget = self
            .disruption_budget_on
            .then(|| match self.disruption_bound {
                None => DisruptionBudget::default(),
                Some(DisruptionBound::MinAvailable(min)) => DisruptionBudget {
                    min_available: Some(min),
                    max_unavailable: None,
                },
                Some(DisruptionBound::MaxUnavailable(max)) => DisruptionBudget {
                    min_available: None,
                    max_unavailable: Some(max),
                },
            });
        let rollout = finish_rollout(self.max_surge, self.rollout_max_unavailable)?;
        let topology_spread = self.topology_spread_on.then(|| TopologySpread {
            topology_key: self
                .spread_topology_key
                .unwrap_or_else(|| DEFAULT_SPREAD_TOPOLOGY_KEY.to_string()),
            max_skew: self.max_skew.unwrap_or(DEFAULT_MAX_SKEW),
            when_unsatisfiable: self.when_unsatisfiable.unwrap_or(if production {
                WhenUnsatisfiable::DoNotSchedule
            } else {
                WhenUnsatisfiable::ScheduleAnyway
            }),
        });
        Ok(Effective {
            replicas: if autoscaling.is_some() {
                None
            } else {
                self.replicas
            },
            resources: Resources {
                requests: self.requests,
                limits: self.limits,
            },
            anti_affinity,
            log_level,
            autoscaling,
            disruption_budget,
            rollout,
            topology_spread,
            hardened: self.security_context == Some(SecurityContextMode::Hardened),
        })
    }
}

/// Combines the rollout fields: `None` when no layer set either; a missing one gets
/// Kubernetes' default (25%). Both zero is refused at the later of the two layers.
fn finish_rollout(
    surge: Option<FromLayer<'_, IntOrPercent>>,
    unavailable: Option<FromLayer<'_, IntOrPercent>>,
) -> Result<Option<Rollout>, ConfigError> {
    if let (Some(surge), Some(unavailable)) = (surge, unavailable) {
        if surge.value.is_zero() && unavailable.value.is_zero() {
            let (later, earlier_name, earlier) = if surge.order >= unavailable.order {
                (surge, "maxUnavailable", unavailable)
            } else {
                (unavailable, "maxSurge", surge)
            };
            let earlier = (earlier.order != later.order).then_some((earlier_name, earlier.layer));
            return Err(rollout_stuck_error(
                &join_path(&later.layer.path, "rollout"),
                earlier,
            ));
        }
    }
    if surge.is_none() && unavailable.is_none() {
        return Ok(None);
    }
    Ok(Some(Rollout {
        max_surge: surge.map_or(DEFAULT_ROLLOUT_PERCENT, |surge| surge.value),
        max_unavailable: unavailable
            .map_or(DEFAULT_ROLLOUT_PERCENT, |unavailable| unavailable.value),
    }))
}

/// Checks the combined autoscaling fields and fills defaults: `minReplicas` 1; when neither
/// utilization is set anywhere, CPU at 80% (the HPA's own default).
fn finish_autoscaling(
    enabled_in: &Layer,
    min: Option<FromLayer<'_, i32>>,
    max: Option<FromLayer<'_, i32>>,
    cpu: Option<FromLayer<'_, i32>>,
    memory: Option<FromLayer<'_, i32>>,
) -> Result<Autoscaling, ConfigError> {
    let Some(max) = max else {
        return Err(ConfigError::invalid(
            join_path(&enabled_in.path, "autoscaling.maxReplicas"),
            "is required when autoscaling is enabled, and no layer sets it",
        ));
    };
    let min_replicas = min.map_or(DEFAULT_MIN_REPLICAS, |min| min.value);
    if let Some(min) = min.filter(|min| min.value > max.value) {
        let (later, earlier, earlier_name, earlier_value) = if min.order >= max.order {
            (min, max, "maxReplicas", max.value)
        } else {
            (max, min, "minReplicas", min.value)
        };
        let mut message = format!(
            "minReplicas {} is above maxReplicas {}",
            min.value, max.value
        );
        if earlier.order != later.order {
            message.push_str(&format!(
                " ({earlier_name} {earlier_value} comes from {})",
                earlier.layer.path
            ));
        }
        return Err(ConfigError::invalid(
            join_path(&later.layer.path, "autoscaling"),
            message,
        ));
    }
    let (cpu_utilization, memory_utilization) = match (cpu, memory) {
        (None, None) => (DEFAULT_CPU_UTILIZATION, 0),
        (cpu, memory) => (
            cpu.map_or(0, |cpu| cpu.value),
            memory.map_or(0, |memory| memory.value),
        ),
    };
    if cpu_utilization == 0 && memory_utilization == 0 {
        let last = [cpu, memory]
            .into_iter()
            .flatten()
            .max_by_key(|value| value.order);
        let layer = last.map_or(enabled_in, |value| value.layer);
        return Err(no_metric_error(&join_path(&layer.path, "autoscaling")));
    }
    let non_zero = |value: i32| (value != 0).then_some(value);
    Ok(Autoscaling {
        min_replicas,
        max_replicas: max.value,
        cpu_utilization: non_zero(cpu_utilization),
        memory_utilization: non_zero(memory_utilization),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn environment_policy(spec: Value) -> Value {
        json!({
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": "prod", "annotations": {"config.kubernetes.io/local-config": "true"}},
            "spec": spec,
        })
    }

    fn parse(spec: Value) -> Result<Policy, ConfigError> {
        Policy::from_config(Some(&environment_policy(spec)))
    }

    fn parse_configmap(data: Value) -> Result<Policy, ConfigError> {
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "function-input"}, "data": data});
        Policy::from_config(Some(&config))
    }

    /// The inventory keeps only these ConfigMap keys, so every place a key can be named must
    /// be in the union: the defaults, the spec, each override and the ConfigMap form.
    #[test]
    fn config_map_keys_are_every_layers_keys() {
        let keys = |policy: Result<Policy, ConfigError>| -> Vec<String> {
            let policy = policy.expect("policy");
            let mut keys: Vec<String> = policy.config_map_keys().map(str::to_owned).collect();
            keys.sort();
            keys.dedup();
            keys
        };
        let defaults: Vec<String> = {
            let mut d = strings(DEFAULT_CONFIG_MAP_KEYS);
            d.sort();
            d
        };
        assert_eq!(keys(parse(json!({"environment": "prod"}))), defaults);
        let policy = parse(json!({
            "environment": "dev",
            "logLevel": {"configMapKeys": ["APP_LOG"]},
            "overrides": [
                {"selector": {"names": ["a"]}, "logLevel": {"configMapKeys": ["verbosity"]}},
                {"selector": {"names": ["b"]}, "replicas": 2},
            ],
        }));
        let mut expected = defaults.clone();
        expected.extend(strings(&["APP_LOG", "verbosity"]));
        expected.sort();
        assert_eq!(keys(policy), expected);
        let from_configmap = parse_configmap(json!({
            "environment": "staging",
            "logLevel.configMapKeys": "x,y",
        }));
        let mut expected = defaults;
        expected.extend(strings(&["x", "y"]));
        expected.sort();
        assert_eq!(keys(from_configmap), expected);
    }

    /// The error text of a config that must fail to parse.
    fn parse_error(spec: Value) -> String {
        match parse(spec) {
            Ok(policy) => panic!("expected an error, parsed {policy:?}"),
            Err(err) => err.to_string(),
        }
    }

    fn configmap_error(data: Value) -> String {
        match parse_configmap(data) {
            Ok(policy) => panic!("expected an error, parsed {policy:?}"),
            Err(err) => err.to_string(),
        }
    }

    fn workload<'a>(
        kind: &'a str,
        name: &'a str,
        namespace: Option<&'a str>,
        labels: &'a Labels,
    ) -> WorkloadMeta<'a> {
        WorkloadMeta {
            kind,
            name,
            namespace,
            labels,
        }
    }

    /// Settings for Deployment shop/<name> without labels.
    fn settings(policy: &Policy, name: &str) -> Effective {
        let labels = Labels::default();
        match policy.settings_for(&workload("Deployment", name, Some("shop"), &labels)) {
            Ok(Some(effective)) => effective,
            other => panic!("{name}: expected settings, got {other:?}"),
        }
    }

    fn effective(spec: Value) -> Effective {
        match parse(spec) {
            Ok(policy) => settings(&policy, "web"),
            Err(err) => panic!("unexpected error: {err}"),
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    fn default_log_level(level: &str) -> Option<LogLevel> {
        Some(LogLevel {
            level: level.to_string(),
            config_map_keys: strings(DEFAULT_CONFIG_MAP_KEYS),
            env_vars: strings(DEFAULT_ENV_VARS),
        })
    }

    fn default_anti_affinity(mode: AntiAffinityMode) -> Option<AntiAffinity> {
        Some(AntiAffinity {
            mode,
            topology_key: DEFAULT_TOPOLOGY_KEY.to_string(),
            weight: DEFAULT_WEIGHT,
        })
    }

    fn prod_autoscaling() -> Option<Autoscaling> {
        Some(Autoscaling {
            min_replicas: 3,
            max_replicas: 10,
            cpu_utilization: Some(75),
            memory_utilization: Some(75),
        })
    }

    fn prod_disruption_budget() -> Option<DisruptionBudget> {
        Some(DisruptionBudget {
            min_available: None,
            max_unavailable: Some(IntOrPercent::Int(1)),
        })
    }

    fn prod_rollout() -> Option<Rollout> {
        Some(Rollout {
            max_surge: IntOrPercent::Int(1),
            max_unavailable: IntOrPercent::Int(0),
        })
    }

    fn prod_topology_spread() -> Option<TopologySpread> {
        Some(TopologySpread {
            topology_key: DEFAULT_SPREAD_TOPOLOGY_KEY.to_string(),
            max_skew: 1,
            when_unsatisfiable: WhenUnsatisfiable::DoNotSchedule,
        })
    }

    // --- presets ------------------------------------------------------------------------

    #[test]
    fn dev_preset() {
        let dev = effective(json!({"environment": "dev"}));
        assert_eq!(
            dev,
            Effective {
                replicas: Some(1),
                anti_affinity: default_anti_affinity(AntiAffinityMode::Preferred),
                log_level: default_log_level("debug"),
                ..Effective::default()
            }
        );
    }

    #[test]
    fn staging_preset() {
        let staging = effective(json!({"environment": "staging"}));
        assert_eq!(
            staging,
            Effective {
                replicas: Some(2),
                anti_affinity: default_anti_affinity(AntiAffinityMode::Preferred),
                log_level: default_log_level("info"),
                ..Effective::default()
            }
        );
    }

    #[test]
    fn prod_preset() {
        let prod = effective(json!({"environment": "prod"}));
        assert_eq!(
            prod,
            Effective {
                replicas: None,
                anti_affinity: default_anti_affinity(AntiAffinityMode::Required),
                log_level: default_log_level("info"),
                autoscaling: prod_autoscaling(),
                disruption_budget: prod_disruption_budget(),
                rollout: prod_rollout(),
                topology_spread: prod_topology_spread(),
                ..Effective::default()
            }
        );
    }

    #[test]
    fn other_environment_names_have_no_preset() {
        let qa = effective(json!({"environment": "qa", "replicas": 2}));
        assert_eq!(
            qa,
            Effective {
                replicas: Some(2),
                ..Effective::default()
            }
        );
        let policy = parse(json!({"environment": "qa"})).map_err(|e| e.to_string());
        assert_eq!(policy.as_ref().map(|p| p.environment()), Ok(Some("qa")));
        assert_eq!(effective(json!({})), Effective::default());
    }

    #[test]
    fn preset_names_in_the_wrong_case_are_rejected() {
        let err = parse_error(json!({"environment": "Prod"}));
        assert!(
            err.contains("spec.environment: \"Prod\" has no preset"),
            "{err}"
        );
        assert!(err.contains("write prod"), "{err}");
    }

    #[test]
    fn empty_environment_is_rejected() {
        assert_eq!(
            parse_error(json!({"environment": ""})),
            "EnvironmentPolicy prod: spec.environment: must not be empty"
        );
    }

    #[test]
    fn explicit_fields_override_the_preset() {
        let dev = effective(json!({
            "environment": "dev",
            "antiAffinity": {"topologyKey": "topology.kubernetes.io/zone"},
            "logLevel": {"level": "trace"},
        }));
        assert_eq!(
            dev.anti_affinity,
            Some(AntiAffinity {
                mode: AntiAffinityMode::Preferred,
                topology_key: "topology.kubernetes.io/zone".to_string(),
                weight: 100,
            })
        );
        assert_eq!(dev.log_level, default_log_level("trace"));
        assert_eq!(dev.replicas, Some(1));
    }

    // --- layering -------------------------------------------------------------------------

    #[test]
    fn resources_merge_field_by_field() {
        let result = effective(json!({
            "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
            "overrides": [{"resources": {"requests": {"cpu": "500m"}}}],
        }));
        assert_eq!(
            result.resources,
            Resources {
                requests: [
                    ("cpu".to_string(), "500m".to_string()),
                    ("memory".to_string(), "256Mi".to_string())
                ]
                .into(),
                limits: [("memory".to_string(), "1Gi".to_string())].into(),
            }
        );
    }

    #[test]
    fn a_lone_max_replicas_keeps_earlier_min_and_enabled() {
        let result = effective(json!({"environment": "prod", "autoscaling": {"maxReplicas": 20}}));
        assert_eq!(
            result.autoscaling,
            Some(Autoscaling {
                max_replicas: 20,
                ..prod_autoscaling().unwrap_or_else(|| unreachable!())
            })
        );
    }

    #[test]
    fn overrides_apply_in_order_to_the_workloads_they_select() {
        let policy = parse(json!({
            "environment": "staging",
            "overrides": [
                {"selector": {"names": ["chat", "web"]}, "replicas": 3, "logLevel": {"level": "warn"}},
                {"selector": {"names": ["chat"]}, "replicas": 4},
            ],
        }))
        .map_err(|e| e.to_string());
        let Ok(policy) = policy else {
            panic!("{policy:?}")
        };
        let chat = settings(&policy, "chat");
        assert_eq!(
            (chat.replicas, chat.log_level.map(|l| l.level)),
            (Some(4), Some("warn".to_string()))
        );
        let web = settings(&policy, "web");
        assert_eq!(
            (web.replicas, web.log_level.map(|l| l.level)),
            (Some(3), Some("warn".to_string()))
        );
        let api = settings(&policy, "api");
        assert_eq!(
            (api.replicas, api.log_level.map(|l| l.level)),
            (Some(2), Some("info".to_string()))
        );
    }

    #[test]
    fn override_without_selector_applies_to_everything_selected() {
        let result = effective(json!({"replicas": 2, "overrides": [{"replicas": 5}]}));
        assert_eq!(result.replicas, Some(5));
    }

    // --- replicas and autoscaling ----------------------------------------------------------

    #[test]
    fn fixed_replicas_switch_off_preset_autoscaling() {
        let result = effective(json!({"environment": "prod", "replicas": 5}));
        assert_eq!((result.replicas, result.autoscaling), (Some(5), None));
    }

    #[test]
    fn replicas_in_an_override_switch_off_autoscaling_for_its_workloads_only() {
        let policy = parse(
            json!({"environment": "prod", "overrides": [{"selector": {"names": ["chat"]}, "replicas": 3}]}),
        );
        let Ok(policy) = policy else {
            panic!("{policy:?}")
        };
        let chat = settings(&policy, "chat");
        assert_eq!((chat.replicas, chat.autoscaling), (Some(3), None));
        assert_eq!(settings(&policy, "web").autoscaling, prod_autoscaling());
    }

    #[test]
    fn replicas_and_enabled_autoscaling_in_one_layer_conflict() {
        assert_eq!(
            parse_error(json!({"replicas": 5, "autoscaling": {"enabled": true, "maxReplicas": 9}})),
            "EnvironmentPolicy prod: spec.replicas and spec.autoscaling.enabled: a fixed replica count and an HPA \
             cannot both own the workload; remove one"
        );
        let err = parse_error(
            json!({"overrides": [{}, {"replicas": 2, "autoscaling": {"enabled": true}}]}),
        );
        assert!(
            err.contains("spec.overrides[1].replicas and spec.overrides[1].autoscaling.enabled: a fixed replica count"),
            "{err}"
        );
    }

    #[test]
    fn later_enabled_autoscaling_clears_fixed_replicas() {
        let result = effective(json!({
            "environment": "staging",
            "overrides": [{"autoscaling": {"enabled": true, "minReplicas": 2, "maxReplicas": 6, "cpuUtilization": 60}}],
        }));
        assert_eq!(result.replicas, None);
        assert_eq!(
            result.autoscaling,
            Some(Autoscaling {
                min_replicas: 2,
                max_replicas: 6,
                cpu_utilization: Some(60),
                memory_utilization: None
            })
        );
    }

    #[test]
    fn autoscaling_fields_without_enabled_do_not_switch_it_on() {
        let result = effective(
            json!({"environment": "staging", "autoscaling": {"minReplicas": 2, "maxReplicas": 6}}),
        );
        assert_eq!((result.replicas, result.autoscaling), (Some(2), None));
        // ... but are remembered for a later layer that enables it.
        let result = effective(json!({
            "environment": "staging",
            "autoscaling": {"minReplicas": 2, "maxReplicas": 6},
            "overrides": [{"autoscaling": {"enabled": true}}],
        }));
        assert_eq!(
            result.autoscaling,
            Some(Autoscaling {
                min_replicas: 2,
                max_replicas: 6,
                cpu_utilization: Some(80),
                memory_utilization: None
            })
        );
    }

    #[test]
    fn enabled_false_switches_autoscaling_off() {
        let result = effective(json!({"environment": "prod", "autoscaling": {"enabled": false}}));
        assert_eq!((result.replicas, result.autoscaling), (None, None));
    }

    #[test]
    fn enabling_autoscaling_needs_max_replicas_somewhere() {
        let err = parse_error(json!({"autoscaling": {"enabled": true}}));
        assert_eq!(
            err,
            "EnvironmentPolicy prod: spec.autoscaling.maxReplicas: is required when autoscaling is enabled, and no layer sets it"
        );
    }

    #[test]
    fn utilization_defaults_to_cpu_80_only_when_neither_is_set() {
        let result = effective(json!({"autoscaling": {"enabled": true, "maxReplicas": 4}}));
        assert_eq!(
            result.autoscaling,
            Some(Autoscaling {
                min_replicas: 1,
                max_replicas: 4,
                cpu_utilization: Some(80),
                memory_utilization: None
            })
        );
        let result = effective(
            json!({"autoscaling": {"enabled": true, "maxReplicas": 4, "memoryUtilization": 70}}),
        );
        assert_eq!(
            result
                .autoscaling
                .map(|a| (a.cpu_utilization, a.memory_utilization)),
            Some((None, Some(70)))
        );
    }

    #[test]
    fn zero_utilization_leaves_the_metric_out() {
        let result =
            effective(json!({"environment": "prod", "autoscaling": {"memoryUtilization": 0}}));
        assert_eq!(
            result
                .autoscaling
                .map(|a| (a.cpu_utilization, a.memory_utilization)),
            Some((Some(75), None))
        );
    }

    #[test]
    fn both_utilizations_zero_is_an_error_only_with_autoscaling_on() {
        let err = parse_error(
            json!({"environment": "prod", "autoscaling": {"cpuUtilization": 0, "memoryUtilization": 0}}),
        );
        assert!(
            err.contains("spec.autoscaling: cpuUtilization and memoryUtilization are both 0"),
            "{err}"
        );
        let staging = effective(
            json!({"environment": "staging", "autoscaling": {"cpuUtilization": 0, "memoryUtilization": 0}}),
        );
        assert_eq!(staging.autoscaling, None);
    }

    #[test]
    fn min_above_max_across_layers_is_reported_at_parse_time_without_overrides() {
        assert_eq!(
            parse_error(json!({"environment": "prod", "autoscaling": {"minReplicas": 12}})),
            "EnvironmentPolicy prod: spec.autoscaling: minReplicas 12 is above maxReplicas 10 \
             (maxReplicas 10 comes from the prod preset)"
        );
    }

    #[test]
    fn min_above_max_from_an_override_is_reported_per_workload() {
        let policy = parse(json!({
            "environment": "prod",
            "overrides": [{"selector": {"names": ["chat"]}, "autoscaling": {"maxReplicas": 2}}],
        }));
        let Ok(policy) = policy else {
            panic!("{policy:?}")
        };
        assert_eq!(settings(&policy, "web").autoscaling, prod_autoscaling());
        let labels = Labels::default();
        let err = policy.settings_for(&workload("Deployment", "chat", Some("shop"), &labels));
        let Err(err) = err else { panic!("{err:?}") };
        assert_eq!(err.path(), "spec.overrides[0].autoscaling");
        assert_eq!(err.workload(), Some("Deployment shop/chat"));
        assert_eq!(
            err.to_string(),
            "EnvironmentPolicy prod: spec.overrides[0].autoscaling: minReplicas 3 is above maxReplicas 2 \
             (minReplicas 3 comes from the prod preset) (when applied to Deployment shop/chat)"
        );
    }

    #[test]
    fn min_above_max_in_one_layer_is_a_parse_error() {
        let err = parse_error(
            json!({"overrides": [{"autoscaling": {"minReplicas": 5, "maxReplicas": 4}}]}),
        );
        assert_eq!(err, "EnvironmentPolicy prod: spec.overrides[0].autoscaling: minReplicas 5 is above maxReplicas 4");
    }

    // --- validation of single fields --------------------------------------------------------

    #[test]
    fn replicas_must_be_positive() {
        assert_eq!(
            parse_error(json!({"replicas": 0})),
            "EnvironmentPolicy prod: spec.replicas: must be at least 1, got 0"
        );
        let err = parse_error(json!({"overrides": [{"replicas": -1}]}));
        assert_eq!(
            err,
            "EnvironmentPolicy prod: spec.overrides[0].replicas: must be at least 1, got -1"
        );
    }

    #[test]
    fn min_and_max_replicas_must_be_positive() {
        let err = parse_error(json!({"autoscaling": {"minReplicas": 0}}));
        assert_eq!(
            err,
            "EnvironmentPolicy prod: spec.autoscaling.minReplicas: must be at least 1, got 0"
        );
        let err = parse_error(json!({"autoscaling": {"maxReplicas": 0}}));
        assert_eq!(
            err,
            "EnvironmentPolicy prod: spec.autoscaling.maxReplicas: must be at least 1, got 0"
        );
    }

    #[test]
    fn utilization_must_be_within_0_and_1000() {
        let err = parse_error(json!({"autoscaling": {"cpuUtilization": 1001}}));
        assert_eq!(err, "EnvironmentPolicy prod: spec.autoscaling.cpuUtilization: must be between 0 and 1000 (percent), got 1001");
        let err = parse_error(json!({"autoscaling": {"memoryUtilization": -5}}));
        assert!(
            err.contains(
                "spec.autoscaling.memoryUtilization: must be between 0 and 1000 (percent), got -5"
            ),
            "{err}"
        );
    }

    #[test]
    fn weight_must_be_within_1_and_100() {
        let err = parse_error(json!({"antiAffinity": {"mode": "preferred", "weight": 0}}));
        assert_eq!(
            err,
            "EnvironmentPolicy prod: spec.antiAffinity.weight: must be between 1 and 100, got 0"
        );
        let err = parse_error(json!({"antiAffinity": {"weight": 101}}));
        assert!(err.contains("got 101"), "{err}");
    }

    #[test]
    fn unknown_anti_affinity_mode_lists_the_modes() {
        let err = parse_error(json!({"antiAffinity": {"mode": "always"}}));
        assert_eq!(
            err,
            "EnvironmentPolicy prod: spec.antiAffinity.mode: unknown variant `always`, expected one of `required`, `preferred`, `none`"
        );
    }

    #[test]
    fn topology_key_and_level_must_not_be_empty() {
        let err = parse_error(json!({"antiAffinity": {"mode": "required", "topologyKey": ""}}));
        assert_eq!(
            err,
            "EnvironmentPolicy prod: spec.antiAffinity.topologyKey: must not be empty"
        );
        let err = parse_error(json!({"logLevel": {"level": " "}}));
        assert_eq!(
            err,
            "EnvironmentPolicy prod: spec.logLevel.level: must not be empty"
        );
        let err = parse_error(json!({"logLevel": {"level": "info", "envVars": ["LOG_LEVEL", ""]}}));
        assert_eq!(
            err,
            "EnvironmentPolicy prod: spec.logLevel.envVars[1]: must be a non-empty string"
        );
    }

    #[test]
    fn anti_affinity_needs_a_mode_from_some_layer() {
        let err = parse_error(json!({"antiAffinity": {"weight": 50}}));
        assert!(
            err.starts_with("EnvironmentPolicy prod: spec.antiAffinity.mode: is not set"),
            "{err}"
        );
        let none = effective(json!({"antiAffinity": {"mode": "none"}}));
        assert_eq!(
            none.anti_affinity,
            default_anti_affinity(AntiAffinityMode::None)
        );
    }

    #[test]
    fn log_level_needs_a_level_and_fills_default_lists() {
        let err = parse_error(json!({"logLevel": {"envVars": ["LEVEL"]}}));
        assert!(
            err.starts_with("EnvironmentPolicy prod: spec.logLevel.level: is not set"),
            "{err}"
        );
        let result = effective(json!({"logLevel": {"level": "warn", "configMapKeys": []}}));
        assert_eq!(
            result.log_level,
            Some(LogLevel {
                level: "warn".to_string(),
                config_map_keys: vec![],
                env_vars: strings(DEFAULT_ENV_VARS)
            })
        );
    }

    #[test]
    fn quantities_accept_numbers_and_strings() {
        let result = effective(json!({"resources": {
            "requests": {"cpu": 0.5, "memory": "256Mi", "ephemeral-storage": "1e9"},
            "limits": {"cpu": 1, "memory": 1.0, "nvidia.com/gpu": "1", "hugepages-2Mi": "64Mi"},
        }}));
        assert_eq!(
            result.resources.requests.get("cpu").map(String::as_str),
            Some("0.5")
        );
        assert_eq!(
            result
                .resources
                .requests
                .get("ephemeral-storage")
                .map(String::as_str),
            Some("1e9")
        );
        assert_eq!(
            result.resources.limits.get("cpu").map(String::as_str),
            Some("1")
        );
        assert_eq!(
            result.resources.limits.get("memory").map(String::as_str),
            Some("1")
        );
        assert_eq!(
            result
                .resources
                .limits
                .get("nvidia.com/gpu")
                .map(String::as_str),
            Some("1")
        );
    }

    #[test]
    fn invalid_quantities_are_rejected_with_their_path() {
        let err = parse_error(json!({"resources": {"limits": {"cpu": "1 core"}}}));
        assert!(
            err.starts_with(
                "EnvironmentPolicy prod: spec.resources.limits.cpu: invalid quantity \"1 core\""
            ),
            "{err}"
        );
        let err =
            parse_error(json!({"overrides": [{"resources": {"requests": {"memory": "-1Gi"}}}]}));
        assert!(
            err.contains(
                "spec.overrides[0].resources.requests.memory: quantity \"-1Gi\" is negative"
            ),
            "{err}"
        );
        let err = parse_error(json!({"resources": {"requests": {"memory": true}}}));
        assert!(err.contains("spec.resources.requests.memory: invalid type: boolean `true`, expected a Kubernetes quantity"), "{err}");
    }

    #[test]
    fn unknown_resource_names_are_rejected() {
        let err = parse_error(json!({"resources": {"limits": {"cpus": "1"}}}));
        assert!(
            err.starts_with(
                "EnvironmentPolicy prod: spec.resources.limits.cpus: unknown resource \"cpus\""
            ),
            "{err}"
        );
    }

    #[test]
    fn quantity_grammar() {
        for good in [
            "1", "+1", "-0", "0.5", ".5", "5.", "250m", "1Gi", "1Ei", "1E", "2k", "3u", "1e3",
            "1E-3", "1.5e+2",
        ] {
            assert!(is_quantity(good), "{good} should be a quantity");
        }
        for bad in [
            "", "m", ".", "1.2.3", "1 m", "1gi", "1KI", "1e", "1e+", "1ki", "1Mb", "--1", "1i",
            "0x10", "1m1",
        ] {
            assert!(!is_quantity(bad), "{bad} should not be a quantity");
        }
    }

    // --- structure errors ------------------------------------------------------------------

    #[test]
    fn unknown_fields_are_named_with_their_full_path() {
        let err = parse_error(json!({"replica": 3}));
        assert!(
            err.starts_with(
                "EnvironmentPolicy prod: spec.replica: unknown field `replica`, expected one of"
            ),
            "{err}"
        );
        let err = parse_error(json!({"overrides": [{"replica": 3}]}));
        assert!(
            err.starts_with(
                "EnvironmentPolicy prod: spec.overrides[0].replica: unknown field `replica`"
            ),
            "{err}"
        );
        let err = parse_error(json!({"overrides": [{"selector": {"name": ["x"]}}]}));
        assert!(
            err.starts_with(
                "EnvironmentPolicy prod: spec.overrides[0].selector.name: unknown field `name`"
            ),
            "{err}"
        );
        let err = parse_error(json!({"resources": {"request": {}}}));
        assert!(
            err.contains("spec.resources.request: unknown field `request`"),
            "{err}"
        );
        let err = parse_error(json!({"autoscaling": {"maxReplica": 3}}));
        assert!(
            err.contains("spec.autoscaling.maxReplica: unknown field `maxReplica`"),
            "{err}"
        );
        let err = parse_error(json!({"antiAffinity": {"topology": "x"}}));
        assert!(
            err.contains("spec.antiAffinity.topology: unknown field"),
            "{err}"
        );
    }

    #[test]
    fn unknown_top_level_fields_and_missing_spec_are_rejected() {
        let mut config = environment_policy(json!({}));
        if let Some(object) = config.as_object_mut() {
            object.insert("sepc".to_string(), json!({}));
        }
        let err = Policy::from_config(Some(&config)).map_err(|e| e.to_string());
        assert!(
            err.as_ref()
                .is_err_and(|e| e.contains("sepc: unknown field `sepc`")),
            "{err:?}"
        );
        let config = json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "p"}});
        let err = Policy::from_config(Some(&config)).map_err(|e| e.to_string());
        assert_eq!(
            err.map(|_| ()),
            Err("EnvironmentPolicy p: missing field `spec`".to_string())
        );
    }

    #[test]
    fn metadata_may_hold_anything() {
        let config = json!({
            "apiVersion": API_VERSION, "kind": KIND,
            "metadata": {"name": "p", "annotations": {"a": "b"}, "labels": {"x": "y"}, "whatever": [1, 2]},
            "spec": {"environment": "dev"},
        });
        let policy = Policy::from_config(Some(&config));
        assert_eq!(
            policy.as_ref().map(|p| (p.name(), p.environment())),
            Ok(("p", Some("dev")))
        );
    }

    #[test]
    fn wrong_types_are_named_with_their_path() {
        assert_eq!(
            parse_error(json!({"replicas": "five"})),
            "EnvironmentPolicy prod: spec.replicas: invalid type: string \"five\", expected i32"
        );
        let err = parse_error(json!({"selector": {"names": "web"}}));
        assert!(
            err.contains("spec.selector.names: invalid type: string \"web\", expected a sequence"),
            "{err}"
        );
        let err = parse_error(json!({"selector": {"names": ["web", 3]}}));
        assert!(
            err.contains("spec.selector.names[1]: invalid type: integer `3`, expected a string"),
            "{err}"
        );
    }

    #[test]
    fn other_envpolicy_versions_are_rejected_by_version() {
        let config = json!({"apiVersion": "envpolicy.dev/v1beta1", "kind": KIND, "metadata": {"name": "p"}, "spec": {}});
        let err = Policy::from_config(Some(&config));
        let Err(err) = err else { panic!("{err:?}") };
        assert_eq!(err.kind(), ConfigErrorKind::Unsupported);
        assert_eq!(
            err.to_string(),
            "EnvironmentPolicy p: apiVersion: envpolicy.dev/v1beta1 is not supported; this envpolicy reads envpolicy.dev/v1alpha1"
        );
    }

    #[test]
    fn other_kinds_are_rejected_by_name() {
        let config = json!({"apiVersion": "x/v1", "kind": "Foo", "metadata": {"name": "p"}});
        let err = Policy::from_config(Some(&config)).map_err(|e| e.to_string());
        assert_eq!(
            err.map(|_| ()),
            Err("functionConfig kind Foo (apiVersion x/v1) is not supported; expected envpolicy.dev/v1alpha1 \
                 EnvironmentPolicy or a v1 ConfigMap"
                .to_string())
        );
        let err = Policy::from_config(Some(&json!({"apiVersion": "apps/v1", "kind": "ConfigMap"})));
        assert!(err.is_err_and(|e| e.kind() == ConfigErrorKind::Unsupported));
        let err = Policy::from_config(Some(&json!("environment=prod")));
        assert!(err.is_err_and(|e| e.message() == "functionConfig must be an object, got a string"));
    }

    #[test]
    fn absent_config_is_no_configuration() {
        for config in [None, Some(&Value::Null)] {
            let err = Policy::from_config(config);
            let Err(err) = err else { panic!("{err:?}") };
            assert!(err.is_no_configuration());
            assert!(err.to_string().contains("environment=prod"), "{err}");
        }
    }

    // --- ConfigMap --------------------------------------------------------------------------

    #[test]
    fn placeholder_configmap_is_no_configuration() {
        let err = parse_configmap(json!({}));
        let Err(err) = err else { panic!("{err:?}") };
        assert_eq!(err.kind(), ConfigErrorKind::NoConfiguration);
        assert!(
            err.to_string()
                .starts_with("ConfigMap function-input: no configuration: pass environment="),
            "{err}"
        );
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "function-input"}});
        assert!(Policy::from_config(Some(&config)).is_err_and(|e| e.is_no_configuration()));
    }

    #[test]
    fn configmap_sets_the_same_fields_as_a_spec() {
        let policy = parse_configmap(json!({
            "environment": "prod",
            "autoscaling.maxReplicas": "12",
            "autoscaling.memoryUtilization": "0",
            "resources.limits.cpu": "1",
            "resources.requests.memory": "256Mi",
            "selector.names": "web,api",
            "selector.matchLabels.tier": "backend",
            "antiAffinity.mode": "preferred",
            "antiAffinity.weight": "40",
            "logLevel.level": "warn",
            "logLevel.configMapKeys": "a,b",
        }));
        let Ok(policy) = policy else {
            panic!("{policy:?}")
        };
        assert_eq!(policy.name(), "function-input");
        assert_eq!(policy.environment(), Some("prod"));
        let labels = Labels::from(BTreeMap::from([(
            "tier".to_string(),
            "backend".to_string(),
        )]));
        let api = policy.settings_for(&workload("Deployment", "api", Some("shop"), &labels));
        let expected = Effective {
            replicas: None,
            resources: Resources {
                requests: [("memory".to_string(), "256Mi".to_string())].into(),
                limits: [("cpu".to_string(), "1".to_string())].into(),
            },
            anti_affinity: Some(AntiAffinity {
                mode: AntiAffinityMode::Preferred,
                topology_key: DEFAULT_TOPOLOGY_KEY.to_string(),
                weight: 40,
            }),
            log_level: Some(LogLevel {
                level: "warn".to_string(),
                config_map_keys: strings(&["a", "b"]),
                env_vars: strings(DEFAULT_ENV_VARS),
            }),
            autoscaling: Some(Autoscaling {
                min_replicas: 3,
                max_replicas: 12,
                cpu_utilization: Some(75),
                memory_utilization: None,
            }),
            disruption_budget: prod_disruption_budget(),
            rollout: prod_rollout(),
            topology_spread: prod_topology_spread(),
            hardened: false,
        };
        assert_eq!(api, Ok(Some(expected)));
        let other = policy.settings_for(&workload("Deployment", "chat", Some("shop"), &labels));
        assert_eq!(other, Ok(None));
        let unlabelled = Labels::default();
        assert_eq!(
            policy.settings_for(&workload("Deployment", "api", Some("shop"), &unlabelled)),
            Ok(None)
        );
    }

    #[test]
    fn configmap_replicas_and_bools() {
        let policy = parse_configmap(json!({"environment": "prod", "replicas": "4"}));
        let Ok(policy) = policy else {
            panic!("{policy:?}")
        };
        assert_eq!(
            (
                settings(&policy, "web").replicas,
                settings(&policy, "web").autoscaling
            ),
            (Some(4), None)
        );
        let policy = parse_configmap(
            json!({"environment": "staging", "autoscaling.enabled": "true", "autoscaling.maxReplicas": "5"}),
        );
        let Ok(policy) = policy else {
            panic!("{policy:?}")
        };
        assert_eq!(
            settings(&policy, "web").autoscaling.map(|a| a.max_replicas),
            Some(5)
        );
    }

    #[test]
    fn configmap_errors_name_the_data_key() {
        assert_eq!(
            configmap_error(json!({"autoscaling.maxReplicas": "1x"})),
            "ConfigMap function-input: data.autoscaling.maxReplicas: invalid digit found in string: expected a whole number, got \"1x\""
        );
        let err = configmap_error(json!({"replica": "3"}));
        assert!(
            err.starts_with("ConfigMap function-input: data.replica: unknown field `replica`"),
            "{err}"
        );
        let err = configmap_error(json!({"autoscaling.maxReplica": "3"}));
        assert!(
            err.contains("data.autoscaling.maxReplica: unknown field `maxReplica`"),
            "{err}"
        );
        let err = configmap_error(json!({"autoscaling.enabled": "yes"}));
        assert!(
            err.contains("data.autoscaling.enabled: expected true or false, got \"yes\""),
            "{err}"
        );
        let err = configmap_error(json!({"replicas": "0"}));
        assert_eq!(
            err,
            "ConfigMap function-input: data.replicas: must be at least 1, got 0"
        );
        let err = configmap_error(json!({"resources.limits.cpu": "lots"}));
        assert!(
            err.contains("data.resources.limits.cpu: invalid quantity \"lots\""),
            "{err}"
        );
        let err = configmap_error(json!({"antiAffinity.mode": "sometimes"}));
        assert!(
            err.contains("data.antiAffinity.mode: unknown variant `sometimes`"),
            "{err}"
        );
        let err = configmap_error(json!({"selector.names": ""}));
        assert!(
            err.contains("data.selector.names: an empty list selects nothing"),
            "{err}"
        );
        let err = configmap_error(json!({"selector.kinds": "Deployment,ReplicaSet"}));
        assert!(
            err.contains("data.selector.kinds[1]: kind ReplicaSet has no pod template"),
            "{err}"
        );
        let err = configmap_error(json!({"replicas": "2", "autoscaling.enabled": "true"}));
        assert!(
            err.contains("data.replicas and data.autoscaling.enabled: a fixed replica count"),
            "{err}"
        );
    }

    #[test]
    fn configmap_cannot_give_overrides() {
        let err = configmap_error(json!({"environment": "prod", "overrides": "[]"}));
        assert!(err.contains("data.overrides: overrides cannot be given in a ConfigMap; use an EnvironmentPolicy"), "{err}");
        let err = configmap_error(json!({"overrides.0.replicas": "2"}));
        assert!(err.contains("use an EnvironmentPolicy"), "{err}");
    }

    // --- selectors --------------------------------------------------------------------------

    #[test]
    fn default_selector_takes_deployments_and_statefulsets() {
        let Ok(policy) = parse(json!({"environment": "dev"})) else {
            panic!()
        };
        let labels = Labels::default();
        for kind in DEFAULT_KINDS {
            assert!(
                matches!(
                    policy.settings_for(&workload(kind, "a", None, &labels)),
                    Ok(Some(_))
                ),
                "{kind}"
            );
        }
        assert_eq!(
            policy.settings_for(&workload("DaemonSet", "a", None, &labels)),
            Ok(None)
        );
    }

    #[test]
    fn every_selector_criterion_must_match() {
        let Ok(policy) = parse(json!({"selector": {
            "kinds": ["StatefulSet"], "names": ["db"], "namespaces": ["shop"], "matchLabels": {"tier": "data"},
        }, "replicas": 3})) else {
            panic!()
        };
        let labels = Labels::from(BTreeMap::from([
            ("tier".to_string(), "data".to_string()),
            ("extra".to_string(), "x".to_string()),
        ]));
        let selected = |kind, name, namespace, labels| {
            policy
                .settings_for(&workload(kind, name, namespace, labels))
                .map(|s| s.is_some())
        };
        assert_eq!(
            selected("StatefulSet", "db", Some("shop"), &labels),
            Ok(true)
        );
        assert_eq!(
            selected("Deployment", "db", Some("shop"), &labels),
            Ok(false)
        );
        assert_eq!(
            selected("StatefulSet", "web", Some("shop"), &labels),
            Ok(false)
        );
        assert_eq!(
            selected("StatefulSet", "db", Some("other"), &labels),
            Ok(false)
        );
        assert_eq!(
            selected("StatefulSet", "db", Some("shop"), &Labels::default()),
            Ok(false)
        );
    }

    #[test]
    fn workloads_without_namespace_match_only_the_empty_namespace() {
        let labels = Labels::default();
        let Ok(policy) = parse(json!({"selector": {"namespaces": ["shop"]}})) else {
            panic!()
        };
        assert_eq!(
            policy.settings_for(&workload("Deployment", "a", None, &labels)),
            Ok(None)
        );
        let Ok(policy) = parse(json!({"selector": {"namespaces": ["shop", ""]}})) else {
            panic!()
        };
        assert!(matches!(
            policy.settings_for(&workload("Deployment", "a", None, &labels)),
            Ok(Some(_))
        ));
    }

    #[test]
    fn selector_lists_must_select_something() {
        let err = parse_error(json!({"selector": {"names": []}}));
        assert_eq!(
            err,
            "EnvironmentPolicy prod: spec.selector.names: an empty list selects nothing; leave the field out to select everything"
        );
        let err = parse_error(json!({"selector": {"names": ["web", ""]}}));
        assert_eq!(
            err,
            "EnvironmentPolicy prod: spec.selector.names[1]: must be a non-empty string"
        );
        let err = parse_error(json!({"overrides": [{"selector": {"namespaces": []}}]}));
        assert!(
            err.contains("spec.overrides[0].selector.namespaces: an empty list selects nothing"),
            "{err}"
        );
    }

    #[test]
    fn unsupported_kinds_are_rejected() {
        let err = parse_error(json!({"selector": {"kinds": ["Deployment", "ReplicaSet"]}}));
        assert_eq!(
            err,
            "EnvironmentPolicy prod: spec.selector.kinds[1]: kind ReplicaSet has no pod template envpolicy knows; \
             supported kinds: Deployment, StatefulSet, DaemonSet, Job, CronJob (declare others in podTemplatePaths)"
        );
        let err = parse_error(json!({"selector": {"kinds": ["deployment"]}}));
        assert!(err.contains("did you mean Deployment?"), "{err}");
    }

    #[test]
    fn override_selectors_refine_the_top_level_one() {
        let Ok(policy) = parse(json!({
            "selector": {"kinds": ["Deployment"]},
            "replicas": 2,
            "overrides": [{"selector": {"matchLabels": {"tier": "web"}}, "replicas": 4}],
        })) else {
            panic!()
        };
        let labels = Labels::from(BTreeMap::from([("tier".to_string(), "web".to_string())]));
        let replicas = |kind| {
            policy
                .settings_for(&workload(kind, "a", Some("x"), &labels))
                .map(|s| s.and_then(|s| s.replicas))
        };
        assert_eq!(replicas("Deployment"), Ok(Some(4)));
        assert_eq!(
            replicas("StatefulSet"),
            Ok(None),
            "the override cannot widen the top-level selection"
        );
    }

    #[test]
    fn overrides_that_can_never_apply_are_rejected() {
        let err = parse_error(
            json!({"selector": {"kinds": ["Deployment"]}, "overrides": [{"selector": {"kinds": ["StatefulSet"]}}]}),
        );
        assert!(
            err.contains("spec.overrides[0].selector.kinds: selects only StatefulSet, none of which spec.selector.kinds selects (Deployment)"),
            "{err}"
        );
        let err = parse_error(
            json!({"selector": {"names": ["web"]}, "overrides": [{"selector": {"names": ["chat"]}}]}),
        );
        assert!(
            err.contains("spec.overrides[0].selector.names: selects only chat"),
            "{err}"
        );
        let err = parse_error(
            json!({"selector": {"matchLabels": {"tier": "a"}}, "overrides": [{"selector": {"matchLabels": {"tier": "b"}}}]}),
        );
        assert!(err.contains("spec.overrides[0].selector.matchLabels.tier: is \"b\" but spec.selector.matchLabels.tier requires \"a\""), "{err}");
    }

    // --- top-level cluster fields -------------------------------------------------------------

    #[test]
    fn top_level_fields_have_defaults() {
        let Ok(policy) = parse(json!({"environment": "dev"})) else {
            panic!()
        };
        assert_eq!(policy.kubernetes_version(), (1, 30));
        assert!(!policy.strict());
        assert_eq!(policy.capacity(), &Capacity::default());
        assert_eq!(
            policy.capacity(),
            &Capacity {
                nodes: None,
                zones: None
            }
        );
        assert!(policy.pod_template_paths().is_empty());
        assert_eq!(policy.override_count(), 0);
    }

    #[test]
    fn top_level_fields_are_read() {
        let policy = parse(json!({
            "kubernetesVersion": "1.28",
            "strict": true,
            "capacity": {"nodes": 5, "zones": 3},
            "overrides": [{"replicas": 2}, {"replicas": 3}],
        }));
        let Ok(policy) = policy else {
            panic!("{policy:?}")
        };
        assert_eq!(policy.kubernetes_version(), (1, 28));
        assert!(policy.strict());
        assert_eq!(
            policy.capacity(),
            &Capacity {
                nodes: Some(5),
                zones: Some(3)
            }
        );
        assert_eq!(policy.override_count(), 2);
        let Ok(policy) = parse(json!({"capacity": {"zones": 2}})) else {
            panic!()
        };
        assert_eq!(
            policy.capacity(),
            &Capacity {
                nodes: None,
                zones: Some(2)
            }
        );
    }

    #[test]
    fn is_production_only_for_prod() {
        for (environment, production) in [
            (json!("prod"), true),
            (json!("staging"), false),
            (json!("production"), false),
            (Value::Null, false),
        ] {
            let spec = if environment.is_null() {
                json!({})
            } else {
                json!({"environment": environment})
            };
            let policy = parse(spec).map(|policy| policy.is_production());
            assert_eq!(policy, Ok(production), "{environment}");
        }
    }

    #[test]
    fn kubernetes_version_as_a_number_says_to_quote_it() {
        let err = parse_error(json!({"kubernetesVersion": 1.3}));
        assert!(
            err.starts_with(
                "EnvironmentPolicy prod: spec.kubernetesVersion: 1.3 is a number; quote it: \"1.30\""
            ),
            "{err}"
        );
        assert_eq!(
            parse_error(json!({"kubernetesVersion": 1.29})),
            "EnvironmentPolicy prod: spec.kubernetesVersion: 1.29 is a number; quote it: \"1.29\""
        );
        assert_eq!(
            parse_error(json!({"kubernetesVersion": "v1.30"})),
            "EnvironmentPolicy prod: spec.kubernetesVersion: expected a \"MAJOR.MINOR\" version such as \"1.30\", got \"v1.30\""
        );
    }

    #[test]
    fn capacity_must_be_at_least_one() {
        assert_eq!(
            parse_error(json!({"capacity": {"nodes": 0}})),
            "EnvironmentPolicy prod: spec.capacity.nodes: must be at least 1, got 0"
        );
        assert_eq!(
            parse_error(json!({"capacity": {"nodes": 3, "zones": -1}})),
            "EnvironmentPolicy prod: spec.capacity.zones: must be at least 1, got -1"
        );
        let err = parse_error(json!({"capacity": {"cpus": 3}}));
        assert!(
            err.contains("spec.capacity.cpus: unknown field `cpus`"),
            "{err}"
        );
        let err = parse_error(json!({"strict": "yes"}));
        assert!(
            err.contains("spec.strict: invalid type: string \"yes\", expected a boolean"),
            "{err}"
        );
    }

    #[test]
    fn top_level_only_fields_are_refused_in_overrides() {
        for (field, value) in [
            ("kubernetesVersion", json!("1.30")),
            ("strict", json!(true)),
            ("capacity", json!({"nodes": 3})),
            ("podTemplatePaths", json!([])),
        ] {
            let err = parse_error(json!({"overrides": [{field: value}]}));
            assert!(
                err.starts_with(&format!(
                    "EnvironmentPolicy prod: spec.overrides[0].{field}: unknown field `{field}`"
                )),
                "{err}"
            );
        }
    }

    // --- podTemplatePaths and kinds ------------------------------------------------------------

    fn rollout_policy(extra: Value) -> Policy {
        let mut spec = json!({
            "environment": "staging",
            "podTemplatePaths": [
                {"kind": "Rollout", "apiVersion": "argoproj.io/v1alpha1", "path": "spec.template", "scalable": true},
                {"kind": "Batch", "path": "spec.jobTemplate.spec.template"},
            ],
        });
        if let (Some(spec), Value::Object(extra)) = (spec.as_object_mut(), extra) {
            spec.extend(extra);
        }
        match parse(spec) {
            Ok(policy) => policy,
            Err(err) => panic!("{err}"),
        }
    }

    fn selects(policy: &Policy, kind: &str) -> bool {
        let labels = Labels::default();
        matches!(
            policy.settings_for(&workload(kind, "web", Some("shop"), &labels)),
            Ok(Some(_))
        )
    }

    #[test]
    fn pod_template_paths_are_read() {
        let policy = rollout_policy(json!({}));
        assert_eq!(
            policy.pod_template_paths(),
            &[
                PodTemplatePath {
                    kind: "Rollout".to_string(),
                    api_group: Some("argoproj.io".to_string()),
                    path: strings(&["spec", "template"]),
                    scalable: true,
                },
                PodTemplatePath {
                    kind: "Batch".to_string(),
                    api_group: None,
                    path: strings(&["spec", "jobTemplate", "spec", "template"]),
                    scalable: false,
                },
            ]
        );
    }

    #[test]
    fn pod_template_path_errors_name_their_path() {
        assert_eq!(
            parse_error(json!({"podTemplatePaths": [{"kind": "Rollout", "path": ""}]})),
            "EnvironmentPolicy prod: spec.podTemplatePaths[0].path: must not be empty"
        );
        let err = parse_error(json!({"podTemplatePaths": [{"kind": "Rollout"}]}));
        assert_eq!(
            err,
            "EnvironmentPolicy prod: spec.podTemplatePaths[0]: missing field `path`"
        );
        let err = parse_error(json!({"podTemplatePaths": [{"path": "spec.template"}]}));
        assert!(
            err.contains("spec.podTemplatePaths[0]: missing field `kind`"),
            "{err}"
        );
        let err = parse_error(
            json!({"podTemplatePaths": [{"kind": "Rollout", "path": "spec.template", "scaleable": true}]}),
        );
        assert!(
            err.contains("spec.podTemplatePaths[0].scaleable: unknown field `scaleable`"),
            "{err}"
        );
        let err = parse_error(
            json!({"podTemplatePaths": [{"kind": "Rollout", "path": "spec.template"}, {"kind": "StatefulSet", "path": "spec.template"}]}),
        );
        assert!(
            err.starts_with(
                "EnvironmentPolicy prod: spec.podTemplatePaths[1].kind: StatefulSet is built in"
            ),
            "{err}"
        );
    }

    #[test]
    fn default_selection_adds_declared_kinds_but_not_daemonsets_jobs_cronjobs() {
        let policy = rollout_policy(json!({}));
        for kind in ["Deployment", "StatefulSet", "Rollout", "Batch"] {
            assert!(selects(&policy, kind), "{kind}");
        }
        for kind in ["DaemonSet", "Job", "CronJob", "ReplicaSet"] {
            assert!(!selects(&policy, kind), "{kind}");
        }
    }

    #[test]
    fn built_in_kinds_are_selected_when_listed() {
        let Ok(policy) = parse(json!({"selector": {"kinds": ["DaemonSet", "Job", "CronJob"]}}))
        else {
            panic!()
        };
        for kind in ["DaemonSet", "Job", "CronJob"] {
            assert!(selects(&policy, kind), "{kind}");
        }
        assert!(!selects(&policy, "Deployment"));
    }

    #[test]
    fn declared_kinds_may_be_listed_in_selectors() {
        let policy = rollout_policy(json!({
            "selector": {"kinds": ["Rollout", "Deployment"]},
            "overrides": [{"selector": {"kinds": ["Rollout"]}, "replicas": 5}],
        }));
        assert!(selects(&policy, "Rollout") && !selects(&policy, "Batch"));
        let labels = Labels::default();
        let replicas = |kind| {
            policy
                .settings_for(&workload(kind, "web", None, &labels))
                .map(|s| s.and_then(|s| s.replicas))
        };
        assert_eq!(replicas("Rollout"), Ok(Some(5)));
        assert_eq!(replicas("Deployment"), Ok(Some(2)));
        // Without the declaration, Rollout is unknown.
        let err = parse_error(json!({"selector": {"kinds": ["Rollout"]}}));
        assert!(
            err.contains(
                "spec.selector.kinds[0]: kind Rollout has no pod template envpolicy knows"
            ) && err.contains("(declare others in podTemplatePaths)"),
            "{err}"
        );
        let err = parse_error(json!({
            "podTemplatePaths": [{"kind": "Rollout", "path": "spec.template"}],
            "selector": {"kinds": ["rollout"]},
        }));
        assert!(err.contains("did you mean Rollout?"), "{err}");
    }

    #[test]
    fn an_override_for_a_kind_outside_the_default_selection_says_how_to_include_it() {
        let err = parse_error(json!({"overrides": [{"selector": {"kinds": ["DaemonSet"]}}]}));
        assert_eq!(
            err,
            "EnvironmentPolicy prod: spec.overrides[0].selector.kinds: selects only DaemonSet, which spec.selector \
             does not select by default (it selects Deployment, StatefulSet); list the kinds in spec.selector.kinds \
             to include them"
        );
    }

    #[test]
    fn matching_overrides_lists_the_indices_that_apply() {
        let Ok(policy) = parse(json!({
            "selector": {"namespaces": ["shop"]},
            "overrides": [
                {"selector": {"names": ["web"]}, "replicas": 3},
                {"replicas": 4},
                {"selector": {"kinds": ["StatefulSet"]}, "replicas": 5},
                {"selector": {"names": ["web"], "matchLabels": {"tier": "front"}}, "replicas": 6},
            ],
        })) else {
            panic!()
        };
        assert_eq!(policy.override_count(), 4);
        let labels = Labels::default();
        let front = Labels::from(BTreeMap::from([("tier".to_string(), "front".to_string())]));
        assert_eq!(
            policy.matching_overrides(&workload("Deployment", "web", Some("shop"), &labels)),
            vec![0, 1]
        );
        assert_eq!(
            policy.matching_overrides(&workload("Deployment", "web", Some("shop"), &front)),
            vec![0, 1, 3]
        );
        assert_eq!(
            policy.matching_overrides(&workload("StatefulSet", "db", Some("shop"), &labels)),
            vec![1, 2]
        );
        // Not selected at the top level: no override applies either.
        assert_eq!(
            policy.matching_overrides(&workload("Deployment", "web", Some("other"), &labels)),
            Vec::<usize>::new()
        );
        assert_eq!(
            policy.matching_overrides(&workload("DaemonSet", "web", Some("shop"), &labels)),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn configmap_policies_have_no_overrides() {
        let Ok(policy) = parse_configmap(json!({"environment": "dev"})) else {
            panic!()
        };
        let labels = Labels::default();
        assert_eq!(policy.override_count(), 0);
        assert!(policy
            .matching_overrides(&workload("Deployment", "web", None, &labels))
            .is_empty());
    }

    // --- disruptionBudget ---------------------------------------------------------------------

    #[test]
    fn disruption_budget_is_switched_by_enabled_only() {
        let result =
            effective(json!({"environment": "staging", "disruptionBudget": {"minAvailable": 2}}));
        assert_eq!(result.disruption_budget, None);
        let result = effective(json!({
            "environment": "staging",
            "disruptionBudget": {"minAvailable": 2},
            "overrides": [{"disruptionBudget": {"enabled": true}}],
        }));
        assert_eq!(
            result.disruption_budget,
            Some(DisruptionBudget {
                min_available: Some(IntOrPercent::Int(2)),
                max_unavailable: None
            }),
            "the bound set earlier is remembered"
        );
    }

    #[test]
    fn an_enabled_budget_without_a_bound_leaves_the_default_to_the_policy() {
        let result = effective(json!({"disruptionBudget": {"enabled": true}}));
        assert_eq!(result.disruption_budget, Some(DisruptionBudget::default()));
    }

    #[test]
    fn a_later_bound_replaces_the_other_one() {
        let result =
            effective(json!({"environment": "prod", "disruptionBudget": {"minAvailable": "50%"}}));
        assert_eq!(
            result.disruption_budget,
            Some(DisruptionBudget {
                min_available: Some(IntOrPercent::Percent(50)),
                max_unavailable: None
            })
        );
        let result = effective(json!({
            "environment": "prod",
            "disruptionBudget": {"minAvailable": 2},
            "overrides": [{"disruptionBudget": {"maxUnavailable": "10%"}}],
        }));
        assert_eq!(
            result.disruption_budget,
            Some(DisruptionBudget {
                min_available: None,
                max_unavailable: Some(IntOrPercent::Percent(10))
            })
        );
    }

    #[test]
    fn both_bounds_in_one_layer_conflict() {
        assert_eq!(
            parse_error(json!({"disruptionBudget": {"enabled": true, "minAvailable": 2, "maxUnavailable": "25%"}})),
            "EnvironmentPolicy prod: spec.disruptionBudget.minAvailable and spec.disruptionBudget.maxUnavailable: \
             set one of them, not both: a PodDisruptionBudget takes only one"
        );
        let err = parse_error(
            json!({"overrides": [{}, {"disruptionBudget": {"minAvailable": 1, "maxUnavailable": 1}}]}),
        );
        assert!(
            err.contains("spec.overrides[1].disruptionBudget.minAvailable and spec.overrides[1].disruptionBudget.maxUnavailable: set one of them"),
            "{err}"
        );
    }

    #[test]
    fn enabled_false_switches_the_budget_off() {
        let result =
            effective(json!({"environment": "prod", "disruptionBudget": {"enabled": false}}));
        assert_eq!(result.disruption_budget, None);
        let result = effective(json!({
            "environment": "prod",
            "disruptionBudget": {"enabled": false},
            "overrides": [{"disruptionBudget": {"enabled": true}}],
        }));
        assert_eq!(result.disruption_budget, prod_disruption_budget());
    }

    #[test]
    fn disruption_budget_values_are_checked_with_their_path() {
        assert_eq!(
            parse_error(json!({"disruptionBudget": {"minAvailable": "101%"}})),
            "EnvironmentPolicy prod: spec.disruptionBudget.minAvailable: a percentage must be between 0% and 100%, got \"101%\""
        );
        assert_eq!(
            parse_error(json!({"overrides": [{"disruptionBudget": {"maxUnavailable": -1}}]})),
            "EnvironmentPolicy prod: spec.overrides[0].disruptionBudget.maxUnavailable: must be at least 0, got -1"
        );
        let err = parse_error(json!({"disruptionBudget": {"minAvailble": 1}}));
        assert!(
            err.contains("spec.disruptionBudget.minAvailble: unknown field `minAvailble`"),
            "{err}"
        );
    }

    // --- rollout --------------------------------------------------------------------------------

    #[test]
    fn rollout_is_configured_by_any_field_and_fills_kubernetes_defaults() {
        assert_eq!(effective(json!({"environment": "staging"})).rollout, None);
        assert_eq!(effective(json!({"rollout": {}})).rollout, None);
        assert_eq!(
            effective(json!({"rollout": {"maxSurge": 2}})).rollout,
            Some(Rollout {
                max_surge: IntOrPercent::Int(2),
                max_unavailable: IntOrPercent::Percent(25)
            })
        );
        assert_eq!(
            effective(json!({"rollout": {"maxUnavailable": "10%"}})).rollout,
            Some(Rollout {
                max_surge: IntOrPercent::Percent(25),
                max_unavailable: IntOrPercent::Percent(10)
            })
        );
    }

    #[test]
    fn rollout_fields_layer_one_by_one() {
        let result = effective(json!({
            "environment": "prod",
            "overrides": [{"rollout": {"maxUnavailable": 1}}],
        }));
        assert_eq!(
            result.rollout,
            Some(Rollout {
                max_surge: IntOrPercent::Int(1),
                max_unavailable: IntOrPercent::Int(1)
            })
        );
    }

    #[test]
    fn rollout_both_zero_in_one_layer_is_an_error() {
        let expected = "EnvironmentPolicy prod: spec.rollout: maxSurge and maxUnavailable are both 0; a rolling \
                        update could then neither add nor remove a pod, and Kubernetes rejects it: set one above 0";
        assert_eq!(
            parse_error(json!({"rollout": {"maxSurge": 0, "maxUnavailable": 0}})),
            expected
        );
        assert_eq!(
            parse_error(json!({"rollout": {"maxSurge": "0%", "maxUnavailable": 0}})),
            expected
        );
    }

    #[test]
    fn rollout_both_zero_across_layers_names_the_earlier_layer() {
        let err = parse_error(json!({"environment": "prod", "rollout": {"maxSurge": "0%"}}));
        assert!(
            err.starts_with(
                "EnvironmentPolicy prod: spec.rollout: maxSurge and maxUnavailable are both 0 \
                 (maxUnavailable 0 comes from the prod preset); a rolling update"
            ),
            "{err}"
        );
        let policy = parse(json!({
            "environment": "prod",
            "overrides": [{"selector": {"names": ["chat"]}, "rollout": {"maxSurge": 0}}],
        }));
        let Ok(policy) = policy else {
            panic!("{policy:?}")
        };
        assert_eq!(settings(&policy, "web").rollout, prod_rollout());
        let labels = Labels::default();
        let err = policy.settings_for(&workload("Deployment", "chat", Some("shop"), &labels));
        let Err(err) = err else { panic!("{err:?}") };
        assert_eq!(err.path(), "spec.overrides[0].rollout");
        assert_eq!(err.workload(), Some("Deployment shop/chat"));
    }

    #[test]
    fn rollout_values_are_checked_with_their_path() {
        assert_eq!(
            parse_error(json!({"rollout": {"maxSurge": 1.5}})),
            "EnvironmentPolicy prod: spec.rollout.maxSurge: expected a whole number or a percentage such as \"25%\", got 1.5"
        );
        assert_eq!(
            parse_error(json!({"overrides": [{"rollout": {"maxUnavailable": "abc"}}]})),
            "EnvironmentPolicy prod: spec.overrides[0].rollout.maxUnavailable: expected a whole number or a percentage \
             such as \"25%\", got \"abc\""
        );
        let err = parse_error(json!({"rollout": {"enabled": true}}));
        assert!(
            err.contains("spec.rollout.enabled: unknown field `enabled`"),
            "{err}"
        );
    }

    // --- topologySpread -------------------------------------------------------------------------

    #[test]
    fn topology_spread_is_switched_by_enabled_and_defaults_outside_prod() {
        for spec in [
            json!({"environment": "staging", "topologySpread": {"enabled": true}}),
            json!({"environment": "qa", "topologySpread": {"enabled": true}}),
            json!({"topologySpread": {"enabled": true}}),
        ] {
            assert_eq!(
                effective(spec.clone()).topology_spread,
                Some(TopologySpread {
                    topology_key: DEFAULT_SPREAD_TOPOLOGY_KEY.to_string(),
                    max_skew: 1,
                    when_unsatisfiable: WhenUnsatisfiable::ScheduleAnyway,
                }),
                "{spec}"
            );
        }
        let tuned_only = effective(json!({"environment": "dev", "topologySpread": {"maxSkew": 2}}));
        assert_eq!(tuned_only.topology_spread, None);
    }

    #[test]
    fn topology_spread_defaults_to_do_not_schedule_in_prod() {
        // The prod preset spells DoNotSchedule out; the default must agree without it.
        let layer = Layer {
            path: "spec".to_string(),
            selector: None,
            override_index: None,
            settings: Settings {
                topology_spread: Some(TopologySpreadSpec {
                    enabled: Some(true),
                    ..TopologySpreadSpec::default()
                }),
                ..Settings::default()
            },
        };
        let when = |production| {
            resolve([&layer].into_iter(), production)
                .map(|e| e.topology_spread.map(|t| t.when_unsatisfiable))
        };
        assert_eq!(when(true), Ok(Some(WhenUnsatisfiable::DoNotSchedule)));
        assert_eq!(when(false), Ok(Some(WhenUnsatisfiable::ScheduleAnyway)));
        assert_eq!(
            effective(json!({"environment": "prod"})).topology_spread,
            prod_topology_spread()
        );
    }

    #[test]
    fn topology_spread_fields_refine_the_preset() {
        let policy = parse(json!({
            "environment": "prod",
            "overrides": [
                {"selector": {"names": ["chat"]}, "topologySpread": {"topologyKey": "kubernetes.io/hostname", "maxSkew": 2}},
                {"selector": {"names": ["batch"]}, "topologySpread": {"enabled": false}},
                {"selector": {"names": ["api"]}, "topologySpread": {"whenUnsatisfiable": "ScheduleAnyway"}},
            ],
        }));
        let Ok(policy) = policy else {
            panic!("{policy:?}")
        };
        assert_eq!(
            settings(&policy, "chat").topology_spread,
            Some(TopologySpread {
                topology_key: "kubernetes.io/hostname".to_string(),
                max_skew: 2,
                when_unsatisfiable: WhenUnsatisfiable::DoNotSchedule,
            })
        );
        assert_eq!(settings(&policy, "batch").topology_spread, None);
        assert_eq!(
            settings(&policy, "api")
                .topology_spread
                .map(|t| t.when_unsatisfiable.as_str()),
            Some("ScheduleAnyway")
        );
        assert_eq!(
            settings(&policy, "web").topology_spread,
            prod_topology_spread()
        );
    }

    #[test]
    fn topology_spread_values_are_checked_with_their_path() {
        assert_eq!(
            parse_error(json!({"topologySpread": {"enabled": true, "maxSkew": 0}})),
            "EnvironmentPolicy prod: spec.topologySpread.maxSkew: must be at least 1, got 0"
        );
        assert_eq!(
            parse_error(json!({"overrides": [{"topologySpread": {"topologyKey": " "}}]})),
            "EnvironmentPolicy prod: spec.overrides[0].topologySpread.topologyKey: must not be empty"
        );
        assert_eq!(
            parse_error(json!({"topologySpread": {"whenUnsatisfiable": "doNotSchedule"}})),
            "EnvironmentPolicy prod: spec.topologySpread.whenUnsatisfiable: unknown variant `doNotSchedule`, \
             expected `DoNotSchedule` or `ScheduleAnyway`"
        );
        assert_eq!(WhenUnsatisfiable::DoNotSchedule.as_str(), "DoNotSchedule");
    }

    // --- securityContext ------------------------------------------------------------------------

    #[test]
    fn security_context_takes_the_last_layer() {
        assert!(!effective(json!({"environment": "prod"})).hardened);
        assert!(effective(json!({"securityContext": "hardened"})).hardened);
        let policy = parse(json!({
            "environment": "dev",
            "securityContext": "hardened",
            "overrides": [{"selector": {"names": ["legacy"]}, "securityContext": "none"}, {}],
        }));
        let Ok(policy) = policy else {
            panic!("{policy:?}")
        };
        assert!(settings(&policy, "web").hardened);
        assert!(!settings(&policy, "legacy").hardened);
        assert_eq!(
            parse_error(json!({"securityContext": "strict"})),
            "EnvironmentPolicy prod: spec.securityContext: unknown variant `strict`, expected `hardened` or `none`"
        );
    }

    // --- new fields in a ConfigMap --------------------------------------------------------------

    #[test]
    fn configmap_sets_the_new_fields() {
        let policy = parse_configmap(json!({
            "environment": "staging",
            "kubernetesVersion": "1.29",
            "strict": "true",
            "capacity.nodes": "6",
            "capacity.zones": "3",
            "disruptionBudget.enabled": "true",
            "disruptionBudget.minAvailable": "50%",
            "rollout.maxSurge": "2",
            "topologySpread.enabled": "true",
            "topologySpread.topologyKey": "kubernetes.io/hostname",
            "topologySpread.maxSkew": "2",
            "topologySpread.whenUnsatisfiable": "DoNotSchedule",
            "securityContext": "hardened",
        }));
        let Ok(policy) = policy else {
            panic!("{policy:?}")
        };
        assert_eq!(policy.kubernetes_version(), (1, 29));
        assert!(policy.strict());
        assert_eq!(
            policy.capacity(),
            &Capacity {
                nodes: Some(6),
                zones: Some(3)
            }
        );
        let web = settings(&policy, "web");
        assert_eq!(
            web.disruption_budget,
            Some(DisruptionBudget {
                min_available: Some(IntOrPercent::Percent(50)),
                max_unavailable: None
            })
        );
        assert_eq!(
            web.rollout,
            Some(Rollout {
                max_surge: IntOrPercent::Int(2),
                max_unavailable: IntOrPercent::Percent(25)
            })
        );
        assert_eq!(
            web.topology_spread,
            Some(TopologySpread {
                topology_key: "kubernetes.io/hostname".to_string(),
                max_skew: 2,
                when_unsatisfiable: WhenUnsatisfiable::DoNotSchedule,
            })
        );
        assert!(web.hardened);
    }

    #[test]
    fn configmap_errors_for_the_new_fields_name_the_data_key() {
        let err = configmap_error(json!({"kubernetesVersion": 1.3}));
        assert!(
            err.starts_with("ConfigMap function-input: data.kubernetesVersion: 1.3 is a number; quote it: \"1.30\""),
            "{err}"
        );
        assert_eq!(
            configmap_error(json!({"capacity.nodes": "0"})),
            "ConfigMap function-input: data.capacity.nodes: must be at least 1, got 0"
        );
        assert_eq!(
            configmap_error(json!({"rollout.maxSurge": "lots"})),
            "ConfigMap function-input: data.rollout.maxSurge: expected a whole number or a percentage such as \"25%\", got \"lots\""
        );
        assert_eq!(
            configmap_error(json!({"rollout.maxSurge": "0", "rollout.maxUnavailable": "0%"})),
            "ConfigMap function-input: data.rollout: maxSurge and maxUnavailable are both 0; a rolling update could \
             then neither add nor remove a pod, and Kubernetes rejects it: set one above 0"
        );
        assert_eq!(
            configmap_error(json!({"disruptionBudget.minAvailable": "1", "disruptionBudget.maxUnavailable": "1"})),
            "ConfigMap function-input: data.disruptionBudget.minAvailable and data.disruptionBudget.maxUnavailable: \
             set one of them, not both: a PodDisruptionBudget takes only one"
        );
        let err = configmap_error(json!({"topologySpread.whenUnsatisfiable": "Never"}));
        assert!(
            err.contains("data.topologySpread.whenUnsatisfiable: unknown variant `Never`"),
            "{err}"
        );
        let err = configmap_error(json!({"strict": "maybe"}));
        assert!(
            err.contains("data.strict: expected true or false, got \"maybe\""),
            "{err}"
        );
        let err = configmap_error(json!({"environment": "prod", "podTemplatePaths": "Rollout"}));
        assert!(
            err.contains("data.podTemplatePaths: podTemplatePaths cannot be given in a ConfigMap; use an EnvironmentPolicy"),
            "{err}"
        );
    }

    #[test]
    fn configmap_selector_accepts_the_built_in_kinds() {
        let Ok(policy) = parse_configmap(json!({"selector.kinds": "DaemonSet,CronJob"})) else {
            panic!()
        };
        assert!(selects(&policy, "DaemonSet") && selects(&policy, "CronJob"));
        assert!(!selects(&policy, "Deployment"));
    }

    #[test]
    fn a_full_spec_round_trips_through_serde() {
        let spec = json!({
            "environment": "prod",
            "kubernetesVersion": "1.31",
            "strict": true,
            "capacity": {"nodes": 9, "zones": 3},
            "podTemplatePaths": [{"kind": "Rollout", "apiVersion": "argoproj.io/v1alpha1", "path": "spec.template", "scalable": true}],
            "disruptionBudget": {"enabled": true, "minAvailable": "50%"},
            "rollout": {"maxSurge": "30%", "maxUnavailable": 0},
            "topologySpread": {"enabled": true, "topologyKey": "kubernetes.io/hostname", "maxSkew": 2, "whenUnsatisfiable": "ScheduleAnyway"},
            "securityContext": "hardened",
            "overrides": [{"rollout": {"maxSurge": 1}, "securityContext": "none", "disruptionBudget": {"enabled": false}, "topologySpread": {"maxSkew": 3}}],
        });
        let parsed: Result<PolicySpec, _> = serde_json::from_value(spec.clone());
        let written = parsed.map(|parsed| serde_json::to_value(parsed).unwrap_or(Value::Null));
        assert_eq!(written.map_err(|e| e.to_string()), Ok(spec));
    }

    #[test]
    fn error_accessors_expose_path_and_message() {
        let Err(err) = parse(json!({"replicas": 0})) else {
            panic!()
        };
        assert_eq!(err.kind(), ConfigErrorKind::Invalid);
        assert_eq!(err.path(), "spec.replicas");
        assert_eq!(err.message(), "must be at least 1, got 0");
        assert_eq!(err.workload(), None);
        let boxed: Box<dyn std::error::Error> = Box::new(err);
        assert!(boxed.to_string().contains("spec.replicas"));
    }
}
