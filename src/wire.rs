//! The two ways clients call us, told apart by the input:
//! - a ResourceList on stdin (kpt, kustomize KRM functions): reply with a ResourceList
//!   `config.kubernetes.io/v1` carrying `results`;
//! - kustomize's legacy exec plugin: the config file in argv[1], a plain YAML stream on stdin:
//!   reply with a plain stream.

use anyhow::{anyhow, bail, Context as _, Result};

use crate::report::Report;
use crate::yaml::{emit_entry, parse_stream, write_seq_items, write_stream, Doc, Node};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    ResourceList,
    Plugin,
}

/// What arrived: the items, the function config, and the ResourceList wrapper to echo back.
#[derive(Debug)]
pub struct Input<'a> {
    pub mode: Mode,
    pub items: Vec<Node<'a>>,
    pub function_config: Option<Node<'a>>,
    /// The input ResourceList minus its items: unknown top-level fields pass through.
    wrapper: Option<Node<'a>>,
}

fn is_resource_list(doc: &Node<'_>) -> bool {
    doc.str_at(&["kind"])
        .is_some_and(|k| k == "ResourceList" || k == "List")
        && doc
            .str_at(&["apiVersion"])
            .is_some_and(|v| v.starts_with("config.kubernetes.io/") || v == "v1")
}

/// Parses stdin; `plugin_config` is the text of the legacy plugin's config file, if one was given.
pub fn read<'a>(stdin: &'a str, plugin_config: Option<&'a str>) -> Result<Input<'a>> {
    let mut docs = parse_stream(stdin).context("stdin is not valid YAML")?;
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
            Some(Node::Seq(seq)) => Vec::from(seq.items),
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
        items: docs,
        function_config: configs.pop(),
        wrapper: None,
    })
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
