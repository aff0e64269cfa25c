//! A document of the output: a tree, the input text it is written as, or the function that
//! builds it.

use std::fmt;
use std::sync::Arc;

use super::emit::{emit_into, emit_seq_item};
use super::{parse_stream, Node, Scalar};

/// An output document: a tree, or what stands for one while its tree would only wait for the
/// writer (see each variant).
#[derive(Debug, Clone, PartialEq)]
pub enum Doc<'a> {
    Tree(Node<'a>),
    /// An input item the reader was told no policy reads or edits (a Service, a Secret), kept as
    /// its source text from the moment it was read: the text the writer writes for its tree,
    /// borrowed from the input. As trees these took 1.7 times their text (bench/README.md).
    Passed(Box<Passed<'a>>),
    /// A new object built when it is written (see [`Deferred`]).
    Deferred(Deferred),
}

/// A new object as the function that builds it. As text, the new objects (an HPA and a PDB per
/// workload) waited from planning to writing: 15 MB at 10,000 workloads, three times what
/// builds them, which shares the workload the run keeps anyway (bench/README.md). The function
/// builds the same object each time.
#[derive(Clone)]
pub struct Deferred(Arc<dyn Fn() -> Node<'static> + Send + Sync>);

impl Deferred {
    pub fn new(build: impl Fn() -> Node<'static> + Send + Sync + 'static) -> Self {
        Deferred(Arc::new(build))
    }

    #[must_use]
    pub fn build(&self) -> Node<'static> {
        (self.0)()
    }
}

impl fmt::Debug for Deferred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Deferred").field(&self.build()).finish()
    }
}

/// Deferred objects are equal when they build equal objects.
impl PartialEq for Deferred {
    fn eq(&self, other: &Self) -> bool {
        self.build() == other.build()
    }
}

/// An item kept as its source text (see [`Doc::Passed`]), with the identity the inventory asks
/// of every item (an HPA may target any kind), read before its tree was dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Passed<'a> {
    /// The item as an item of a top-level block sequence (`- key: value` then lines indented two
    /// more), each line ended: the layout under a ResourceList's `items:`, whose document form
    /// is the same text less two columns (see [`write_document_text`]). Or, with `document`, the
    /// item as a document of a stream (kustomize's plugin mode).
    pub text: &'a str,
    pub document: bool,
    pub api_version: &'a str,
    pub kind: &'a str,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
}

impl<'a> Doc<'a> {
    /// Items written as read (the floor, a failed run's unchanged input).
    #[must_use]
    pub fn trees(nodes: Vec<Node<'a>>) -> Vec<Doc<'a>> {
        nodes.into_iter().map(Doc::Tree).collect()
    }

    /// The document as a tree; a text is read back (see [`Passed::tree`]).
    #[must_use]
    pub fn into_tree(self) -> Node<'a> {
        match self {
            Doc::Tree(node) => node,
            Doc::Passed(passed) => passed.tree(),
            Doc::Deferred(deferred) => deferred.build(),
        }
    }

    /// The document's tree, when it is one.
    #[must_use]
    pub fn as_tree(&self) -> Option<&Node<'a>> {
        match self {
            Doc::Tree(node) => Some(node),
            Doc::Passed(_) | Doc::Deferred(_) => None,
        }
    }

    #[must_use]
    pub fn as_tree_mut(&mut self) -> Option<&mut Node<'a>> {
        match self {
            Doc::Tree(node) => Some(node),
            Doc::Passed(_) | Doc::Deferred(_) => None,
        }
    }

    /// Writes the document as one `---`-separated document of a stream.
    pub(super) fn write_document(&self, out: &mut String) {
        match self {
            Doc::Tree(node) => emit_into(out, node),
            Doc::Passed(passed) if passed.document => out.push_str(passed.text),
            Doc::Passed(passed) => write_document_text(out, passed.text),
            Doc::Deferred(deferred) => emit_into(out, &deferred.build()),
        }
    }

    /// Writes the document as an item of a top-level block sequence (`- item`, as under `items:`).
    pub(super) fn write_seq_item(&self, out: &mut String) {
        match self {
            Doc::Tree(node) => emit_seq_item(out, node),
            // A document written as an item: never in a run, whose output keeps the input's mode.
            Doc::Passed(passed) if passed.document => emit_seq_item(out, &passed.tree()),
            Doc::Passed(passed) => out.push_str(passed.text),
            Doc::Deferred(deferred) => emit_seq_item(out, &deferred.build()),
        }
    }
}

impl<'a> Passed<'a> {
    /// The item's tree, read again from its text, which is a slice of the input: scalars borrow
    /// from it as when the item was first read, so a kept item read back costs what its tree
    /// did. The text is what the writer writes for the tree, so it reads back to a tree
    /// written alike; were it not to read, the text itself is the document.
    #[must_use]
    pub fn tree(&self) -> Node<'a> {
        // A list item reads as a one-item sequence at the left margin, which is how kept items
        // are laid out (see the `text` field).
        let read = parse_stream(self.text).ok().and_then(|docs| {
            let [doc] = <[Node<'a>; 1]>::try_from(docs).ok()?;
            if self.document {
                return Some(doc);
            }
            match doc {
                Node::Seq(seq) => <[Node<'a>; 1]>::try_from(Vec::from(seq.items))
                    .ok()
                    .map(|[item]| item),
                _ => None,
            }
        });
        read.unwrap_or_else(|| Node::Scalar(Scalar::string(self.text)))
    }
}

/// A block mapping's text as a sequence item, written as a document. Its entries sit two columns
/// left of where they sit in the sequence, and the emitter places every line relative to its
/// parent; so it is the same text less `- ` on the first line and two spaces on each other
/// non-empty one. (Empty lines occur only inside literal blocks, which the emitter writes without
/// indent.) memchr finds the line ends: this runs for every new object in plugin mode.
fn write_document_text(out: &mut String, text: &str) {
    out.reserve(text.len());
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', text.as_bytes()) {
        let line = text.get(start..=end).unwrap_or_default();
        let indent = if start == 0 { "- " } else { "  " };
        out.push_str(line.strip_prefix(indent).unwrap_or(line));
        start = end + 1;
    }
    out.push_str(text.get(start..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::super::{emit_document, parse_stream, write_seq_items, write_stream};
    use super::*;

    /// The output of each writer for `docs`, as the two modes write it.
    fn written(docs: &[Doc<'_>]) -> (String, String) {
        let (mut items, mut stream) = (Vec::new(), Vec::new());
        write_seq_items(&mut items, docs).unwrap_or_else(|e| panic!("{e}"));
        write_stream(&mut stream, docs).unwrap_or_else(|e| panic!("{e}"));
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap_or_else(|e| panic!("{e}"));
        (text(items), text(stream))
    }

    /// An item kept as its text is written, as a sequence item and as a document, exactly as its
    /// tree is, and so are a document kept as its text and a deferred object: nested and compact
    /// sequences, flow collections, literal blocks with empty and whitespace-only lines and an
    /// indentation indicator, folded blocks re-indented from their source, keys too long to be
    /// implicit, quoted and multi-line new strings.
    #[test]
    fn kept_and_deferred_documents_are_written_as_their_trees() {
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {app: web, 'on': yes}\n\
             data:\n  script: |\n    line one\n\n      indented\n    \n    last\n  lead: |2\n     two spaces\n\
             \n  folded: >\n    folded text\n    goes on\n\n    new paragraph\n  quoted: \"tab\\there\"\n\
             list:\n- - nested\n  - seq\n- {flow: map}\n- key: value\n  other: [1, 2]\n\
             empty: {}\nnone:\n";
        let mut docs = parse_stream(yaml).unwrap_or_else(|e| panic!("{e}"));
        let read = docs.pop().unwrap_or_else(|| panic!("no document"));
        let mut made = Node::from_json(&serde_json::json!({
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "yes", "annotations": {"a": "multi\nline\n\n text\n", "b": " lead"}},
            "spec": {"metrics": [{"type": "Resource", "resource": {"name": "cpu"}}], "n": 3},
            "k".repeat(1100): {"a key too long to be implicit": true},
        }));
        if let Some(m) = made.as_map_mut() {
            m.insert("read", read.clone());
        }
        for node in [read.into_owned(), made] {
            let trees = [Doc::Tree(node.clone()), Doc::Tree(node.clone())];
            let mut item = String::new();
            emit_seq_item(&mut item, &node);
            let passed = Doc::Passed(Box::new(Passed {
                text: &item,
                document: false,
                api_version: "v1",
                kind: "ConfigMap",
                namespace: None,
                name: "a",
            }));
            assert_eq!(written(&[passed.clone(), passed.clone()]), written(&trees));
            assert!(written(&trees).0.starts_with(&item));
            assert_eq!(
                passed.into_tree().to_json(),
                node.to_json(),
                "{}",
                emit_document(&node)
            );
            let document = emit_document(&node);
            let passed = Doc::Passed(Box::new(Passed {
                text: &document,
                document: true,
                api_version: "v1",
                kind: "ConfigMap",
                namespace: None,
                name: "a",
            }));
            // A document is written as one (as an item only through its tree, never in a run).
            assert_eq!(
                written(&[passed.clone(), passed.clone()]).1,
                written(&trees).1
            );
            assert_eq!(passed.into_tree().to_json(), node.to_json());
            let built = node.clone();
            let deferred = Doc::Deferred(Deferred::new(move || built.clone()));
            assert_eq!(
                written(&[deferred.clone(), deferred.clone()]),
                written(&trees)
            );
            assert_eq!(deferred.into_tree(), node);
        }
    }

    /// An output document costs no more than a node in the list of items.
    #[test]
    fn a_document_is_as_small_as_a_node() {
        assert_eq!(size_of::<Doc<'_>>(), size_of::<Node<'_>>());
    }
}
