//! A YAML document tree that remembers how each node was written.
//!
//! kpt writes every file back from what a function prints, restoring comments and key order but
//! not quoting. So the tree keeps each scalar's style and source text, and each collection's
//! flow/block form: untouched nodes are written back exactly as they were read (zero churn).
//! Scalars borrow from the input buffer, which keeps the tree small.

mod de;
mod doc;
mod emit;
mod parse;
mod scalar;

/// A scalar's text: borrowed from the input, or owned when escaped or new. beef's lean Cow is
/// two words (std's is four): scalars and keys are most of the tree, and the tree most of the
/// memory a run needs.
pub use beef::lean::Cow;

pub use de::{from_node, from_node_strict, DeError};
pub use doc::{Deferred, Doc, Passed};
#[cfg(test)]
pub use emit::emit_json_seq_item;
pub use emit::{
    emit_document, emit_document_into, emit_entry, emit_fields_continued, emit_fields_seq_item,
    emit_seq_item, emit_stream, json_value_text, string_text, with_scratch, write_each,
    write_each_with, write_seq_items, write_stream, Field, VALUE_TEXT_DEPTH,
};
pub use parse::{parse_stream, parse_stream_with, ListItem, ParseError, MAX_INPUT_BYTES};
pub use scalar::{resolve_plain, Resolved};

/// The first document of YAML this program wrote, detached from the text: what was kept as text
/// (input items no policy reads, the values in results) read back for tables and tests.
#[must_use]
pub fn read_own(text: &str) -> Option<Node<'static>> {
    parse_stream(text)
        .ok()?
        .into_iter()
        .next()
        .map(Node::into_owned)
}

/// How a scalar is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
    /// A new string: plain when every YAML reader reads it back as the same string, else quoted.
    Auto,
}

/// A tag as written (`!!binary`, `!Ref`). Boxed twice so that an absent tag costs one pointer
/// in every node: tags are rare, and the tree is most of the memory a run needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag(Box<Box<str>>);

impl Tag {
    #[must_use]
    pub fn new(text: impl Into<Box<str>>) -> Self {
        Tag(Box::new(text.into()))
    }
}

impl std::ops::Deref for Tag {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// A scalar: its value after escape processing, and how it was written. Equality is structural
/// (text, style, tag and source); [`Node::same_value`] compares data only.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar<'a> {
    pub value: Cow<'a, str>,
    pub style: Style,
    /// Tag and source text, apart: most scalars have neither, so they cost one pointer.
    extra: Option<Box<ScalarExtra<'a>>>,
}

#[derive(Debug, Clone, PartialEq)]
struct ScalarExtra<'a> {
    /// The tag as written, kept so the node is written back with it.
    tag: Option<Tag>,
    /// The exact source text of the scalar (quotes, escapes, block header and lines), when read.
    source: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Seq<'a> {
    /// Exactly as many slots as items, with no header in the allocation: a length and capacity
    /// in front of the items (a thin vector) cost 16 bytes and rounded most collections up to the
    /// next size class of the allocator, 21 MB of a 10,000-workload tree (bench/README.md).
    pub items: Box<[Node<'a>]>,
    pub form: Form,
}

/// A mapping in source order. Keys are scalars ([`Key`]): Kubernetes objects have no other keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Map<'a> {
    /// Exactly sized, like [`Seq::items`].
    pub entries: Box<[(Key<'a>, Node<'a>)]>,
    pub form: Form,
}

/// A mapping key: plain text borrowed from the input or the program (nearly every key), else a
/// scalar of its own. Two words against a scalar's four, so a mapping entry is six words, not
/// eight: 20 MB of a 10,000-workload tree (bench/README.md).
#[derive(Debug, Clone)]
pub enum Key<'a> {
    Plain(&'a str),
    Scalar(Box<Scalar<'a>>),
}

impl<'a> Key<'a> {
    /// A key the program writes (a field name, an annotation): only its text when it is borrowed
    /// and may be written plain, else a boxed new string the writer quotes as needed.
    #[must_use]
    pub fn new(text: Cow<'a, str>) -> Self {
        if text.is_borrowed() && scalar::plain_is_safe(&text, false) {
            Key::Plain(text.unwrap_borrowed())
        } else {
            Key::Scalar(Box::new(Scalar::string(text)))
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Key::Plain(text) => text,
            Key::Scalar(s) => &s.value,
        }
    }

    /// The key as a scalar, for the writer.
    pub fn with_scalar<R>(&self, f: impl FnOnce(&Scalar<'a>) -> R) -> R {
        match self {
            Key::Plain(text) => f(&Scalar::plain(*text)),
            Key::Scalar(s) => f(s),
        }
    }

    #[must_use]
    pub fn into_owned(self) -> Key<'static> {
        let scalar = match self {
            Key::Plain(text) => Scalar::plain(text.to_owned()),
            Key::Scalar(s) => *s,
        };
        Key::Scalar(Box::new(scalar.into_owned()))
    }
}

/// A scalar read as a key: plain and borrowed ones (nearly all) keep only their text.
impl<'a> From<Scalar<'a>> for Key<'a> {
    fn from(s: Scalar<'a>) -> Self {
        if s.style == Style::Plain && s.extra.is_none() && s.value.is_borrowed() {
            Key::Plain(s.value.unwrap_borrowed())
        } else {
            Key::Scalar(Box::new(s))
        }
    }
}

/// Equal when written alike: a key read back from the program's own text is owned.
impl PartialEq for Key<'_> {
    fn eq(&self, other: &Key<'_>) -> bool {
        self.with_scalar(|a| other.with_scalar(|b| a == b))
    }
}

/// A collection's flow or block form and its tag, in one pointer that an untagged block
/// collection (nearly every one) leaves empty: with its boxed slice, a collection stays three
/// words, so a node stays four.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Form(Option<Box<FormExtra>>);

#[derive(Debug, Clone, PartialEq)]
struct FormExtra {
    flow: bool,
    tag: Option<Tag>,
}

impl Form {
    /// Block or flow (`[a, b]`, `{a: b}`), with the tag as written.
    #[must_use]
    pub fn new(flow: bool, tag: Option<Tag>) -> Self {
        if flow || tag.is_some() {
            Form(Some(Box::new(FormExtra { flow, tag })))
        } else {
            Form(None)
        }
    }

    /// A flow collection without a tag.
    #[must_use]
    pub fn flow() -> Self {
        Form::new(true, None)
    }

    #[must_use]
    pub fn is_flow(&self) -> bool {
        self.0.as_ref().is_some_and(|e| e.flow)
    }

    #[must_use]
    pub fn tag(&self) -> Option<&Tag> {
        self.0.as_ref().and_then(|e| e.tag.as_ref())
    }

    /// The same tag, written as a block.
    pub fn set_block(&mut self) {
        let tag = self.0.take().and_then(|e| e.tag);
        *self = Form::new(false, tag);
    }
}

/// Appends to an exactly sized collection: it grows by one slot. Collections are built whole
/// (parsed, or collected from their fields); only edits append, a few times per item.
pub fn push_exact<T>(slots: &mut Box<[T]>, value: T) {
    let mut grown = std::mem::take(slots).into_vec();
    grown.reserve_exact(1);
    grown.push(value);
    *slots = grown.into_boxed_slice();
}

/// Removes the slot at `index` from an exactly sized collection, which shrinks by one.
pub fn remove_exact<T>(slots: &mut Box<[T]>, index: usize) -> Option<T> {
    if index >= slots.len() {
        return None;
    }
    let mut shrunk = std::mem::take(slots).into_vec();
    let removed = shrunk.remove(index);
    *slots = shrunk.into_boxed_slice();
    Some(removed)
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    Scalar(Scalar<'a>),
    Seq(Seq<'a>),
    Map(Map<'a>),
}

impl<'a> Scalar<'a> {
    /// The value as borrowed from the input, when it is (no escapes, no folding).
    #[must_use]
    pub fn borrowed(&self) -> Option<&'a str> {
        self.value
            .is_borrowed()
            .then(|| self.value.clone().unwrap_borrowed())
    }

    /// A new string scalar, quoted on output only if a reader would take it for another type.
    #[must_use]
    pub fn string(value: impl Into<Cow<'a, str>>) -> Self {
        Scalar {
            value: value.into(),
            style: Style::Auto,
            extra: None,
        }
    }

    /// A scalar as read: its value, style, tag and exact source text.
    #[must_use]
    pub fn read(
        value: Cow<'a, str>,
        style: Style,
        tag: Option<Tag>,
        source: Option<&'a str>,
    ) -> Self {
        let extra =
            (tag.is_some() || source.is_some()).then(|| Box::new(ScalarExtra { tag, source }));
        Scalar {
            value,
            style,
            extra,
        }
    }

    /// The tag as written.
    #[must_use]
    pub fn tag(&self) -> Option<&str> {
        self.extra.as_ref().and_then(|e| e.tag.as_deref())
    }

    /// The exact source text, when the scalar was read quoted or folded.
    #[must_use]
    pub fn source(&self) -> Option<&'a str> {
        self.extra.as_ref().and_then(|e| e.source)
    }

    /// A new scalar written as is (numbers, booleans, null).
    #[must_use]
    pub fn plain(value: impl Into<Cow<'a, str>>) -> Self {
        Scalar {
            value: value.into(),
            style: Style::Plain,
            extra: None,
        }
    }

    /// True when the value is a string to every reader: quoted, block, or a plain word.
    #[must_use]
    pub fn is_string(&self) -> bool {
        match self.style {
            Style::Plain => self.tag().is_none() && resolve_plain(&self.value) == Resolved::Str,
            _ => true,
        }
    }

    /// True for `~`, `null`, an empty plain scalar: what readers take as no value.
    #[must_use]
    pub fn is_null(&self) -> bool {
        self.style == Style::Plain
            && self.tag().is_none()
            && resolve_plain(&self.value) == Resolved::Null
    }

    /// Detaches the scalar from the input buffer.
    #[must_use]
    pub fn into_owned(self) -> Scalar<'static> {
        let tag = self.extra.and_then(|e| e.tag);
        Scalar::read(Cow::owned(self.value.into_owned()), self.style, tag, None)
    }
}

impl<'a> Map<'a> {
    #[must_use]
    pub fn new() -> Self {
        Map {
            entries: Box::default(),
            form: Form::default(),
        }
    }

    /// A block mapping of these entries.
    #[must_use]
    pub fn block(entries: impl IntoIterator<Item = (Key<'a>, Node<'a>)>) -> Self {
        Map {
            entries: entries.into_iter().collect(),
            form: Form::default(),
        }
    }

    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node<'a>> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }

    /// Sets `key` to `value`: in place when the key exists (keeping its position), else appended.
    pub fn insert(&mut self, key: &str, value: Node<'a>) {
        self.set(Cow::owned(key.to_owned()), value);
    }

    /// [`Map::insert`] of a key that may be borrowed: a field name the code wrote costs no copy
    /// and no boxed key (edits add tens of thousands of parents such as `affinity`).
    pub fn set(&mut self, key: Cow<'a, str>, value: Node<'a>) {
        match self.get_mut(&key) {
            Some(slot) => *slot = value,
            None => push_exact(&mut self.entries, (Key::new(key), value)),
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Node<'a>> {
        let at = self.entries.iter().position(|(k, _)| k.as_str() == key)?;
        remove_exact(&mut self.entries, at).map(|(_, value)| value)
    }

    /// The string value under `key`, if it is a scalar.
    #[must_use]
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::as_str)
    }
}

/// A new block mapping built field by field, some of them optional: collected first, so the
/// mapping is allocated once, at its size.
pub struct Fields<'a>(Vec<(Key<'a>, Node<'a>)>);

impl<'a> Fields<'a> {
    #[must_use]
    pub fn with_capacity(fields: usize) -> Self {
        Fields(Vec::with_capacity(fields))
    }

    /// Appends a field without looking for one of the same name.
    pub fn push(&mut self, key: &'static str, value: Node<'a>) {
        self.0.push((field_name(key), value));
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[must_use]
    pub fn into_node(self) -> Node<'a> {
        Node::Map(Map::block(self.0))
    }
}

impl Default for Map<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// A field name written in the code (`apiVersion`, `minReplicas`): plain, as every such name is
/// safe to write plain, so the writer need not check it each time.
fn field_name<'a>(key: &'static str) -> Key<'a> {
    debug_assert!(scalar::plain_is_safe(key, false), "{key}");
    Key::Plain(key)
}

/// Keys and common values of the JSON that still becomes nodes (edit values: anti-affinity
/// terms, spread constraints, HPA metrics, strategies; new PDBs' selectors), and the label keys
/// of selectors copied into new nodes, borrowed instead of copied: a run converts tens of
/// thousands. New objects and results are built without JSON.
pub(crate) fn interned(text: &str) -> Cow<'static, str> {
    borrowed_from(COMMON, text)
}

/// The text of [`interned`]'s table equal to `text`, if there is one: for a caller that owns
/// `text` already (a label key read from the input) and keeps it when it is not there.
pub(crate) fn common(text: &str) -> Option<&'static str> {
    found_in(COMMON, text)
}

/// See [`interned`].
const COMMON: &[&str] = &[
    "name",
    // Label keys copied from selectors into anti-affinity terms and spread constraints.
    "app",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "labelSelector",
    "matchLabels",
    "matchExpressions",
    "topologyKey",
    "weight",
    "podAffinityTerm",
    "maxSkew",
    "whenUnsatisfiable",
    "matchLabelKeys",
    "pod-template-hash",
    "DoNotSchedule",
    "ScheduleAnyway",
    "kubernetes.io/hostname",
    "topology.kubernetes.io/zone",
    "type",
    "resource",
    "target",
    "averageUtilization",
    "Resource",
    "Utilization",
    "cpu",
    "memory",
    "RollingUpdate",
];

/// `text` borrowed from `table` when it is there, else copied: how the tables of common keys and
/// kinds save a copy per use.
pub(crate) fn borrowed_from(table: &'static [&'static str], text: &str) -> Cow<'static, str> {
    found_in(table, text).map_or_else(|| Cow::owned(text.to_owned()), Cow::borrowed)
}

fn found_in(table: &'static [&'static str], text: &str) -> Option<&'static str> {
    table.iter().find(|known| **known == text).copied()
}

/// Small JSON values (`json!(3)`, `json!("info")`) become nodes where an edit wants one.
impl From<serde_json::Value> for Node<'static> {
    fn from(value: serde_json::Value) -> Self {
        Node::from_json(&value)
    }
}

/// A node serialized as [`Node::to_json`] converts it.
struct AsJson<'n, 'a>(&'n Node<'a>);

impl serde::Serialize for AsJson<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Node::Scalar(s) => match scalar::non_string_json(s) {
                Some(value) => value.serialize(out),
                None => out.serialize_str(&s.value),
            },
            Node::Seq(seq) => out.collect_seq(seq.items.iter().map(AsJson)),
            Node::Map(map) => {
                out.collect_map(map.entries.iter().map(|(k, v)| (k.as_str(), AsJson(v))))
            }
        }
    }
}

impl<'a> Node<'a> {
    /// A new block mapping of these fields, in this order. Policies build new objects (HPAs,
    /// PDBs) this way: through JSON each cost a hash map per mapping and a second copy, 13% of
    /// the policies' time at 1,000 workloads (bench/README.md).
    #[must_use]
    pub fn map(fields: impl IntoIterator<Item = (&'static str, Node<'a>)>) -> Self {
        Node::Map(Map::block(
            fields
                .into_iter()
                .map(|(key, value)| (field_name(key), value)),
        ))
    }

    /// A new block sequence of these items.
    #[must_use]
    pub fn seq(items: impl IntoIterator<Item = Node<'a>>) -> Self {
        Node::Seq(Seq {
            items: items.into_iter().collect(),
            form: Form::default(),
        })
    }

    /// A new integer, written plain.
    #[must_use]
    pub fn int(n: impl Into<i64>) -> Self {
        Node::Scalar(Scalar::plain(n.into().to_string()))
    }

    #[must_use]
    pub fn string(value: impl Into<Cow<'a, str>>) -> Self {
        Node::Scalar(Scalar::string(value))
    }

    #[must_use]
    pub fn as_map(&self) -> Option<&Map<'a>> {
        match self {
            Node::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Map<'a>> {
        match self {
            Node::Map(m) => Some(m),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_seq(&self) -> Option<&Seq<'a>> {
        match self {
            Node::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_seq_mut(&mut self) -> Option<&mut Seq<'a>> {
        match self {
            Node::Seq(s) => Some(s),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_scalar(&self) -> Option<&Scalar<'a>> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar's text, whatever its type.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        self.as_scalar().map(|s| s.value.as_ref())
    }

    /// The value under `key` when this node is a mapping.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// The value at a path of mapping keys.
    #[must_use]
    pub fn get_path(&self, path: &[&str]) -> Option<&Node<'a>> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    /// The string at a path of mapping keys.
    #[must_use]
    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        self.get_path(path).and_then(Node::as_str)
    }

    /// Builds a node from JSON: how policies describe new values without knowing YAML.
    #[must_use]
    pub fn from_json(value: &serde_json::Value) -> Node<'static> {
        use serde_json::Value;
        match value {
            Value::Null => Node::Scalar(Scalar::plain("null")),
            Value::Bool(b) => Node::Scalar(Scalar::plain(if *b { "true" } else { "false" })),
            Value::Number(n) => Node::Scalar(Scalar::plain(n.to_string())),
            Value::String(s) => Node::Scalar(Scalar::string(interned(s))),
            Value::Array(items) => Node::seq(items.iter().map(Node::from_json)),
            Value::Object(fields) => Node::Map(Map::block(
                fields
                    .iter()
                    .map(|(k, v)| (Key::new(interned(k)), Node::from_json(v))),
            )),
        }
    }

    /// Converts to JSON with YAML 1.1 types resolved the way kubectl reads them.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Scalar(s) => scalar::to_json(s),
            Node::Seq(seq) => Value::Array(seq.items.iter().map(Node::to_json).collect()),
            Node::Map(map) => Value::Object(
                map.entries
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// The node's JSON text, as `to_json().to_string()` writes it, without building the JSON
    /// value first (config hashes fingerprint every ConfigMap a changed workload reads).
    #[must_use]
    pub fn json_text(&self) -> String {
        serde_json::to_string(&AsJson(self)).unwrap_or_else(|_| self.to_json().to_string())
    }

    /// Detaches the node from the input buffer (used for nodes copied into new objects).
    #[must_use]
    pub fn into_owned(self) -> Node<'static> {
        match self {
            Node::Scalar(s) => Node::Scalar(s.into_owned()),
            Node::Seq(s) => Node::Seq(Seq {
                items: s
                    .items
                    .into_vec()
                    .into_iter()
                    .map(Node::into_owned)
                    .collect(),
                form: s.form,
            }),
            Node::Map(m) => Node::Map(Map {
                entries: m
                    .entries
                    .into_vec()
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
                form: m.form,
            }),
        }
    }

    /// Same data, whatever the presentation: what "did anything change" means.
    #[must_use]
    pub fn same_value(&self, other: &Node<'_>) -> bool {
        match (self, other) {
            // Text only: `cpu: 1` and `cpu: "1"` are the same quantity to Kubernetes.
            (Node::Scalar(a), Node::Scalar(b)) => a.value == b.value,
            (Node::Seq(a), Node::Seq(b)) => {
                a.items.len() == b.items.len()
                    && a.items.iter().zip(&b.items).all(|(x, y)| x.same_value(y))
            }
            (Node::Map(a), Node::Map(b)) => {
                a.entries.len() == b.entries.len()
                    && a.entries
                        .iter()
                        .all(|(k, v)| b.get(k.as_str()).is_some_and(|w| v.same_value(w)))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree is most of a run's memory: a node is four words, a collection three, a key two
    /// and a mapping entry six. A field added to any of them would grow every one.
    #[test]
    fn nodes_stay_small() {
        let word = size_of::<usize>();
        assert_eq!(size_of::<Node<'_>>(), 4 * word);
        assert_eq!(size_of::<Map<'_>>(), 3 * word);
        assert_eq!(size_of::<Seq<'_>>(), 3 * word);
        assert_eq!(size_of::<Key<'_>>(), 2 * word);
        assert_eq!(size_of::<(Key<'_>, Node<'_>)>(), 6 * word);
    }

    /// Plain borrowed keys keep only their text; any other key keeps its whole scalar, and a key
    /// equals another written alike, borrowed or owned.
    #[test]
    fn keys_keep_what_the_writer_needs() {
        let parsed = parse_stream("plain: 1\n'quoted': 2\n\"esc\\taped\": 3\n!!str tagged: 4\n")
            .ok()
            .and_then(|docs| docs.into_iter().next());
        let Some(Node::Map(map)) = parsed else {
            panic!("not a mapping: {parsed:?}");
        };
        let kinds: Vec<(&str, bool)> = map
            .entries
            .iter()
            .map(|(k, _)| (k.as_str(), matches!(k, Key::Plain(_))))
            .collect();
        assert_eq!(
            kinds,
            [
                ("plain", true),
                ("quoted", false),
                ("esc\taped", false),
                ("tagged", false)
            ]
        );
        let owned: Vec<Key<'static>> = map
            .entries
            .iter()
            .map(|(k, _)| k.clone().into_owned())
            .collect();
        assert!(owned.iter().all(|k| matches!(k, Key::Scalar(_))));
        // Detached keys drop their source text, as detached scalars do; the rest is equal.
        let alike: Vec<bool> = map
            .entries
            .iter()
            .zip(&owned)
            .map(|((k, _), o)| k == o)
            .collect();
        assert_eq!(alike, [true, true, false, true]);
        assert_ne!(Key::Plain("a"), Key::from(Scalar::string("a")));
        assert!(matches!(
            Key::new(Cow::borrowed("maxSkew")),
            Key::Plain("maxSkew")
        ));
        assert!(matches!(Key::new(Cow::borrowed("yes")), Key::Scalar(_)));
        assert!(matches!(
            Key::new(Cow::owned("name".to_owned())),
            Key::Scalar(_)
        ));
    }

    /// Exactly sized collections grow and shrink by one slot; an index past the end removes
    /// nothing.
    #[test]
    fn exact_collections_grow_and_shrink_by_one() {
        let mut slots: Box<[u32]> = Box::default();
        push_exact(&mut slots, 1);
        push_exact(&mut slots, 2);
        push_exact(&mut slots, 3);
        assert_eq!(&*slots, &[1, 2, 3]);
        assert_eq!(remove_exact(&mut slots, 1), Some(2));
        assert_eq!(remove_exact(&mut slots, 2), None);
        assert_eq!(&*slots, &[1, 3]);
    }

    /// A flow or tagged collection keeps both through a change to block form; an untagged block
    /// collection needs no allocation for its form.
    #[test]
    fn forms_keep_their_tag() {
        let mut form = Form::new(true, Some(Tag::new("!list")));
        assert!(form.is_flow());
        form.set_block();
        assert!(!form.is_flow());
        assert_eq!(form.tag().map(|t| &**t), Some("!list"));
        let mut flow = Form::flow();
        flow.set_block();
        assert_eq!(flow, Form::default());
        assert!(Form::default().0.is_none());
    }

    /// `json_text` is what config hashes fingerprint: it must stay `to_json().to_string()`
    /// byte for byte, or every stamped hash would change.
    #[test]
    fn json_text_is_the_json_value_written() {
        let strings = include_str!("../../testdata/fidelity/yaml-strings.jsonl");
        let values: Vec<String> = strings
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter_map(|v| v.get("string").and_then(|s| s.as_str()).map(str::to_owned))
            .collect();
        assert!(values.len() > 100, "the fidelity strings were read");
        let doc = "a: 1\nb: '1'\nc: !!str 1\nd: !!int \"2\"\ne: !custom 3\nf: 1.5\ng: .inf\nh: .nan\n\
                   i: ~\nj: yes\nk: 0x1F\nl: 1_000\nm: 1e3\nn: |\n  line\no: [1, {p: q}, []]\nr: {}\n\
                   s: -0\nt: 99999999999999999999\nu: \"\\u00e9\\t\\\"\"\n";
        let mut nodes = parse_stream(doc).unwrap_or_default();
        assert_eq!(nodes.len(), 1, "the document was read");
        for value in &values {
            nodes.push(Node::Scalar(Scalar::plain(value.as_str())));
            nodes.push(Node::string(value.as_str()));
        }
        // Keys are unique in every tree (the parser rejects repeated keys, edits replace).
        nodes.push(Node::Map(Map {
            entries: values
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .map(|v| {
                    (
                        Key::from(Scalar::string(v.as_str())),
                        Node::Scalar(Scalar::plain(v.as_str())),
                    )
                })
                .collect(),
            ..Map::new()
        }));
        assert!(nodes.len() > 200);
        for node in &nodes {
            assert_eq!(node.json_text(), node.to_json().to_string(), "{node:?}");
        }
    }

    /// A key set from a borrowed field name is kept as that text, not boxed, and a key that is
    /// there already is set in place.
    #[test]
    fn set_keeps_borrowed_keys_and_places() {
        let mut map = Map::block([(Key::Plain("a"), Node::int(1))]);
        map.set(Cow::borrowed("affinity"), Node::int(2));
        map.set(Cow::borrowed("a"), Node::int(3));
        map.insert("owned", Node::int(4));
        let keys: Vec<(&str, bool)> = (map.entries.iter())
            .map(|(k, _)| (k.as_str(), matches!(k, Key::Plain(_))))
            .collect();
        assert_eq!(keys, [("a", true), ("affinity", true), ("owned", false)]);
        assert_eq!(map.get("a").and_then(Node::as_str), Some("3"));
    }
}
