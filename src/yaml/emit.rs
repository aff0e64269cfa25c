//! Writes [`Node`] trees as block YAML (2-space indent, compact sequences, as kubectl writes).
//!
//! Untouched scalars are written from their source text, flow collections stay flow; new strings
//! are plain only when every reader reads them back as strings (see `scalar.rs`).

use rayon::prelude::*;

use super::scalar::{
    double_quoted, literal_is_safe, non_string_json, plain_is_safe, single_quote_is_safe,
    single_quoted,
};
use super::{Doc, Key, Map, Node, Scalar, Seq, Style};

/// Writes documents as a `---`-separated stream.
#[must_use]
pub fn emit_stream(docs: &[Node<'_>]) -> String {
    let mut out = String::new();
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        emit_into(&mut out, doc);
    }
    out
}

/// Writes one document.
#[must_use]
pub fn emit_document(doc: &Node<'_>) -> String {
    let mut out = String::new();
    emit_into(&mut out, doc);
    out
}

/// [`emit_document`] into `out`, after what it holds.
pub fn emit_document_into(out: &mut String, doc: &Node<'_>) {
    emit_into(out, doc);
}

/// Writes documents as a `---`-separated stream to `sink`, one part at a time, so the output
/// never has to exist as one string (it is larger than the input).
pub fn write_stream(sink: &mut dyn std::io::Write, docs: &[Doc<'_>]) -> std::io::Result<()> {
    let Some((first, rest)) = docs.split_first() else {
        return Ok(());
    };
    let mut buf = String::new();
    first.write_document(&mut buf);
    sink.write_all(buf.as_bytes())?;
    write_each(sink, rest, |out, doc| {
        out.push_str("---\n");
        doc.write_document(out);
    })
}

/// Things written together by one thread: a few hundred KB of text.
const PART: usize = 256;

/// Writes `things` to `sink` in order, each as `emit` writes it. Each thing is written alone,
/// and writing is mostly walking the tree, so a large output is written in rounds: one part per
/// core emitted at once (rayon), then the round's text written in order. Only a round's text is
/// in memory at a time; a small output never starts the threads.
pub fn write_each<T: Sync>(
    sink: &mut dyn std::io::Write,
    things: &[T],
    emit: impl Fn(&mut String, &T) + Sync,
) -> std::io::Result<()> {
    write_each_with(sink, things, |out, (), t| emit(out, t))
}

/// [`write_each`] with a `State` each part of the work starts afresh (a memo of text repeated
/// from one thing to the next, as the results of one resource repeat its reference).
pub fn write_each_with<T: Sync, State: Default>(
    sink: &mut dyn std::io::Write,
    things: &[T],
    emit: impl Fn(&mut String, &mut State, &T) + Sync,
) -> std::io::Result<()> {
    let emit_part = |part: &[T], out: &mut String| {
        let mut state = State::default();
        part.iter().for_each(|t| emit(out, &mut state, t));
    };
    if things.len() <= 2 * PART {
        let mut buf = String::new();
        for part in things.chunks(PART) {
            buf.clear();
            emit_part(part, &mut buf);
            sink.write_all(buf.as_bytes())?;
        }
        return Ok(());
    }
    let round = PART * rayon::current_num_threads().max(1);
    // One buffer per part of a round, kept from round to round: fresh ones each round cost fresh
    // pages, since a buffer freed by the writing thread is not at once reusable by the thread
    // that filled it (5 MB more peak memory at 10,000 workloads, bench/README.md).
    let mut texts: Vec<String> = Vec::new();
    for things in things.chunks(round) {
        let parts = things.len().div_ceil(PART);
        if texts.len() < parts {
            texts.resize_with(parts, String::new);
        }
        texts
            .par_iter_mut()
            .zip(things.par_chunks(PART))
            .for_each(|(out, part)| {
                out.clear();
                emit_part(part, out);
            });
        for text in texts.iter().take(parts) {
            sink.write_all(text.as_bytes())?;
        }
    }
    Ok(())
}

/// Writes items of a top-level block sequence (`- item`, as under `items:`) to `sink`.
pub fn write_seq_items(sink: &mut dyn std::io::Write, items: &[Doc<'_>]) -> std::io::Result<()> {
    write_each(sink, items, |out, item| item.write_seq_item(out))
}

/// Writes one top-level mapping entry (`key: value`).
pub fn emit_entry(out: &mut String, key: &Key<'_>, value: &Node<'_>) {
    key_text(out, key);
    out.push(':');
    value_after_indicator(out, value, 0, true);
}

/// Writes one item of a top-level block sequence (`- item`), as under `items:`.
pub fn emit_seq_item(out: &mut String, item: &Node<'_>) {
    out.push('-');
    value_after_indicator(out, item, 0, false);
}

/// Writes a JSON value as one item of a top-level block sequence, in the layout of the tree
/// emitter. Results were once written this way; it stays as the reference the direct writers
/// ([`emit_fields_seq_item`], values as nodes) are tested against.
#[cfg(test)]
pub fn emit_json_seq_item(out: &mut String, value: &serde_json::Value) {
    out.push('-');
    json_after_indicator(out, value, 0, false);
}

/// A value of a block mapping written straight from borrowed data: the results are most of the
/// output, and building a JSON object for each only to write it once cost 8% of a run.
#[derive(Debug, Clone, Copy)]
pub enum Field<'v> {
    Str(&'v str),
    /// A string as [`string_text`] writes it: results repeat a few dozen messages and paths, and
    /// choosing their quoting again for each was a third of writing the results.
    Written(&'v str),
    Uint(u64),
    /// A value's text from [`json_value_text`], for a key at [`VALUE_TEXT_DEPTH`].
    ValueText(&'v str),
    Map(&'v [(&'static str, Field<'v>)]),
}

/// Appends the text [`Field::Str`] writes for `s` after its key's `: `. A string is written on
/// one line at any depth, so its text is the same wherever it is used.
pub fn string_text(out: &mut String, s: &str) {
    flow_scalar(out, &Scalar::string(s), false);
}

/// How deep the values of a result's `field` sit (`currentValue`, `proposedValue`): their text
/// is written once, for this depth, when the change is made.
pub const VALUE_TEXT_DEPTH: usize = 4;

/// Appends the text written after a key at [`VALUE_TEXT_DEPTH`] for `node`, as its JSON
/// ([`Node::to_json`]) would be written there.
pub fn json_value_text(out: &mut String, node: &Node<'_>) {
    node_json_after_indicator(out, node, VALUE_TEXT_DEPTH, true);
}

/// Writes `fields` as a block mapping in a sequence item, exactly as [`emit_json_seq_item`]
/// writes the same JSON object. The keys are the writer's own field names (`message`,
/// `resourceRef`): plain words, written as they are without a check per result.
pub fn emit_fields_seq_item(out: &mut String, fields: &[(&'static str, Field<'_>)]) {
    out.push('-');
    fields_after_indicator(out, fields, 0, false);
}

/// Writes more entries of a block mapping whose first entry was written by
/// [`emit_fields_seq_item`] (or of one nested `at` deeper), each on its own line.
pub fn emit_fields_continued(out: &mut String, fields: &[(&'static str, Field<'_>)], at: usize) {
    fields_from(out, fields, at, true);
}

fn fields_after_indicator(
    out: &mut String,
    fields: &[(&'static str, Field<'_>)],
    at: usize,
    after_key: bool,
) {
    if fields.is_empty() {
        out.push_str(" {}\n");
        return;
    }
    out.push(if after_key { '\n' } else { ' ' });
    fields_from(out, fields, at, after_key);
}

/// The entries of a non-empty mapping; the first is indented when it starts a line.
fn fields_from(
    out: &mut String,
    fields: &[(&'static str, Field<'_>)],
    at: usize,
    first_indented: bool,
) {
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 || first_indented {
            indent(out, at + 2);
        }
        debug_assert!(plain_is_safe(key, false), "field name {key:?} needs quotes");
        out.push_str(key);
        out.push(':');
        match value {
            Field::Str(s) => {
                out.push(' ');
                string_text(out, s);
                out.push('\n');
            }
            Field::Written(text) => {
                out.push(' ');
                out.push_str(text);
                out.push('\n');
            }
            Field::Uint(n) => {
                out.push(' ');
                out.push_str(&n.to_string());
                out.push('\n');
            }
            Field::ValueText(text) => {
                debug_assert_eq!(at + 2, VALUE_TEXT_DEPTH, "value text for another depth");
                out.push_str(text);
            }
            Field::Map(inner) => fields_after_indicator(out, inner, at + 2, true),
        }
    }
}

#[cfg(test)]
fn json_after_indicator(out: &mut String, value: &serde_json::Value, at: usize, after_key: bool) {
    use serde_json::Value;
    match value {
        Value::Object(m) if !m.is_empty() => {
            if after_key {
                out.push('\n');
            } else {
                out.push(' ');
            }
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 || after_key {
                    indent(out, at + 2);
                }
                flow_scalar(out, &Scalar::string(k.as_str()), false);
                out.push(':');
                json_after_indicator(out, v, at + 2, true);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            // Compact under a key (the dash at the key's column), nested under a dash.
            let dash = if after_key { at } else { at + 2 };
            if after_key {
                out.push('\n');
            } else {
                out.push(' ');
            }
            for (i, item) in a.iter().enumerate() {
                if i > 0 || after_key {
                    indent(out, dash);
                }
                out.push('-');
                json_after_indicator(out, item, dash, false);
            }
        }
        scalar => {
            out.push(' ');
            json_scalar(out, scalar);
            out.push('\n');
        }
    }
}

/// A node written as `json_after_indicator` would write `node.to_json()`, without building the
/// JSON: values in results are written this way. Keys are unique in every tree (the parser rejects
/// repeated keys; edits replace), so no JSON object would have merged any.
fn node_json_after_indicator(out: &mut String, node: &Node<'_>, at: usize, after_key: bool) {
    match node {
        Node::Map(m) if !m.entries.is_empty() => {
            out.push(if after_key { '\n' } else { ' ' });
            for (i, (k, v)) in m.entries.iter().enumerate() {
                if i > 0 || after_key {
                    indent(out, at + 2);
                }
                flow_scalar(out, &Scalar::string(k.as_str()), false);
                out.push(':');
                node_json_after_indicator(out, v, at + 2, true);
            }
        }
        Node::Seq(s) if !s.items.is_empty() => {
            let dash = if after_key { at } else { at + 2 };
            out.push(if after_key { '\n' } else { ' ' });
            for (i, item) in s.items.iter().enumerate() {
                if i > 0 || after_key {
                    indent(out, dash);
                }
                out.push('-');
                node_json_after_indicator(out, item, dash, false);
            }
        }
        Node::Map(_) => out.push_str(" {}\n"),
        Node::Seq(_) => out.push_str(" []\n"),
        Node::Scalar(s) => {
            out.push(' ');
            match non_string_json(s) {
                Some(value) => json_scalar(out, &value),
                None => flow_scalar(out, &Scalar::string(s.value.as_ref()), false),
            }
            out.push('\n');
        }
    }
}

fn json_scalar(out: &mut String, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => flow_scalar(out, &Scalar::string(s.as_str()), false),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
}

/// Runs `f` with this thread's empty scratch buffer, for text that is written once and then
/// copied to its exact size (a growing string and its final shrink cost three or four
/// allocations). The buffer is taken out while `f` runs, so a nested call gets a fresh one
/// instead of a borrow error.
pub fn with_scratch<R>(f: impl FnOnce(&mut String) -> R) -> R {
    thread_local! {
        static SCRATCH: std::cell::Cell<String> = const { std::cell::Cell::new(String::new()) };
    }
    let mut scratch = SCRATCH.take();
    scratch.clear();
    let result = f(&mut scratch);
    SCRATCH.set(scratch);
    result
}

pub(super) fn emit_into(out: &mut String, doc: &Node<'_>) {
    match doc {
        Node::Map(m) if !m.form.is_flow() && !m.entries.is_empty() => {
            // A tag on a top-level block collection goes on its own line above it.
            if let Some(tag) = m.form.tag() {
                out.push_str(tag);
                out.push('\n');
            }
            block_map(out, m, 0, false);
        }
        Node::Seq(s) if !s.form.is_flow() && !s.items.is_empty() => {
            if let Some(tag) = s.form.tag() {
                out.push_str(tag);
                out.push('\n');
            }
            block_seq(out, s, 0, false);
        }
        Node::Scalar(s) if matches!(s.style, Style::Literal | Style::Folded) => {
            if let Some(tag) = s.tag() {
                out.push_str(tag);
                out.push(' ');
            }
            block_scalar(out, s, 2);
            out.push('\n');
        }
        node => {
            inline(out, node, 0);
            out.push('\n');
        }
    }
}

fn indent(out: &mut String, n: usize) {
    // One copy per line instead of a push per space: this runs for every line written.
    const SPACES: &str = "                                                                ";
    let mut n = n;
    while n > SPACES.len() {
        out.push_str(SPACES);
        n -= SPACES.len();
    }
    out.push_str(SPACES.get(..n).unwrap_or_default());
}

/// A block collection that goes on the lines below its key or dash.
fn is_block(node: &Node<'_>) -> bool {
    match node {
        Node::Map(m) => !m.form.is_flow() && !m.entries.is_empty(),
        Node::Seq(s) => !s.form.is_flow() && !s.items.is_empty(),
        Node::Scalar(_) => false,
    }
}

/// `first_inline`: the first entry continues a line already started (after `- `).
fn block_map(out: &mut String, map: &Map<'_>, at: usize, first_inline: bool) {
    for (i, (key, value)) in map.entries.iter().enumerate() {
        if i > 0 || !first_inline {
            indent(out, at);
        }
        let key_start = out.len();
        key_text(out, key);
        // YAML caps implicit keys at 1024 characters; longer ones need the explicit `? ` form.
        if out.len() - key_start > IMPLICIT_KEY_LIMIT {
            out.insert_str(key_start, "? ");
            out.push('\n');
            indent(out, at);
        }
        out.push(':');
        value_after_indicator(out, value, at, true);
    }
}

/// Longest key written as `key:` (YAML allows 1024 characters; this leaves room for a tag).
const IMPLICIT_KEY_LIMIT: usize = 1000;

fn block_seq(out: &mut String, seq: &Seq<'_>, at: usize, first_inline: bool) {
    for (i, item) in seq.items.iter().enumerate() {
        if i > 0 || !first_inline {
            indent(out, at);
        }
        out.push('-');
        value_after_indicator(out, item, at, false);
    }
}

/// Writes what follows `key:` or `-`, including the line end. `at` is the indicator's column.
fn value_after_indicator(out: &mut String, value: &Node<'_>, at: usize, after_key: bool) {
    let tag = match value {
        Node::Map(m) => m.form.tag().map(|t| &**t),
        Node::Seq(s) => s.form.tag().map(|t| &**t),
        Node::Scalar(_) => None,
    };
    if is_block(value) {
        if let Some(tag) = tag {
            out.push(' ');
            out.push_str(tag);
        }
        let inline_first = tag.is_none() && !after_key;
        match value {
            Node::Map(m) if inline_first => {
                out.push(' ');
                block_map(out, m, at + 2, true);
            }
            Node::Seq(s) if inline_first => {
                out.push(' ');
                block_seq(out, s, at + 2, true);
            }
            Node::Map(m) => {
                out.push('\n');
                block_map(out, m, at + 2, false);
            }
            Node::Seq(s) => {
                out.push('\n');
                // Compact form under a key, as kubectl writes: the dash at the key's column.
                block_seq(out, s, if after_key { at } else { at + 2 }, false);
            }
            Node::Scalar(_) => {}
        }
        return;
    }
    if let Node::Scalar(s) = value {
        if s.style == Style::Plain && s.value.is_empty() && s.tag().is_none() {
            out.push('\n');
            return;
        }
    }
    out.push(' ');
    match value {
        Node::Scalar(s) if matches!(s.style, Style::Literal | Style::Folded) => {
            if let Some(tag) = s.tag() {
                out.push_str(tag);
                out.push(' ');
            }
            block_scalar(out, s, at + 2);
        }
        node => inline(out, node, at),
    }
    out.push('\n');
}

fn key_text(out: &mut String, key: &Key<'_>) {
    key.with_scalar(|key| scalar_key_text(out, key));
}

fn scalar_key_text(out: &mut String, key: &Scalar<'_>) {
    if let Some(tag) = key.tag() {
        out.push_str(tag);
        out.push(' ');
    }
    match key.style {
        Style::Literal | Style::Folded => double_quoted(out, &key.value),
        _ => flow_scalar(out, key, false),
    }
}

/// Writes a node on the current line: scalars, empty and flow collections.
fn inline(out: &mut String, node: &Node<'_>, at: usize) {
    match node {
        Node::Scalar(s) => {
            if let Some(tag) = s.tag() {
                out.push_str(tag);
                out.push(' ');
            }
            flow_scalar(out, s, false);
        }
        Node::Seq(s) => {
            if let Some(tag) = s.form.tag() {
                out.push_str(tag);
                out.push(' ');
            }
            out.push('[');
            for (i, item) in s.items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow_item(out, item, at);
            }
            out.push(']');
        }
        Node::Map(m) => {
            if let Some(tag) = m.form.tag() {
                out.push_str(tag);
                out.push(' ');
            }
            out.push('{');
            for (i, (k, v)) in m.entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let key_start = out.len();
                k.with_scalar(|k| {
                    if let Some(tag) = k.tag() {
                        out.push_str(tag);
                        out.push(' ');
                    }
                    flow_scalar(out, k, true);
                });
                if out.len() - key_start > IMPLICIT_KEY_LIMIT {
                    out.insert_str(key_start, "? ");
                    out.push(' ');
                }
                out.push_str(": ");
                flow_item(out, v, at);
            }
            out.push('}');
        }
    }
}

/// Inside a flow collection everything is flow, block collections included.
fn flow_item(out: &mut String, node: &Node<'_>, at: usize) {
    match node {
        // An empty item (`[&a , b]`) has no text of its own in flow context: say null.
        Node::Scalar(s) if s.style == Style::Plain && s.value.is_empty() && s.tag().is_none() => {
            out.push_str("null")
        }
        Node::Scalar(s) => {
            if let Some(tag) = s.tag() {
                out.push_str(tag);
                out.push(' ');
            }
            flow_scalar(out, s, true);
        }
        other => inline(out, other, at),
    }
}

/// Writes a scalar on one line in its own style when that is valid here, else quoted.
fn flow_scalar(out: &mut String, s: &Scalar<'_>, in_flow: bool) {
    let value: &str = &s.value;
    match s.style {
        Style::SingleQuoted | Style::DoubleQuoted if s.source().is_some() => {
            out.push_str(s.source().unwrap_or_default());
        }
        Style::Plain if plain_still_valid(value, in_flow) => out.push_str(value),
        Style::Auto if plain_is_safe(value, in_flow) => out.push_str(value),
        Style::SingleQuoted if single_quote_is_safe(value) => single_quoted(out, value),
        _ => double_quoted(out, value),
    }
}

/// A value read as plain stays plain unless it now sits where plain text means something else.
/// One pass over the bytes (it runs for every plain scalar written): no line break, no leading or
/// trailing space, no `: `, ` #` or trailing `:`, and in flow context no `,[]{}`.
fn plain_still_valid(value: &str, in_flow: bool) -> bool {
    let bytes = value.as_bytes();
    if matches!(bytes.first(), Some(b' ')) || matches!(bytes.last(), Some(b' ' | b':')) {
        return false;
    }
    // At the start of a line these are document markers.
    if value.starts_with("---") || value.starts_with("...") {
        return false;
    }
    let mut prev = 0u8;
    for &b in bytes {
        match b {
            b'\n' => return false,
            b' ' if prev == b':' => return false,
            b'#' if prev == b' ' => return false,
            b',' | b'[' | b']' | b'{' | b'}' if in_flow => return false,
            _ => {}
        }
        prev = b;
    }
    true
}

/// Writes a literal or folded block scalar whose content lines go at column `at`. Block scalars
/// have corner cases (lone CRs, whitespace-only lines, values of only line breaks), so each
/// rendering is read back once before it is used: folded from source, else literal, else
/// double-quoted. Block scalars are rare, so the extra parse is cheap.
fn block_scalar(out: &mut String, s: &Scalar<'_>, at: usize) {
    let value: &str = &s.value;
    let mut probe = String::new();
    if s.style == Style::Folded {
        if let Some(source) = s.source() {
            if reindent_folded(&mut probe, source, at) && reads_back(&probe, value, at) {
                out.push_str(&probe);
                return;
            }
        }
    }
    probe.clear();
    literal(&mut probe, value, at);
    if reads_back(&probe, value, at) {
        out.push_str(&probe);
    } else {
        double_quoted(out, value);
    }
}

/// True when `text`, written after a key whose content lines sit at column `at`, reads back as
/// `value`.
fn reads_back(text: &str, value: &str, at: usize) -> bool {
    let mut snippet = String::new();
    indent(&mut snippet, at.saturating_sub(2));
    snippet.push_str("k: ");
    snippet.push_str(text);
    snippet.push('\n');
    super::parse_stream(&snippet)
        .ok()
        .and_then(|docs| {
            docs.first()
                .and_then(|d| d.str_at(&["k"]))
                .map(|v| v == value)
        })
        .unwrap_or(false)
}

/// Re-indents a folded scalar's source lines; false when the header is one we don't re-indent.
fn reindent_folded(out: &mut String, source: &str, at: usize) -> bool {
    let (header, body) = source.split_once('\n').unwrap_or((source, ""));
    let header = header.split(" #").next().unwrap_or_default().trim_end();
    // Only `\n` line breaks are re-indented; a lone CR or NEL would end up mid-line.
    if body.contains(['\r', '\u{85}', '\u{2028}', '\u{2029}']) {
        return false;
    }
    if !header.starts_with('>')
        || header.len() > 2
        || header.contains(['+'])
        || header.chars().any(|c| c.is_ascii_digit())
    {
        return false;
    }
    let lines: Vec<&str> = body.trim_end_matches(['\n', ' ']).split('\n').collect();
    let Some(n) = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
    else {
        return false;
    };
    out.push_str(header);
    for line in &lines {
        out.push('\n');
        if line.len() > n {
            indent(out, at);
            out.push_str(line.get(n..).unwrap_or_default());
        }
    }
    // The caller ends the last line.
    true
}

/// Writes `value` as a literal block (`|`, `|-`, `|+`), or double-quoted when it cannot be one.
fn literal(out: &mut String, value: &str, at: usize) {
    if !literal_is_safe(value) {
        double_quoted(out, value);
        return;
    }
    let trailing = value.len() - value.trim_end_matches('\n').len();
    out.push('|');
    if value.starts_with([' ', '\n']) {
        out.push('2');
    }
    match trailing {
        0 => out.push('-'),
        1 => {}
        _ => out.push('+'),
    }
    let body = value.strip_suffix('\n').unwrap_or(value);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            indent(out, at);
            out.push_str(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_stream;
    use super::*;

    fn round_trip(input: &str) -> String {
        emit_stream(&parse_stream(input).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Large outputs are written in rounds of parts, emitted on several threads: the text is the
    /// same as writing each thing in turn, at every size around the part and round boundaries,
    /// and a failing sink stops the writing with its error.
    #[test]
    fn written_in_parallel_as_in_turn() {
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        for n in [
            0,
            1,
            PART,
            2 * PART,
            2 * PART + 1,
            3 * PART + 7,
            10 * PART + 3,
        ] {
            let things: Vec<usize> = (0..n).collect();
            let emit = |out: &mut String, i: &usize| out.push_str(&format!("- {i}\n"));
            let mut in_turn = String::new();
            things.iter().for_each(|i| emit(&mut in_turn, i));
            let mut written = Vec::new();
            threads
                .install(|| write_each(&mut written, &things, emit))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(String::from_utf8_lossy(&written), in_turn, "{n} things");
        }
        let mut full = [0u8; 100];
        let failed = write_each(&mut &mut full[..], &[0; 5 * PART], |out, _: &i32| {
            out.push_str("0123456789");
        });
        assert!(failed.is_err());
    }

    #[test]
    fn untouched_input_comes_back_byte_for_byte() {
        let input = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  empty:\n  list:\n  -\n  - ~\n  labels: {app: web, tier: \"back\"}\ndata:\n  a: 'true'\n  b: \"500m\"\n  c: plain\n  d: |\n    line one\n    line two\n  e: >-\n    folded\n    text\n  f: \"\\u00e9\\t\"\n  g: []\n  h: {}\nlist:\n- name: a\n  value: x\n- - nested\n- [flow, seq]\n";
        assert_eq!(round_trip(input), input);
    }

    #[test]
    fn new_strings_are_quoted_only_when_needed() {
        let mut m = Map::new();
        for s in ["yes", "debug", "1", "250m", "a: b", "multi\nline"] {
            m.insert(s, Node::string(s.to_owned()));
        }
        let text = emit_document(&Node::Map(m));
        assert_eq!(text, "\"yes\": \"yes\"\ndebug: debug\n\"1\": \"1\"\n250m: 250m\n\"a: b\": \"a: b\"\n\"multi\\nline\": \"multi\\nline\"\n");
    }

    #[test]
    fn literal_blocks_keep_their_value() {
        for value in [
            "a\nb\n",
            "a\nb",
            "a\n\n\n",
            "  indented\nx\n",
            "\nlead\n",
            "tab\there\n",
        ] {
            let mut m = Map::new();
            m.insert(
                "k",
                Node::Scalar(Scalar::read(value.into(), Style::Literal, None, None)),
            );
            let text = emit_document(&Node::Map(m));
            let back = parse_stream(&text).unwrap();
            assert_eq!(back[0].str_at(&["k"]), Some(value), "{text}");
        }
    }

    #[test]
    fn nested_block_sequences_and_maps_reindent() {
        let input = "a:\n  - x: 1\n    y: 2\n  - z\nb:\n    c: 1\n";
        assert_eq!(round_trip(input), "a:\n- x: 1\n  y: 2\n- z\nb:\n  c: 1\n");
    }
}
