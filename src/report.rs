//! Results as the KRM spec defines them (`message`, `severity`, `resourceRef`, `field`, `file`):
//! every change with its current and proposed value, every risk, every error.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::policies::Severity;
use crate::resource::{File, ResourceId};
use crate::yaml::{
    emit_fields_continued, emit_fields_seq_item, json_value_text, read_own, string_text,
    with_scratch, write_each_with, Field, Node, Scalar,
};

/// A changed field and its values, as results write them (see [`ValueText`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldReport {
    /// Shared with equal paths (see [`shared`]).
    pub path: Arc<str>,
    pub current: Option<ValueText>,
    pub proposed: Option<ValueText>,
}

/// A field's value in a result, kept as the text the result writes after `currentValue:` or
/// `proposedValue:`. Written when the change is made, while the value is in cache: as nodes, the
/// values (a copy of every anti-affinity term and spread constraint added) were two fifths of
/// the results' memory.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueText(Box<str>);

impl ValueText {
    /// Written into a scratch buffer first, so that each value costs one allocation of its size.
    #[must_use]
    pub fn of(node: &Node<'_>) -> Self {
        with_scratch(|scratch| {
            json_value_text(scratch, node);
            ValueText(Box::from(scratch.as_str()))
        })
    }

    /// The text written after the key.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.0
    }

    /// The value read back from its text, for tables and tests. The text is this program's own
    /// YAML, so it always reads; were it not to, the text itself is the value.
    #[must_use]
    pub fn to_node(&self) -> Node<'static> {
        read_own(&format!("value:{}", self.0))
            .and_then(|mut doc| doc.as_map_mut()?.remove("value"))
            .unwrap_or_else(|| Node::Scalar(Scalar::string(self.0.to_string())))
    }

    #[must_use]
    pub fn to_json(&self) -> Value {
        self.to_node().to_json()
    }
}

/// A result's message: text shared with equal messages (see [`shared`]), or, for a new object,
/// text about the workload it was made for, written out when the result is written. As text,
/// each creation result held its own copy, since it names the workload: 2.8 MB of the results
/// at 10,000 workloads (bench/README.md). Two words either way.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Text(Arc<str>),
    About(Arc<About>),
}

/// Text with a workload's identity written at `at` (see [`Message::about`]).
#[derive(Debug, PartialEq)]
pub struct About {
    text: Arc<str>,
    at: usize,
    workload: Arc<ResourceId>,
}

impl Message {
    /// `before`, the workload's identity as results name it (`Deployment shop/web`), `after`.
    #[must_use]
    pub fn about(before: &str, workload: &Arc<ResourceId>, after: &str) -> Self {
        Message::About(Arc::new(About {
            text: shared_with(|text| {
                text.push_str(before);
                text.push_str(after);
            }),
            at: before.len(),
            workload: Arc::clone(workload),
        }))
    }

    /// The message as written.
    #[must_use]
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Message::Text(text) => std::borrow::Cow::Borrowed(text),
            Message::About(about) => {
                let (before, after) = about.text.split_at_checked(about.at).unwrap_or_default();
                std::borrow::Cow::Owned(format!("{before}{}{after}", about.workload))
            }
        }
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::Text(text.into())
    }
}

impl From<Arc<str>> for Message {
    fn from(text: Arc<str>) -> Self {
        Message::Text(text)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub severity: Severity,
    pub message: Message,
    /// Shared by the reports of one resource (a workload gets ten or so).
    pub resource: Option<Arc<ResourceId>>,
    /// Boxed: most reports carry one, but a report without it stays small.
    pub field: Option<Box<FieldReport>>,
    /// kpt's file path and index of the resource.
    pub file: Option<Arc<File>>,
}

impl Report {
    #[must_use]
    pub fn error(message: impl Into<String>) -> Self {
        Report {
            severity: Severity::Error,
            message: Message::Text(message.into().into()),
            resource: None,
            field: None,
            file: None,
        }
    }

    /// The result object of the KRM functions spec.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("message".into(), json!(&*self.message.text()));
        out.insert("severity".into(), json!(self.severity.as_str()));
        if let Some(r) = &self.resource {
            let mut rr = Map::new();
            rr.insert("apiVersion".into(), json!(&*r.api_version));
            rr.insert("kind".into(), json!(&*r.kind));
            rr.insert("name".into(), json!(r.name));
            if let Some(ns) = &r.namespace {
                rr.insert("namespace".into(), json!(ns));
            }
            out.insert("resourceRef".into(), Value::Object(rr));
        }
        if let Some(f) = &self.field {
            let mut field = Map::new();
            field.insert("path".into(), json!(&*f.path));
            if let Some(c) = &f.current {
                field.insert("currentValue".into(), c.to_json());
            }
            if let Some(p) = &f.proposed {
                field.insert("proposedValue".into(), p.to_json());
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

    /// Appends the result as an item of the `results` list: the same text as writing
    /// [`Report::to_json`], without building it.
    pub fn write_seq_item(&self, out: &mut String) {
        self.write_seq_item_with(out, &mut RefTexts::default());
    }

    /// [`Report::write_seq_item`], taking the `resourceRef` and `file` text from `memo` when the
    /// previous result was about the same resource: a workload's ten or so results are written
    /// one after the other, and writing its reference again was a third of writing a result.
    pub fn write_seq_item_with(&self, out: &mut String, memo: &mut RefTexts) {
        let about;
        let message = match &self.message {
            Message::Text(text) => Field::Written(memo.strings.text(text)),
            Message::About(_) => {
                about = self.message.text();
                Field::Str(&about)
            }
        };
        // Severities are plain words.
        let head = [
            ("message", message),
            ("severity", Field::Written(self.severity.as_str())),
        ];
        emit_fields_seq_item(out, &head);
        if let Some(r) = &self.resource {
            out.push_str(memo.resource.text(r, |r, text| {
                let mut resource = [("", Field::Uint(0)); 4];
                resource[0] = ("apiVersion", Field::Str(&r.api_version));
                resource[1] = ("kind", Field::Str(&r.kind));
                resource[2] = ("name", Field::Str(&r.name));
                let mut len = 3;
                if let Some(ns) = &r.namespace {
                    resource[3] = ("namespace", Field::Str(ns));
                    len = 4;
                }
                let inner = resource.get(..len).unwrap_or_default();
                emit_fields_continued(text, &[("resourceRef", Field::Map(inner))], 0);
            }));
        }
        if let Some(f) = &self.field {
            // Fixed arrays, filled from the front: four small vectors per result were a tenth
            // of writing them.
            let mut field = [("", Field::Uint(0)); 3];
            field[0] = ("path", Field::Written(memo.strings.text(&f.path)));
            let mut len = 1;
            for (name, value) in [("currentValue", &f.current), ("proposedValue", &f.proposed)] {
                if let (Some(value), Some(slot)) = (value, field.get_mut(len)) {
                    *slot = (name, Field::ValueText(value.text()));
                    len += 1;
                }
            }
            let inner = field.get(..len).unwrap_or_default();
            emit_fields_continued(out, &[("field", Field::Map(inner))], 0);
        }
        if let Some(f) = &self.file {
            out.push_str(memo.file.text(f, |f, text| {
                let (path, index) = f;
                let mut file = [("path", Field::Str(path)), ("", Field::Uint(0))];
                let mut len = 1;
                if let Some(i) = index.as_ref().and_then(|i| i.parse::<u64>().ok()) {
                    file[1] = ("index", Field::Uint(i));
                    len = 2;
                }
                let inner = file.get(..len).unwrap_or_default();
                emit_fields_continued(text, &[("file", Field::Map(inner))], 0);
            }));
        }
    }

    /// Writes reports as items of the `results` list.
    pub fn write_all(sink: &mut dyn std::io::Write, reports: &[Report]) -> std::io::Result<()> {
        write_each_with(sink, reports, |out, memo, report: &Report| {
            report.write_seq_item_with(out, memo);
        })
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

/// Results repeat their texts: a dozen messages and field paths, the same for every workload
/// (at 10,000 workloads, 100,000 results held 13 MB of copies of a few hundred texts, cold in
/// cache by the time they were written). So each thread keeps one shared copy of each text it
/// has seen, up to a bound: texts unique to one workload only fill it once.
#[must_use]
pub fn shared(text: &str) -> Arc<str> {
    shared_with(|out| out.push_str(text))
}

/// [`shared`] for a text written by `write` into a scratch buffer: a repeated text costs no
/// allocation at all.
pub fn shared_with(write: impl FnOnce(&mut String)) -> Arc<str> {
    /// Enough for every message and path of a large run; a run with more distinct texts copies
    /// the rest.
    const MOST_TEXTS: usize = 4096;
    thread_local! {
        static SEEN: std::cell::RefCell<hashbrown::HashSet<Arc<str>>> =
            std::cell::RefCell::default();
    }
    with_scratch(|scratch| {
        write(scratch);
        SEEN.with_borrow_mut(|seen| {
            if let Some(found) = seen.get(scratch.as_str()) {
                return Arc::clone(found);
            }
            let text: Arc<str> = Arc::from(scratch.as_str());
            if seen.len() < MOST_TEXTS {
                seen.insert(Arc::clone(&text));
            }
            text
        })
    })
}

/// The text of the last `resourceRef` and `file` written, by the `Arc` they were written from,
/// and of the shared strings written so far.
#[derive(Default)]
pub struct RefTexts {
    resource: LastText<ResourceId>,
    file: LastText<File>,
    strings: WrittenStrings,
}

/// The written text of each shared string (message, path) by the address of its `Arc`: a part of
/// the results repeats a few dozen (see [`shared`]), and choosing their quoting for each result
/// was a third of writing them. Each entry holds its `Arc`, so no address is reused while kept.
#[derive(Default)]
struct WrittenStrings(hashbrown::HashMap<usize, (Arc<str>, Box<str>)>);

impl WrittenStrings {
    fn text(&mut self, string: &Arc<str>) -> &str {
        let address = Arc::as_ptr(string).cast::<u8>().addr();
        let (_, text) = self.0.entry(address).or_insert_with(|| {
            let mut text = String::new();
            string_text(&mut text, string);
            (Arc::clone(string), text.into_boxed_str())
        });
        text
    }
}

/// One shared value and its text.
struct LastText<T> {
    of: Option<Arc<T>>,
    text: String,
}

impl<T> Default for LastText<T> {
    fn default() -> Self {
        LastText {
            of: None,
            text: String::new(),
        }
    }
}

impl<T> LastText<T> {
    /// The text of `value`, written by `write` unless it is the same `Arc` as last time.
    fn text(&mut self, value: &Arc<T>, write: impl FnOnce(&T, &mut String)) -> &str {
        if !self
            .of
            .as_ref()
            .is_some_and(|last| Arc::ptr_eq(last, value))
        {
            self.text.clear();
            write(value, &mut self.text);
            self.of = Some(Arc::clone(value));
        }
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::yaml::Form;
    use crate::yaml::{emit_json_seq_item, parse_stream, Seq};

    fn value(json: serde_json::Value) -> ValueText {
        ValueText::of(&json.into())
    }

    /// A value's text reads back as the value: tables and tests see what results wrote.
    #[test]
    fn value_texts_read_back_as_their_values() {
        let values = [
            json!(1),
            json!("1e3"),
            json!("yes"),
            json!("line one\nline two"),
            json!(""),
            json!(null),
            json!({}),
            json!([]),
            json!({"a": [1, {"b": null}], "c": {"d": ["x", "- y", "z: w"]}, "e": "#f"}),
            json!([[1, 2], {"k": "v"}, [], "s"]),
        ];
        for v in values {
            assert_eq!(value(v.clone()).to_json(), v, "{v}");
        }
        let read = parse_stream("a: '1'\nb: !!str 2\nc: |\n  text\nd: 0644\n").expect("reads");
        let node = read.into_iter().next().expect("one document");
        assert_eq!(ValueText::of(&node).to_json(), node.to_json());
    }

    fn id(namespace: Option<&str>) -> Arc<ResourceId> {
        Arc::new(ResourceId {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: "yes".into(),
            namespace: namespace.map(str::to_owned),
        })
    }

    #[test]
    fn written_directly_as_written_from_json() {
        let reports = [
            Report::error("bad: input # here"),
            Report {
                severity: Severity::Info,
                message: "on".into(),
                resource: Some(id(Some("0x1F"))),
                field: Some(Box::new(FieldReport {
                    path: "spec.template.spec.containers[name=web].env[name=LOG_LEVEL].value"
                        .into(),
                    current: Some(value(json!("debug"))),
                    proposed: Some(value(
                        json!({"a": [1, {"b": null}], "c": {}, "d": [], "e": "1e3"}),
                    )),
                })),
                file: Some(Arc::new(("dir/a b.yaml".into(), Some("3".into())))),
            },
            Report {
                severity: Severity::Warning,
                message: "line one\nline two".into(),
                resource: Some(id(None)),
                field: Some(Box::new(FieldReport {
                    path: "spec.replicas".into(),
                    current: Some(value(json!(2))),
                    proposed: None,
                })),
                file: Some(Arc::new(("x.yaml".into(), None))),
            },
            // Values as read keep their styles and tags in the tree, but results show the data.
            Report {
                severity: Severity::Info,
                message: "replaced".into(),
                resource: None,
                field: Some(Box::new(FieldReport {
                    path: "data".into(),
                    current: parse_stream(
                        "a: '1'\nb: 1\nc: !!str 2\nd: [x, {y: 'no'}, []]\ne: |\n  text\nf: .inf\ng: ~\n",
                    )
                    .ok()
                    .and_then(|docs| docs.into_iter().next())
                    .map(|node| ValueText::of(&node)),
                    proposed: Some(ValueText::of(&Node::seq([Node::Seq(Seq {
                        items: Box::default(),
                        form: Form::flow(),
                    })]))),
                })),
                file: None,
            },
        ];
        assert!(reports
            .iter()
            .all(|r| r.field.as_ref().is_none_or(|f| f.current.is_some())));
        for report in &reports {
            let (mut direct, mut via_json) = (String::new(), String::new());
            report.write_seq_item(&mut direct);
            emit_json_seq_item(&mut via_json, &report.to_json());
            assert_eq!(direct, via_json);
        }
    }

    /// Equal texts share one copy, on the same thread; past the bound texts are still right,
    /// only no longer shared.
    #[test]
    fn equal_texts_are_shared() {
        let a = shared("rolling update maxSurge 1");
        let b = shared_with(|out| out.push_str("rolling update maxSurge 1"));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*shared("other"), "other");
        let many: Vec<Arc<str>> = (0..5000).map(|i| shared(&format!("text {i}"))).collect();
        assert!(many
            .iter()
            .enumerate()
            .all(|(i, t)| **t == format!("text {i}")));
        let again = shared("text 4999");
        assert_eq!(&*again, "text 4999");
        assert!(!Arc::ptr_eq(&again, many.last().expect("5000 texts")));
    }

    /// The memo of the last reference written must never leak one resource's reference into
    /// another's result: shared, alternating, equal-but-distinct and missing references.
    #[test]
    fn written_together_as_each_alone() {
        let (a, b) = (id(Some("shop")), id(None));
        let a_again = id(Some("shop"));
        let (file_a, file_b): (Arc<File>, Arc<File>) = (
            Arc::new(("a.yaml".into(), Some("0".into()))),
            Arc::new(("b.yaml".into(), None)),
        );
        let report =
            |message: &str, resource: Option<&Arc<ResourceId>>, file: Option<&Arc<File>>| Report {
                severity: Severity::Info,
                message: message.into(),
                resource: resource.cloned(),
                field: Some(Box::new(FieldReport {
                    path: "spec.replicas".into(),
                    current: Some(value(json!(1))),
                    proposed: Some(value(json!(3))),
                })),
                file: file.cloned(),
            };
        let mut reports = vec![
            report("1", Some(&a), Some(&file_a)),
            report("2", Some(&a), Some(&file_a)),
            report("3", Some(&b), Some(&file_b)),
            report("4", Some(&a), Some(&file_b)),
            report("5", None, None),
            report("6", Some(&a), Some(&file_a)),
            report("7", Some(&a_again), None),
            report("8", Some(&b), Some(&file_a)),
        ];
        // Shared messages and paths, one needing quotes, alternating with equal texts in other
        // `Arc`s and with texts of their own, are written as each alone.
        let (quoted, plain): (Arc<str>, Arc<str>) = (Arc::from("on: off"), Arc::from("on"));
        let (path, other_path): (Arc<str>, Arc<str>) = (Arc::from("a.b"), Arc::from("a[x=1]"));
        for i in 0..6 {
            let mut r = report("", Some(&b), None);
            r.message = Message::Text(match i % 3 {
                0 => Arc::clone(&quoted),
                1 => Arc::clone(&plain),
                _ => Arc::from(format!("text {i}: own")),
            });
            if let Some(field) = &mut r.field {
                field.path = Arc::clone(if i % 2 == 0 { &path } else { &other_path });
            }
            reports.push(r);
        }
        reports.push(report("on: off", None, None));
        let mut expected = String::new();
        for r in &reports {
            emit_json_seq_item(&mut expected, &r.to_json());
        }
        let mut written = Vec::new();
        Report::write_all(&mut written, &reports).expect("written to memory");
        assert_eq!(String::from_utf8(written).expect("UTF-8"), expected);
        assert!(expected.contains("namespace: shop") && expected.contains("path: b.yaml"));
        assert!(expected.contains("message: \"on: off\"") && expected.contains("message: \"on\""));
    }

    /// A string's text is found by the address of its `Arc`, so the memo must keep each `Arc`
    /// it saw: a string freed and another allocated in its place must not get its text.
    #[test]
    fn written_strings_are_never_taken_for_others() {
        let mut memo = WrittenStrings::default();
        for i in 0..200 {
            let string: Arc<str> = Arc::from(if i % 2 == 0 {
                format!("{i}")
            } else {
                format!("t{i}")
            });
            let mut expected = String::new();
            string_text(&mut expected, &string);
            assert_eq!(memo.text(&string), expected);
            assert_eq!(memo.text(&string), expected, "asked again");
        }
    }
}
