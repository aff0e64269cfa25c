//! The two ways clients call us, told apart by the input:
//! - a ResourceList on stdin (kpt, kustomize KRM functions): reply with a ResourceList
//!   `config.kubernetes.io/v1` carrying `results`;
//! - kustomize's legacy exec plugin: the config file in argv[1], a plain YAML stream on stdin:
//!   reply with a plain stream.

use anyhow::{anyhow, bail, Context as _, Result};

use crate::inventory::never_read;
use crate::report::Report;
use crate::yaml::{
    emit_document_into, emit_entry, emit_seq_item, parse_stream, parse_stream_with, with_scratch,
    write_seq_items, write_stream, Doc, Key, ListItem, Node, Passed,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    ResourceList,
    Plugin,
}

/// What arrived: the items, the function config, and the ResourceList wrapper to echo back.
#[derive(Debug)]
pub struct Input<'a> {
    pub mode: Mode,
    /// Trees, except the items kept as their text as they were read (see [`pass_through`]).
    pub items: Vec<Doc<'a>>,
    pub function_config: Option<Node<'a>>,
    /// The input ResourceList minus its items: unknown top-level fields pass through.
    wrapper: Option<Node<'a>>,
}

fn is_resource_list(doc: &Node<'_>) -> bool {
    names_resource_list(|key| doc.str_at(&[key]))
}

/// Whether `apiVersion` and `kind`, as `field` reads them, are a ResourceList's.
fn names_resource_list<'n>(field: impl Fn(&str) -> Option<&'n str>) -> bool {
    field("kind").is_some_and(|k| k == "ResourceList" || k == "List")
        && field("apiVersion").is_some_and(|v| v.starts_with("config.kubernetes.io/") || v == "v1")
}

/// An item (a ResourceList's, or a document of a stream) of a kind no policy reads or edits
/// ([`never_read`]), kept as its source text when that is exactly what the writer would write
/// for its tree (kpt's and kustomize's output always is; a comment or other spacing is not), so
/// the output is the same either way. Its identity is kept borrowed; an item whose identity is
/// not plain input text stays a tree.
fn pass_through<'a>(item: &ListItem<'_, 'a>) -> Option<Passed<'a>> {
    let text = item.source?;
    // Absent or not a scalar reads as "" (as `namespace_kind_name` reads it); a scalar must be
    // borrowed from the input.
    let field = |path: &[&str]| match item.node.get_path(path).and_then(Node::as_scalar) {
        None => Some(""),
        Some(scalar) => scalar.borrowed(),
    };
    let (api_version, kind) = (field(&["apiVersion"])?, field(&["kind"])?);
    if !never_read(api_version, kind) {
        return None;
    }
    let name = field(&["metadata", "name"])?;
    let namespace = Some(field(&["metadata", "namespace"])?).filter(|n| !n.is_empty());
    let document = item.list.is_none();
    let written_alike = with_scratch(|written| {
        if document {
            emit_document_into(written, item.node);
        } else {
            emit_seq_item(written, item.node);
        }
        written.as_str() == text
    });
    written_alike.then_some(Passed {
        text,
        document,
        api_version,
        kind,
        namespace,
        name,
    })
}

/// Parses stdin; `plugin_config` is the text of the legacy plugin's config file, if one was given.
pub fn read<'a>(stdin: &'a str, plugin_config: Option<&'a str>) -> Result<Input<'a>> {
    // Kept items by place: documents of a stream, or items of the ResourceList.
    let (mut documents, mut passed) = (Vec::new(), Vec::new());
    let mut take = |item: ListItem<'_, 'a>| {
        let Some(list) = item.list else {
            let kept = pass_through(&item);
            return kept.map(|p| documents.push((item.index, p))).is_some();
        };
        let in_list = names_resource_list(|key| {
            let value = list.iter().find(|(k, _): &&(Key<'_>, _)| k.as_str() == key);
            value.and_then(|(_, v)| v.as_str())
        });
        let kept = in_list.then(|| pass_through(&item)).flatten();
        kept.map(|p| passed.push((item.index, p))).is_some()
    };
    let mut docs = parse_stream_with(stdin, &mut take).context("stdin is not valid YAML")?;
    let lists = docs.iter().filter(|d| is_resource_list(d)).count();
    if lists > 0 && docs.len() > 1 {
        bail!("stdin holds {} YAML documents, {lists} of them ResourceLists; expected exactly one ResourceList", docs.len());
    }
    if lists == 1 {
        let mut wrapper = docs.pop().ok_or_else(|| anyhow!("empty input"))?;
        let Some(map) = wrapper.as_map_mut() else {
            bail!("the ResourceList is not a mapping")
        };
        // Swapped for an empty list, so the output keeps the wrapper's key order.
        let empty = Node::seq([]);
        let items = match map.get_mut("items").map(|n| std::mem::replace(n, empty)) {
            Some(Node::Seq(seq)) => with_kept(Vec::from(seq.items), passed),
            Some(Node::Scalar(s)) if s.is_null() => Vec::new(),
            Some(_) => bail!("ResourceList items: must be a list of objects"),
            None => bail!("ResourceList has no items field"),
        };
        let function_config = map
            .get("functionConfig")
            .filter(|n| !n.as_scalar().is_some_and(|s| s.is_null()))
            .cloned();
        return Ok(Input {
            mode: Mode::ResourceList,
            items,
            function_config,
            wrapper: Some(wrapper),
        });
    }
    let Some(config) = plugin_config else {
        bail!("stdin is not a ResourceList, and no config file was given; run under kpt or kustomize, or see `envpolicy --help`");
    };
    let mut configs = parse_stream(config).context("the plugin config file is not valid YAML")?;
    if configs.len() != 1 {
        bail!(
            "the plugin config file holds {} YAML documents; expected one EnvironmentPolicy",
            configs.len()
        );
    }
    Ok(Input {
        mode: Mode::Plugin,
        items: with_kept(docs, documents),
        function_config: configs.pop(),
        wrapper: None,
    })
}

/// The items as documents, each kept one in its place (where the reader left an empty list).
fn with_kept<'a>(trees: Vec<Node<'a>>, kept: Vec<(usize, Passed<'a>)>) -> Vec<Doc<'a>> {
    let mut items = Doc::trees(trees);
    for (index, p) in kept {
        if let Some(item) = items.get_mut(index) {
            *item = Doc::Passed(Box::new(p));
        }
    }
    items
}

/// The output in the input's mode, as one string (tests and tools; `main` streams with
/// [`write_to`]).
#[must_use]
pub fn write(
    input_wrapper: Option<Node<'_>>,
    mode: Mode,
    items: Vec<Doc<'_>>,
    reports: &[Report],
) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write_to(&mut out, input_wrapper, mode, &items, reports);
    String::from_utf8(out).unwrap_or_default()
}

/// Streams the output in the input's mode: a plain stream, or a ResourceList
/// `config.kubernetes.io/v1` that keeps the input wrapper's other fields and carries the
/// results. Called only once everything has succeeded; items are written a part at a time, so
/// the output (larger than the input) never sits in memory whole.
pub fn write_to(
    sink: &mut dyn std::io::Write,
    input_wrapper: Option<Node<'_>>,
    mode: Mode,
    items: &[Doc<'_>],
    reports: &[Report],
) -> std::io::Result<()> {
    if mode == Mode::Plugin {
        return write_stream(sink, items);
    }
    let mut list = input_wrapper.unwrap_or_else(|| Node::Map(crate::yaml::Map::new()));
    let Some(map) = list.as_map_mut() else {
        return Ok(());
    };
    map.insert("apiVersion", Node::string("config.kubernetes.io/v1"));
    map.insert("kind", Node::string("ResourceList"));
    if map.get("items").is_none() {
        map.insert("items", Node::seq([]));
    }
    map.remove("results");
    let mut buf = String::new();
    for (key, value) in &map.entries {
        buf.clear();
        if key.as_str() == "items" {
            if items.is_empty() {
                buf.push_str("items: []\n");
                sink.write_all(buf.as_bytes())?;
                continue;
            }
            sink.write_all(b"items:\n")?;
            write_seq_items(sink, items)?;
        } else {
            emit_entry(&mut buf, key, value);
            sink.write_all(buf.as_bytes())?;
        }
    }
    if !reports.is_empty() {
        sink.write_all(b"results:\n")?;
        Report::write_all(sink, reports)?;
    }
    Ok(())
}

impl<'a> Input<'a> {
    /// Takes the wrapper out for [`write`].
    pub fn take_wrapper(&mut self) -> Option<Node<'a>> {
        self.wrapper.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items of kinds no policy reads, in the layout kpt sends, are kept as their text; an item
    /// the writer would write otherwise (a comment), one whose identity is not plain input text
    /// (an escape) and every other kind stay trees. Written, they are the same either way.
    #[test]
    fn items_no_policy_reads_are_kept_as_text() {
        let stdin = include_str!("../testdata/kinds-kept-as-text/input.yaml");
        let mut input = read(stdin, None).unwrap_or_else(|e| panic!("{e:#}"));
        let kinds = |docs: &[Doc<'_>], passed: bool| -> Vec<String> {
            (docs.iter())
                .filter(|d| matches!(d, Doc::Passed(_)) == passed)
                .map(|d| {
                    let tree = d.clone().into_tree();
                    format!(
                        "{}/{}",
                        tree.str_at(&["kind"]).unwrap_or_default(),
                        tree.str_at(&["metadata", "name"]).unwrap_or_default()
                    )
                })
                .collect()
        };
        assert_eq!(
            kinds(&input.items, true),
            [
                "Namespace/shop",
                "Secret/api-credentials",
                "Service/api",
                "Ingress/api",
                "Role/reader",
                "CustomResourceDefinition/widgets.example.com"
            ]
        );
        assert_eq!(
            kinds(&input.items, false),
            ["Deployment/api", "Service/commented", "Service/escapedA"]
        );
        let Some(Doc::Passed(service)) = input.items.get(2) else {
            panic!("the Service is not kept as text: {:?}", input.items.get(2));
        };
        assert_eq!(
            (
                service.api_version,
                service.kind,
                service.namespace,
                service.name
            ),
            ("v1", "Service", Some("shop"), "api")
        );
        let trees = Doc::trees(input.items.iter().map(|d| d.clone().into_tree()).collect());
        let wrapper = input.take_wrapper();
        let as_text = write(
            wrapper.clone(),
            input.mode,
            std::mem::take(&mut input.items),
            &[],
        );
        assert_eq!(as_text, write(wrapper, input.mode, trees, &[]));
    }

    /// The items of an `items` list in a document that is not a ResourceList stay trees; a
    /// ResourceList's are kept, and so are the documents of a stream (kustomize's plugin mode).
    #[test]
    fn resource_list_items_and_stream_documents_are_kept_as_text() {
        let service = "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: api\n";
        let list = format!("apiVersion: v1\nkind: ServiceList\nitems:\n{service}");
        let config = Some("kind: EnvironmentPolicy\n");
        let input = read(&list, config).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(input.mode, Mode::Plugin);
        assert!(matches!(input.items.as_slice(), [Doc::Tree(_)]));
        let resource_list =
            format!("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{service}");
        let input = read(&resource_list, None).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(matches!(input.items.as_slice(), [Doc::Passed(p)] if !p.document));
        let stream =
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n---\napiVersion: apps/v1\n\
                      kind: Deployment\nmetadata:\n  name: api\n---\napiVersion: v1\nkind: Secret\n\
                      metadata:\n  name: s\n";
        let mut input = read(stream, config).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(matches!(
            input.items.as_slice(),
            [Doc::Passed(a), Doc::Tree(_), Doc::Passed(b)] if a.document && b.name == "s"
        ));
        let written = write(input.take_wrapper(), input.mode, input.items, &[]);
        assert_eq!(written, stream);
    }
}
