//! A document of the output: a tree, or the text it is written as.

use super::emit::{emit_into, emit_seq_item, with_scratch};
use super::{read_own, Form, Node, Scalar};

/// An output document. New objects (HPAs, PDBs) are kept as their text from the moment they are
/// made: as trees they took three times the memory of their text, 35 MB at 10,000 workloads
/// (bench/README.md), and only the writer reads them.
#[derive(Debug, Clone, PartialEq)]
pub enum Doc<'a> {
    Tree(Node<'a>),
    /// The text of a non-empty block mapping without a tag as an item of a top-level sequence
    /// (`- key: value` then lines indented two more), each line ended: the only shape whose text
    /// as a document is that text less the two columns (see [`Doc::write_document`]). This is
    /// the ResourceList's layout, so kpt's output is a plain copy.
    Text(Box<str>),
    /// An input item the reader was told no policy reads or edits (a Service, a Secret), kept as
    /// its source text from the moment it was read: the text the writer writes for its tree,
    /// borrowed from the input. As trees these took 1.7 times their text (bench/README.md).
    Passed(Box<Passed<'a>>),
}

/// An item kept as its source text (see [`Doc::Passed`]), with the identity the inventory asks
/// of every item (an HPA may target any kind), read before its tree was dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Passed<'a> {
    /// The item as a top-level sequence item, as [`Doc::Text`] holds it.
    pub text: &'a str,
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

    /// `node` as its text when it is a non-empty block mapping without a tag, as every new
    /// Kubernetes object is; any other node stays a tree.
    #[must_use]
    pub fn text_of(node: Node<'a>) -> Doc<'a> {
        match &node {
            Node::Map(m) if m.form == Form::default() && !m.entries.is_empty() => {
                with_scratch(|text| {
                    emit_seq_item(text, &node);
                    Doc::Text(Box::from(text.as_str()))
                })
            }
            _ => Doc::Tree(node),
        }
    }

    /// The document as a tree; a text is read back (see [`read_back`]).
    #[must_use]
    pub fn into_tree(self) -> Node<'a> {
        match self {
            Doc::Tree(node) => node,
            Doc::Text(text) => read_back(&text),
            Doc::Passed(passed) => read_back(passed.text),
        }
    }

    /// The document's tree, when it is one.
    #[must_use]
    pub fn as_tree(&self) -> Option<&Node<'a>> {
        match self {
            Doc::Tree(node) => Some(node),
            Doc::Text(_) | Doc::Passed(_) => None,
        }
    }

    #[must_use]
    pub fn as_tree_mut(&mut self) -> Option<&mut Node<'a>> {
        match self {
            Doc::Tree(node) => Some(node),
            Doc::Text(_) | Doc::Passed(_) => None,
        }
    }

    /// Writes the document as one `---`-separated document of a stream.
    pub(super) fn write_document(&self, out: &mut String) {
        match self {
            Doc::Tree(node) => emit_into(out, node),
            Doc::Text(text) => write_document_text(out, text),
            Doc::Passed(passed) => write_document_text(out, passed.text),
        }
    }

    /// Writes the document as an item of a top-level block sequence (`- item`, as under `items:`).
    pub(super) fn write_seq_item(&self, out: &mut String) {
        match self {
            Doc::Tree(node) => emit_seq_item(out, node),
            Doc::Text(text) => out.push_str(text),
            Doc::Passed(passed) => out.push_str(passed.text),
        }
    }
}

/// A sequence item's text read back as a tree. The text is this program's own YAML (or input
/// the writer writes back alike), so it always reads; were it not to, the text itself is the
/// document.
fn read_back<'a>(text: &str) -> Node<'a> {
    let mut document = String::new();
    write_document_text(&mut document, text);
    read_own(&document).unwrap_or_else(|| Node::Scalar(Scalar::string(document)))
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

    /// A mapping kept as text is written, as a sequence item and as a document, exactly as its
    /// tree is: nested and compact sequences, flow collections, literal blocks with empty and
    /// whitespace-only lines and an indentation indicator, folded blocks re-indented from their
    /// source, keys too long to be implicit, quoted and multi-line new strings.
    #[test]
    fn text_is_written_as_its_tree() {
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
        for node in [read, made] {
            let trees = [Doc::Tree(node.clone()), Doc::Tree(node.clone())];
            let texts = [Doc::text_of(node.clone()), Doc::text_of(node.clone())];
            assert!(matches!(texts[0], Doc::Text(_)));
            assert_eq!(written(&texts), written(&trees));
            let mut item = String::new();
            emit_seq_item(&mut item, &node);
            assert!(written(&trees).0.starts_with(&item));
            assert_eq!(
                texts[0].clone().into_tree().to_json(),
                node.to_json(),
                "{}",
                emit_document(&node)
            );
        }
    }

    /// Only a non-empty block mapping without a tag becomes text: other shapes are written
    /// differently as sequence items than as documents.
    #[test]
    fn other_shapes_stay_trees() {
        for yaml in [
            "plain\n",
            "|\n  literal\n",
            "!tag\nkey: value\n",
            "{flow: map}\n",
            "{}\n",
            "- a\n- b\n",
        ] {
            let mut docs = parse_stream(yaml).unwrap_or_else(|e| panic!("{e}"));
            let node = docs
                .pop()
                .unwrap_or_else(|| panic!("no document in {yaml}"));
            assert!(
                matches!(Doc::text_of(node), Doc::Tree(_)),
                "{yaml} became text"
            );
        }
    }

    /// An output document costs no more than a node in the list of items.
    #[test]
    fn a_document_is_as_small_as_a_node() {
        assert_eq!(size_of::<Doc<'_>>(), size_of::<Node<'_>>());
    }
}
