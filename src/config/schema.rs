//! The JSON Schema of `EnvironmentPolicy`, generated from the raw spec types so editors and CI
//! can validate configs; the hand-written parts are the value types with their own syntax.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;

use super::{EnvironmentPolicy, IntOrPercent, KubernetesVersion, Quantity, API_VERSION, KIND};

impl JsonSchema for Quantity {
    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Kubernetes quantity: 250m, 1Gi, \"1\", 0.5",
            "anyOf": [
                {"type": "string", "pattern": "^[+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$"},
                {"type": "number", "minimum": 0}
            ]
        })
    }
}

impl JsonSchema for IntOrPercent {
    fn schema_name() -> Cow<'static, str> {
        "IntOrPercent".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A pod count (1) or a percentage of the replicas (\"25%\")",
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^(100|[1-9]?[0-9])%$"}
            ]
        })
    }
}

impl JsonSchema for KubernetesVersion {
    fn schema_name() -> Cow<'static, str> {
        "KubernetesVersion".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "MAJOR.MINOR, quoted (YAML reads 1.30 as the number 1.3)",
            "type": "string",
            "pattern": "^[1-9][0-9]*\\.[0-9]+$"
        })
    }
}

/// The schema `envpolicy schema` prints, with apiVersion and kind pinned.
#[must_use]
pub fn schema() -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(EnvironmentPolicy)).unwrap_or_default();
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert(
            "apiVersion".into(),
            serde_json::json!({"const": API_VERSION}),
        );
        props.insert("kind".into(), serde_json::json!({"const": KIND}));
    }
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("title".into(), Value::String(KIND.into()));
    }
    schema
}
