//! Identity and orchestrator annotations of one item: what every layer needs to name a resource.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use serde::Serialize;

use crate::yaml::{borrowed_from, common, Cow, Node};

/// `envpolicy.dev/skip: "true"` leaves a resource alone.
pub const SKIP_ANNOTATION: &str = "envpolicy.dev/skip";
pub const LOCAL_CONFIG_ANNOTATION: &str = "config.kubernetes.io/local-config";
/// kpt's file annotations: new objects get a path beside their workload so kpt writes them there.
pub const PATH_ANNOTATIONS: [&str; 2] = [
    "internal.config.kubernetes.io/path",
    "config.kubernetes.io/path",
];
pub const INDEX_ANNOTATIONS: [&str; 2] = [
    "internal.config.kubernetes.io/index",
    "config.kubernetes.io/index",
];
pub const PACKAGE_PATH_ANNOTATION: &str = "internal.config.kubernetes.io/package-path";

/// A resource's labels, in key order. A `BTreeMap`'s first node has room for eleven pairs
/// (544 bytes for strings), and the inventory keeps the labels of every workload: most have
/// two to five. Well-known keys (`app.kubernetes.io/name`) are borrowed, not copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels(Box<[(Cow<'static, str>, Box<str>)]>);

impl Labels {
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        let at = self.0.binary_search_by(|(k, _)| (**k).cmp(key)).ok()?;
        self.0.get(at).map(|(_, value)| &**value)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<BTreeMap<String, String>> for Labels {
    fn from(map: BTreeMap<String, String>) -> Self {
        let known_or = |key: String| common(&key).map_or_else(|| Cow::from(key), Cow::borrowed);
        Labels(
            map.into_iter()
                .map(|(key, value)| (known_or(key), value.into_boxed_str()))
                .collect(),
        )
    }
}

/// Written as the JSON object of its pairs, in key order, like the map it was read from.
impl Serialize for Labels {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// A label selector kept like [`Labels`]: k8s-openapi's `LabelSelector` holds `matchLabels` in a
/// `BTreeMap`, whose first node (544 bytes) was a third of each workload's memory in the
/// inventory, which keeps every workload's `spec.selector` through the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Box<[LabelSelectorRequirement]>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<Labels>,
}

impl Selector {
    /// Selects every pod: no labels and no expressions (absent or empty alike).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.match_labels.as_ref().is_none_or(Labels::is_empty)
            && self.match_expressions.as_ref().is_none_or(|e| e.is_empty())
    }

    /// The same selector as the API's type holds it (absent and empty lists stay apart): how a
    /// pod spec's term or constraint is recognised as the one written for this workload.
    #[must_use]
    pub fn is(&self, other: &LabelSelector) -> bool {
        let labels = match (&self.match_labels, &other.match_labels) {
            (Some(mine), Some(theirs)) => {
                mine.0.len() == theirs.len()
                    && mine
                        .iter()
                        .eq(theirs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            }
            (None, None) => true,
            _ => false,
        };
        labels && self.match_expressions.as_deref() == other.match_expressions.as_deref()
    }

    /// The selector as a map key: its JSON, equal exactly when the selectors are (labels are
    /// sorted, expressions keep their order, absent and empty stay apart).
    #[must_use]
    pub fn key(&self) -> Option<String> {
        serde_json::to_string(self).ok()
    }
}

impl From<LabelSelector> for Selector {
    fn from(selector: LabelSelector) -> Self {
        Selector {
            match_expressions: selector.match_expressions.map(Vec::into_boxed_slice),
            match_labels: selector.match_labels.map(Labels::from),
        }
    }
}

/// apiVersion, kind, namespace and name: how results and users refer to a resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ResourceId {
    /// Borrowed for the built-in kinds ([`known_text`]), as nearly every item's are.
    pub api_version: Cow<'static, str>,
    pub kind: Cow<'static, str>,
    pub name: String,
    pub namespace: Option<String>,
}

/// An apiVersion or kind: one of the built-in ones borrowed from this table, else copied. A run
/// keeps tens of thousands of identities (the inventory's, new objects', results').
#[must_use]
pub fn known_text(text: &str) -> Cow<'static, str> {
    const KNOWN: &[&str] = &[
        "v1",
        "apps/v1",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ConfigMap",
        "Service",
        "policy/v1",
        "PodDisruptionBudget",
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        "batch/v1",
        "Job",
        "CronJob",
    ];
    borrowed_from(KNOWN, text)
}

impl ResourceId {
    #[must_use]
    pub fn of(item: &Node<'_>) -> Self {
        let (namespace, kind, name) = namespace_kind_name(item);
        ResourceId {
            api_version: known_text(item.str_at(&["apiVersion"]).unwrap_or_default()),
            kind: known_text(kind),
            name: name.to_owned(),
            namespace: namespace.map(str::to_owned),
        }
    }

    /// The API group: `apps` for `apps/v1`, empty for the core group.
    #[must_use]
    pub fn group(&self) -> &str {
        group_of(&self.api_version)
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// An annotation's value, whatever its YAML type.
#[must_use]
pub fn annotation<'n>(item: &'n Node<'_>, key: &str) -> Option<&'n str> {
    item.get_path(&["metadata", "annotations", key])
        .and_then(Node::as_str)
}

/// Resources the user or kustomize marked as never applied: the function's own config among them.
#[must_use]
pub fn is_local_config(item: &Node<'_>) -> bool {
    annotation(item, LOCAL_CONFIG_ANNOTATION).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

#[must_use]
pub fn is_skipped(item: &Node<'_>) -> bool {
    annotation(item, SKIP_ANNOTATION).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// kpt's file path of an item and its index there.
pub type File = (String, Option<String>);

/// An item's namespace (absent when empty), kind and name, borrowed: what [`ResourceId::of`]
/// copies.
#[must_use]
pub fn namespace_kind_name<'n>(item: &'n Node<'_>) -> (Option<&'n str>, &'n str, &'n str) {
    let text = |path: &[&str]| item.str_at(path).unwrap_or_default();
    let namespace = item
        .str_at(&["metadata", "namespace"])
        .filter(|n| !n.is_empty());
    (namespace, text(&["kind"]), text(&["metadata", "name"]))
}

/// The group part of an `apiVersion`: `apps/v1` → `apps`, `v1` → `""` (core).
#[must_use]
pub fn group_of(api_version: &str) -> &str {
    api_version
        .rsplit_once('/')
        .map_or("", |(group, _version)| group)
}

/// The file an item was read from (kpt's or kustomize's path annotation), borrowed.
#[must_use]
pub fn file_path_of<'n>(item: &'n Node<'_>) -> Option<&'n str> {
    PATH_ANNOTATIONS.iter().find_map(|k| annotation(item, k))
}

/// The file an item came from under kpt, and its position there.
#[must_use]
pub fn file_of(item: &Node<'_>) -> Option<File> {
    let path = file_path_of(item)?;
    let index = INDEX_ANNOTATIONS
        .iter()
        .find_map(|k| annotation(item, k))
        .map(str::to_owned);
    Some((path.to_owned(), index))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Labels are looked up by key whatever their number, and listed in key order.
    #[test]
    fn labels_look_up_every_key() {
        let pairs: BTreeMap<String, String> = (0..13)
            .map(|i| (format!("k{i:02}"), format!("v{i}")))
            .chain([("app.kubernetes.io/name".into(), "web".into())])
            .collect();
        let labels = Labels::from(pairs.clone());
        for (key, value) in &pairs {
            assert_eq!(labels.get(key), Some(value.as_str()), "{key}");
        }
        assert_eq!(labels.get("k13"), None);
        assert_eq!(labels.get(""), None);
        let listed: Vec<(&str, &str)> = labels.iter().collect();
        let expected: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(listed, expected);
        assert!(Labels::default().is_empty() && Labels::default().get("k00").is_none());
    }
}
