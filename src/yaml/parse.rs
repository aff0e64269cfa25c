//! Reads a YAML stream into [`Node`] trees with granit-parser's events, which carry each
//! scalar's style and source span.
//!
//! Limits that make hostile input a clean error: granit-parser's nesting limits, a cap on the
//! nodes aliases may copy (alias bombs), duplicate keys, and [`MAX_INPUT_BYTES`].

use std::collections::{HashMap, HashSet};
use std::fmt;

use granit_parser::{Event, Parser, ScalarStyle, Span, StructureStyle, Tag};

use super::scalar::{escaped_in_double_quotes, single_quote_is_safe};
use super::{Cow, Form, Key, Map, Node, Scalar, Seq, Style};

/// The largest input read (512 MiB); larger input is refused before parsing.
pub const MAX_INPUT_BYTES: usize = 512 * 1024 * 1024;

/// How many nodes aliases may copy in one stream: real manifests use a handful.
const MAX_ALIAS_NODES: usize = 1_000_000;

/// Maps bigger than this check duplicate keys with a hash set instead of a scan.
const SMALL_MAP: usize = 16;

/// Deepest nesting accepted; real manifests stay under 45 (a ResourceList around a large CRD).
const MAX_DEPTH: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "line {} column {}: {}",
                self.line, self.column, self.message
            )
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for ParseError {}

fn error_at(span: &Span, message: impl Into<String>) -> ParseError {
    ParseError {
        message: message.into(),
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

/// Parses every document of a YAML stream. Empty documents are left out.
pub fn parse_stream(input: &str) -> Result<Vec<Node<'_>>, ParseError> {
    parse_stream_with(input, &mut |_: ListItem<'_, '_>| false)
}

/// A mapping just read that is an item of the stream: a top-level document, or an item of a
/// `items` sequence directly under a document's top-level mapping (see [`parse_stream_with`]).
pub struct ListItem<'l, 'a> {
    /// The top-level mapping's entries before `items` (a ResourceList's `apiVersion`, `kind`);
    /// `None` for a document.
    pub list: Option<&'l [(Key<'a>, Node<'a>)]>,
    /// The item's place in the sequence, or the document's among the documents kept so far.
    pub index: usize,
    pub node: &'l Node<'a>,
    /// A block mapping's text as written: a list item's from its `- ` (which must open a line)
    /// to the start of the line after it; a document's from its first line to the start of the
    /// line after it (a `---` or the end).
    pub source: Option<&'a str>,
}

/// [`parse_stream`], telling `take` each mapping of the stream's documents, and each mapping
/// item of a top-level mapping's `items`, as soon as it is read (not an anchored one: an alias
/// to it must copy it). When `take` returns true it has kept what it needs of the item (its
/// text), and an empty sequence stands in the item's place: its tree is freed while the next
/// items are read, so the reading thread reuses its memory at once (bench/README.md).
pub fn parse_stream_with<'a>(
    input: &'a str,
    take: &mut dyn FnMut(ListItem<'_, 'a>) -> bool,
) -> Result<Vec<Node<'a>>, ParseError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(ParseError {
            message: format!(
                "input is {} bytes, over the {} byte limit",
                input.len(),
                MAX_INPUT_BYTES
            ),
            line: 0,
            column: 0,
        });
    }
    let mut builder = Builder {
        input,
        stack: Vec::new(),
        items: Vec::new(),
        entries: Vec::new(),
        anchors: HashMap::new(),
        alias_nodes: 0,
        docs: Vec::new(),
        take,
    };
    for event in Parser::new_from_str(input) {
        let (event, span) = event.map_err(|e| ParseError {
            message: e.info().to_string(),
            line: e.marker().line(),
            column: e.marker().col() + 1,
        })?;
        builder.event(event, &span)?;
    }
    Ok(builder.docs)
}

/// An open collection. Its children wait in the builder's shared `items`/`entries` buffers from
/// `start` on, and move into a vector of exactly their count when it closes: one allocation per
/// collection and no spare capacity (the tree is most of the memory a run needs).
enum Frame<'a> {
    Seq {
        start: usize,
        form: Form,
        anchor: usize,
    },
    Map {
        start: usize,
        form: Form,
        key: Option<Scalar<'a>>,
        anchor: usize,
        seen: Option<HashSet<String>>,
        /// Where its first key starts in the input.
        offset: Option<usize>,
    },
}

struct Builder<'a, 't> {
    input: &'a str,
    stack: Vec<Frame<'a>>,
    /// Children of the open sequences, innermost last.
    items: Vec<Node<'a>>,
    /// Entries of the open mappings, innermost last.
    entries: Vec<(Key<'a>, Node<'a>)>,
    anchors: HashMap<usize, Node<'a>>,
    alias_nodes: usize,
    docs: Vec<Node<'a>>,
    take: &'t mut dyn FnMut(ListItem<'_, 'a>) -> bool,
}

impl<'a> Builder<'a, '_> {
    fn event(&mut self, event: Event<'a>, span: &Span) -> Result<(), ParseError> {
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                let empty_span = span.byte_range().is_some_and(|r| r.is_empty());
                // The parser reports an absent value (`key:`) as `~`; keep it absent.
                let value = if style == ScalarStyle::Plain && empty_span {
                    Cow::borrowed("")
                } else {
                    match value {
                        std::borrow::Cow::Borrowed(text) => Cow::borrowed(text),
                        std::borrow::Cow::Owned(text) => Cow::owned(text),
                    }
                };
                let scalar = self.scalar(value, style, tag.as_deref(), span);
                // An empty document arrives as a plain scalar with an empty span: nothing to keep.
                let empty_document = self.stack.is_empty()
                    && scalar.style == Style::Plain
                    && scalar.tag().is_none()
                    && empty_span;
                if empty_document {
                    return Ok(());
                }
                self.complete(Node::Scalar(scalar), anchor, span)
            }
            Event::SequenceStart(style, anchor, tag) => {
                self.open(span)?;
                self.stack.push(Frame::Seq {
                    start: self.items.len(),
                    form: Form::new(style == StructureStyle::Flow, tag_text(tag.as_deref())),
                    anchor,
                });
                Ok(())
            }
            Event::MappingStart(style, anchor, tag) => {
                self.open(span)?;
                self.stack.push(Frame::Map {
                    start: self.entries.len(),
                    form: Form::new(style == StructureStyle::Flow, tag_text(tag.as_deref())),
                    key: None,
                    anchor,
                    seen: None,
                    offset: span.byte_range().map(|r| r.start),
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq {
                    start,
                    form,
                    anchor,
                }) => {
                    let items = self.items.drain(start..).collect();
                    self.complete(Node::Seq(Seq { items, form }), anchor, span)
                }
                Some(Frame::Map {
                    start,
                    form,
                    anchor,
                    offset,
                    ..
                }) => {
                    let entries = self.entries.drain(start..).collect();
                    let map = Node::Map(Map { entries, form });
                    // An anchored item stays: an alias to it must copy the item, not the
                    // placeholder.
                    if anchor == 0 && self.offer_list_item(&map, offset, span) {
                        return self.complete(Node::seq([]), anchor, span);
                    }
                    self.complete(map, anchor, span)
                }
                None => Err(error_at(span, "unbalanced collection end")),
            },
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| error_at(span, "alias to an unknown anchor"))?;
                self.alias_nodes += count_nodes(&node);
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(error_at(
                        span,
                        format!("aliases expand to more than {MAX_ALIAS_NODES} nodes; refusing what looks like an alias bomb"),
                    ));
                }
                self.complete(node, 0, span)
            }
            Event::UnresolvedAlias(name) => {
                Err(error_at(span, format!("alias *{name} has no anchor")))
            }
            Event::DocumentStart(..) => {
                self.anchors.clear();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Offers `map` to `take` when it is a document or an item of a top-level mapping's
    /// `items`; true when taken.
    fn offer_list_item(&mut self, map: &Node<'a>, offset: Option<usize>, end: &Span) -> bool {
        let (list, index, prefix) = match self.stack.as_slice() {
            [] => (None, self.docs.len(), ""),
            [Frame::Map {
                start: list_start,
                key: Some(key),
                ..
            }, Frame::Seq {
                start: items_start, ..
            }] if key.value == "items" => (
                Some(self.entries.get(*list_start..).unwrap_or_default()),
                self.items.len().saturating_sub(*items_start),
                "- ",
            ),
            _ => return false,
        };
        // From the start of the line its first key is on (a list item's `- ` opens that line) to
        // the start of the line that follows (the next item's `- `, a `---` or the end). A flow
        // mapping ends at its `}` and so is left without text.
        let source = offset.zip(end.byte_range()).and_then(|(at, end)| {
            let start = at.checked_sub(prefix.len())?;
            let opens_line = start == 0 || self.input.get(..start)?.ends_with('\n');
            let text = self.input.get(start..end.start)?;
            (opens_line && text.starts_with(prefix) && text.ends_with('\n')).then_some(text)
        });
        let item = ListItem {
            list,
            index,
            node: map,
            source,
        };
        (self.take)(item)
    }

    /// Checks that a collection may start here: not as a mapping key, not too deep.
    fn open(&self, span: &Span) -> Result<(), ParseError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(error_at(
                span,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
            return Err(error_at(
                span,
                "a mapping key that is a collection is not supported",
            ));
        }
        Ok(())
    }

    fn scalar(
        &self,
        value: Cow<'a, str>,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: &Span,
    ) -> Scalar<'a> {
        let style = match style {
            ScalarStyle::Plain => Style::Plain,
            ScalarStyle::SingleQuoted => Style::SingleQuoted,
            ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
            ScalarStyle::Literal => Style::Literal,
            ScalarStyle::Folded => Style::Folded,
        };
        // Plain scalars are written from their value; quoted ones keep their exact spelling
        // (escapes included) when on one line and the writer would spell them otherwise; block
        // scalars keep header and lines.
        let source = match style {
            Style::Plain | Style::Auto => None,
            Style::SingleQuoted | Style::DoubleQuoted => span
                .slice(self.input)
                .filter(|s| !s.contains(['\n', '\r']) && !written_alike(s, &value, style)),
            Style::Literal => None,
            Style::Folded => folded_source(self.input, span),
        };
        Scalar::read(value, style, tag_text(tag), source)
    }

    fn complete(&mut self, node: Node<'a>, anchor: usize, span: &Span) -> Result<(), ParseError> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq { .. }) => self.items.push(node),
            Some(Frame::Map {
                start, key, seen, ..
            }) => match key.take() {
                Some(k) => self.entries.push((Key::from(k), node)),
                None => {
                    let Node::Scalar(k) = node else {
                        return Err(error_at(
                            span,
                            "a mapping key that is a collection is not supported",
                        ));
                    };
                    let duplicate = match seen {
                        Some(set) => !set.insert(k.value.to_string()),
                        None => {
                            let open = self.entries.get(*start..).unwrap_or_default();
                            let dup = open.iter().any(|(e, _)| e.as_str() == k.value);
                            if open.len() >= SMALL_MAP {
                                *seen = Some(
                                    open.iter()
                                        .map(|(e, _)| e.as_str().to_owned())
                                        .chain([k.value.to_string()])
                                        .collect(),
                                );
                            }
                            dup
                        }
                    };
                    if duplicate {
                        return Err(error_at(span, format!("duplicate key {:?}", k.value)));
                    }
                    *key = Some(k);
                }
            },
        }
        Ok(())
    }
}

/// True when the writer spells `value` in `style` exactly as `source` does, so the source need
/// not be kept. Most quoted scalars (`"100m"`, `":9100"`) have no escapes, and keeping each one's
/// source cost an allocation for a quarter of the scalars of a typical manifest.
fn written_alike(source: &str, value: &str, style: Style) -> bool {
    let inner = source
        .len()
        .checked_sub(1)
        .and_then(|end| source.get(1..end));
    if inner != Some(value) {
        return false;
    }
    // Equal to the text between the quotes, the value has no `''` or escape in its source.
    match style {
        Style::DoubleQuoted => !value.bytes().any(escaped_in_double_quotes),
        Style::SingleQuoted => single_quote_is_safe(value),
        _ => false,
    }
}

/// The folded scalar's header token and content lines: the parser's span starts at the content.
fn folded_source<'a>(input: &'a str, span: &Span) -> Option<&'a str> {
    let range = span.byte_range()?;
    let line_start = input.get(..range.start)?.rfind('\n')? + 1;
    let before = input.get(..line_start.checked_sub(1)?)?;
    let header_line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let header_line = before.get(header_line_start..)?;
    let header_line = header_line
        .split(" #")
        .next()
        .unwrap_or_default()
        .trim_end();
    let token = header_line.rsplit([' ', '\t']).next()?;
    if !token.starts_with('>') {
        return None;
    }
    let token_start = header_line_start + header_line.len() - token.len();
    input.get(token_start..range.end)
}

fn tag_text(tag: Option<&Tag>) -> Option<super::Tag> {
    let tag = tag?;
    // The parser decodes `%21`-style escapes; write them back encoded, or the tag changes.
    let suffix = encode_tag_chars(tag.suffix());
    let text = if tag.original_handle().is_empty() {
        format!("!<{}{suffix}>", encode_tag_chars(tag.handle()))
    } else {
        format!("{}{suffix}", tag.original_handle())
    };
    Some(super::Tag::new(text))
}

/// Percent-encodes every byte a tag shorthand may not hold as is (YAML's `ns-tag-char`).
fn encode_tag_chars(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        let plain = b.is_ascii_alphanumeric() || b"-;/?:@&=+$_.~*'()#".contains(&b);
        if plain {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn count_nodes(node: &Node<'_>) -> usize {
    match node {
        Node::Scalar(_) => 1,
        Node::Seq(s) => 1 + s.items.iter().map(count_nodes).sum::<usize>(),
        Node::Map(m) => {
            1 + m
                .entries
                .iter()
                .map(|(_, v)| 1 + count_nodes(v))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(input: &str) -> Node<'_> {
        let mut docs = parse_stream(input).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(docs.len(), 1);
        docs.remove(0)
    }

    #[test]
    fn keeps_scalar_styles_and_source() {
        let doc = one("a: plain\nb: 'single'\nc: \"dq\\u00e9\"\nd: |\n  line\n");
        let m = doc.as_map().unwrap();
        let style = |k: &str| {
            m.get(k)
                .and_then(Node::as_scalar)
                .map(|s| (s.style, s.value.to_string(), s.source()))
        };
        assert_eq!(style("a"), Some((Style::Plain, "plain".into(), None)));
        // Written back alike from the value: no source kept.
        assert_eq!(
            style("b"),
            Some((Style::SingleQuoted, "single".into(), None))
        );
        assert_eq!(
            style("c"),
            Some((Style::DoubleQuoted, "dqé".into(), Some("\"dq\\u00e9\"")))
        );
        assert_eq!(
            m.get("d")
                .and_then(Node::as_scalar)
                .map(|s| s.value.to_string()),
            Some("line\n".into())
        );
    }

    /// A quoted scalar keeps its source exactly when the writer would spell its value
    /// otherwise, and either way it is written back as it was read.
    #[test]
    fn quoted_sources_are_kept_only_when_needed() {
        let cases = [
            ("\"100m\"", false),
            ("\":9100\"", false),
            ("\"\"", false),
            ("''", false),
            ("'x y'", false),
            ("\"a\\u0041\"", true),
            ("\"tab\there\"", true),
            ("\"caf\u{e9}\"", true),
            ("\"quote \\\" in\"", true),
            ("'it''s'", true),
            ("' lead'", true),
            ("'trail '", true),
            ("\"a\\\\b\"", true),
        ];
        for (text, kept) in cases {
            let input = format!("k: {text}\n");
            let doc = one(&input);
            let scalar = doc
                .as_map()
                .and_then(|m| m.get("k"))
                .and_then(Node::as_scalar);
            assert_eq!(scalar.map(|s| s.source().is_some()), Some(kept), "{text}");
            assert_eq!(crate::yaml::emit_document(&doc), input, "{text}");
        }
    }

    #[test]
    fn duplicate_keys_are_errors_in_small_and_large_maps() {
        let err = parse_stream("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert!(err.message.contains("duplicate key \"a\""), "{err}");
        assert_eq!(err.line, 3);
        let mut big: String = (0..40).map(|i| format!("k{i}: v\n")).collect();
        big.push_str("k7: again\n");
        assert!(parse_stream(&big)
            .unwrap_err()
            .message
            .contains("duplicate key \"k7\""));
    }

    #[test]
    fn aliases_expand_and_bombs_are_refused() {
        let doc = one("a: &x {k: v}\nb: *x\n");
        assert_eq!(doc.str_at(&["b", "k"]), Some("v"));
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        assert!(parse_stream(&bomb)
            .unwrap_err()
            .message
            .contains("alias bomb"));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(parse_stream(&deep).is_err());
        let block: String = (0..10_000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect();
        assert!(parse_stream(&block).is_err());
    }

    #[test]
    fn malformed_input_names_the_line() {
        let err = parse_stream("a: 1\nb: [unclosed\n").unwrap_err();
        assert!(err.line >= 2, "{err}");
    }

    /// Each mapping item of a top-level mapping's `items` is offered as soon as it is read, with
    /// its place, the entries before `items` and its text from its `- ` to what follows; a taken
    /// item leaves an empty sequence in its place. Nested `items` and other items are not
    /// offered, and an item whose `- ` does not open a line, or that is a flow mapping, comes
    /// without text.
    #[test]
    fn list_items_are_offered_as_read() {
        let input = "kind: ResourceList\nitems:\n- kind: A\n  n: 1\n- scalar\n- kind: B\n  items:\n  - kind: nested\n\
                     - {kind: C}\nfunctionConfig:\n  items:\n  - kind: D\n---\nitems:\n  - kind: E\n";
        let mut seen = Vec::new();
        let docs = parse_stream_with(input, &mut |item| {
            let Some(list) = item.list else {
                return false;
            };
            let kind = item.node.str_at(&["kind"]).unwrap_or_default().to_owned();
            let list: Vec<&str> = list.iter().map(|(k, _)| k.as_str()).collect();
            seen.push((item.index, kind, item.source, list.join(",")));
            item.index == 0
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let list = "kind".to_owned();
        assert_eq!(
            seen,
            [
                (0, "A".to_owned(), Some("- kind: A\n  n: 1\n"), list.clone()),
                (
                    2,
                    "B".to_owned(),
                    Some("- kind: B\n  items:\n  - kind: nested\n"),
                    list.clone()
                ),
                (3, "C".to_owned(), None, list),
                (0, "E".to_owned(), None, String::new()),
            ]
        );
        let items = docs.first().and_then(|d| d.get("items")).map(Node::to_json);
        let expected = serde_json::json!([[], "scalar", {"kind": "B", "items": [{"kind": "nested"}]}, {"kind": "C"}]);
        assert_eq!(items, Some(expected));
        let e = docs.get(1).and_then(|d| d.get("items")).map(Node::to_json);
        assert_eq!(e, Some(serde_json::json!([[]])));
    }

    /// Each mapping document is offered as soon as it is read, with its place among the
    /// documents and its text (a comment above it is not part of it); a flow mapping comes
    /// without text, and other documents are not offered.
    /// An anchored item is not offered, so an alias to it copies the item.
    #[test]
    fn anchored_items_are_not_offered() {
        let input = "items:\n- &svc\n  kind: Service\n- *svc\n";
        let mut offered = 0;
        let docs = parse_stream_with(input, &mut |item| {
            offered += usize::from(item.list.is_some());
            item.list.is_some()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(offered, 0);
        let items = docs.first().and_then(|d| d.get("items")).map(Node::to_json);
        let service = serde_json::json!({"kind": "Service"});
        assert_eq!(items, Some(serde_json::json!([service.clone(), service])));
    }

    #[test]
    fn documents_are_offered_as_read() {
        let input =
            "kind: A\nn: 1\n---\n# comment\nkind: B\n---\n{kind: C}\n---\n- a list\n---\nkind: D\n";
        let mut seen = Vec::new();
        let docs = parse_stream_with(input, &mut |item| {
            assert!(item.list.is_none(), "no items list here");
            let kind = item.node.str_at(&["kind"]).unwrap_or_default().to_owned();
            seen.push((item.index, kind, item.source));
            item.index == 0
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            seen,
            [
                (0, "A".to_owned(), Some("kind: A\nn: 1\n")),
                (1, "B".to_owned(), Some("kind: B\n")),
                (2, "C".to_owned(), None),
                (4, "D".to_owned(), Some("kind: D\n")),
            ]
        );
        let kinds: Vec<_> = docs.iter().map(Node::to_json).collect();
        let expected =
            serde_json::json!([[], {"kind": "B"}, {"kind": "C"}, ["a list"], {"kind": "D"}]);
        assert_eq!(serde_json::Value::Array(kinds), expected);
    }

    #[test]
    fn multiple_documents_and_empty_ones() {
        let docs = parse_stream("---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn tags_are_kept() {
        let doc = one("a: !!binary aGVsbG8=\nb: !Ref x\n");
        assert_eq!(
            doc.get("a").and_then(Node::as_scalar).and_then(Scalar::tag),
            Some("!!binary")
        );
        assert_eq!(
            doc.get("b").and_then(Node::as_scalar).and_then(Scalar::tag),
            Some("!Ref")
        );
    }
}
