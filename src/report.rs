//! Results as the KRM spec defines them (`message`, `severity`, `resourceRef`, `field`, `file`):
//! every change with its current and proposed value, every risk, every error.

use std::rc::Rc;

use serde_json::{json, Map, Value};

use crate::policies::Severity;
use crate::resource::ResourceId;

#[derive(Debug, Clone, PartialEq)]
pub struct FieldReport {
    pub path: String,
    pub current: Option<Value>,
    pub proposed: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub severity: Severity,
    pub message: String,
    /// Shared by the reports of one resource (a workload gets ten or so).
    pub resource: Option<Rc<ResourceId>>,
    pub field: Option<FieldReport>,
    /// kpt's file path and index of the resource.
    pub file: Option<Rc<(String, Option<String>)>>,
}

impl Report {
    #[must_use]
    pub fn error(message: impl Into<String>) -> Self {
        Report {
            severity: Severity::Error,
            message: message.into(),
            resource: None,
            field: None,
            file: None,
        }
    }

    /// The result object of the KRM functions spec.
    #[must_use]
    pub fn to_json(&self) -> Value {
        self.clone().into_json()
    }

    /// The result object of the KRM functions spec, moving the field values rather than
    /// copying them (the writer's path: results are most of the output).
    #[must_use]
    pub fn into_json(self) -> Value {
        let mut out = Map::new();
        out.insert("message".into(), Value::String(self.message));
        out.insert("severity".into(), json!(self.severity.as_str()));
        if let Some(r) = &self.resource {
            let mut rr = Map::new();
            rr.insert("apiVersion".into(), json!(r.api_version));
            rr.insert("kind".into(), json!(r.kind));
            rr.insert("name".into(), json!(r.name));
            if let Some(ns) = &r.namespace {
                rr.insert("namespace".into(), json!(ns));
            }
            out.insert("resourceRef".into(), Value::Object(rr));
        }
        if let Some(f) = self.field {
            let mut field = Map::new();
            field.insert("path".into(), Value::String(f.path));
            if let Some(c) = f.current {
                field.insert("currentValue".into(), c);
            }
            if let Some(p) = f.proposed {
                field.insert("proposedValue".into(), p);
            }
            out.insert("field".into(), Value::Object(field));
        }
        if let Some(file) = &self.file {
            let (path, index) = &**file;
            let mut file = Map::new();
            file.insert("path".into(), json!(path));
            if let Some(i) = index.as_ref().and_then(|i| i.parse::<u64>().ok()) {
                file.insert("index".into(), json!(i));
            }
            out.insert("file".into(), Value::Object(file));
        }
        Value::Object(out)
    }

    /// One line for people: `[warning] Deployment shop/web spec.replicas: message`.
    #[must_use]
    pub fn line(&self) -> String {
        let mut line = format!("[{}]", self.severity.as_str());
        if let Some(r) = &self.resource {
            line.push_str(&format!(" {r}"));
        }
        if let Some(f) = &self.field {
            line.push_str(&format!(" {}", f.path));
        }
        line.push_str(&format!(": {}", self.message));
        line
    }
}
