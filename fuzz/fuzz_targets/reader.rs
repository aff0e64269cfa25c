//! The YAML layer: whatever it accepts, it writes back as text it reads again to the same
//! values (`to_json`), and writing that again changes nothing.
#![no_main]

use envpolicy::yaml::{emit_stream, parse_stream, Node};
use libfuzzer_sys::fuzz_target;

/// Known bug, kept out so fuzzing finds the next one: a tagged top-level block collection is
/// written in flow style, where empty items are lost or make invalid YAML (`!t [a, ]`).
/// See `fuzz_tagged_top_level_collection_*` in tests/bad_input.rs; remove once fixed.
///
/// Known bug: tags are written with their %-escapes decoded (`!x%20y b` becomes `!x y b`).
/// See `fuzz_percent_escaped_tags_*` in tests/bad_input.rs.
fn known_bug(docs: &[Node<'_>]) -> bool {
    docs.iter().any(|d| match d {
        Node::Seq(s) => s.tag.is_some() && !s.flow,
        Node::Map(m) => m.tag.is_some() && !m.flow,
        Node::Scalar(_) => false,
    }) || docs.iter().any(is_marker_like_document)
        || docs.iter().any(has_long_key)
        || docs.iter().any(has_empty_item_in_flow)
        || docs.iter().any(has_folded_trailing_space)
}

/// Known bug: an empty plain item in a flow sequence is written as nothing (`[&x , b]`).
fn has_empty_item_in_flow(node: &Node<'_>) -> bool {
    match node {
        Node::Scalar(_) => false,
        Node::Seq(s) => {
            (s.flow
                && s.items.iter().any(|i| {
                    i.as_scalar().is_some_and(|c| {
                        c.value.is_empty()
                            && c.tag.is_none()
                            && c.style == envpolicy::yaml::Style::Plain
                    })
                }))
                || s.items.iter().any(has_empty_item_in_flow)
        }
        Node::Map(m) => m.entries.iter().any(|(_, v)| has_empty_item_in_flow(v)),
    }
}

/// Known bug: keys over 1024 characters are written as implicit keys (`fuzz_long_keys_*`);
/// escapes can make a key of 171 characters more than 1024 long when written.
fn has_long_key(node: &Node<'_>) -> bool {
    match node {
        Node::Scalar(_) => false,
        Node::Seq(s) => s.items.iter().any(has_long_key),
        Node::Map(m) => m
            .entries
            .iter()
            .any(|(k, v)| k.value.chars().count() > 170 || has_long_key(v)),
    }
}

/// Known bug: trailing spaces on the last line of a folded scalar are dropped.
/// See `fuzz_folded_scalar_trailing_spaces_*` in tests/bad_input.rs.
fn has_folded_trailing_space(node: &Node<'_>) -> bool {
    use envpolicy::yaml::Style;
    // Also: a literal holding only "\n" comes back empty (`fuzz_literal_single_newline_*`).
    let bad = |s: &envpolicy::yaml::Scalar<'_>| {
        (s.style == Style::Folded && s.value.trim_end_matches('\n').ends_with([' ', '\t']))
            || (matches!(s.style, Style::Literal | Style::Folded) && s.value == "\n")
            // And an empty folded scalar at the end (`fuzz_empty_folded_scalars_at_the_end_*`).
            || (s.style == Style::Folded && s.value.is_empty())
            // And Unicode whitespace in a folded scalar (`fuzz_folded_scalar_unicode_*`).
            || (s.style == Style::Folded
                && s.value.chars().any(|c| c.is_whitespace() && !c.is_ascii_whitespace()))
    };
    match node {
        Node::Scalar(s) => bad(s),
        Node::Seq(s) => s.items.iter().any(has_folded_trailing_space),
        Node::Map(m) => m
            .entries
            .iter()
            .any(|(k, v)| bad(k) || has_folded_trailing_space(v)),
    }
}

/// Known bug: a top-level plain scalar (or top-level key) starting `---` or `...` is written
/// bare at column 0,
/// where it reads as a document marker. See `fuzz_marker_like_top_level_scalar`.
fn is_marker_like_document(node: &Node<'_>) -> bool {
    let marker = |s: &envpolicy::yaml::Scalar<'_>| {
        s.tag.is_none() && (s.value.starts_with("---") || s.value.starts_with("..."))
    };
    match node {
        Node::Scalar(s) => marker(s),
        Node::Map(m) => m.entries.iter().any(|(k, _)| marker(k)),
        Node::Seq(_) => false,
    }
}

/// Any tag at all: with a `%` in the input, it may be a %-escaped one.
fn has_tag(node: &Node<'_>) -> bool {
    match node {
        Node::Scalar(s) => s.tag.is_some(),
        Node::Seq(s) => s.tag.is_some() || s.items.iter().any(has_tag),
        Node::Map(m) => {
            m.tag.is_some() || m.entries.iter().any(|(k, v)| k.tag.is_some() || has_tag(v))
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(docs) = parse_stream(text) else {
        return;
    };
    // Known bug: folded scalars with lone CR line breaks (`fuzz_folded_scalar_with_cr_*`).
    // And quoted scalars with them (`fuzz_quoted_scalar_with_cr_*`): any lone CR.
    let cr_folded = text.replace("\r\n", "").contains('\r');
    if known_bug(&docs) || (text.contains('%') && docs.iter().any(has_tag)) || cr_folded {
        return;
    }
    let emitted = emit_stream(&docs);
    let again = match parse_stream(&emitted) {
        Ok(again) => again,
        Err(e) => {
            panic!("emitted text does not parse: {e}\n--- input\n{text}\n--- emitted\n{emitted}")
        }
    };
    assert_eq!(
        docs.len(),
        again.len(),
        "document count changed\n--- input\n{text}\n--- emitted\n{emitted}"
    );
    for (a, b) in docs.iter().zip(&again) {
        let (a, b) = (a.to_json(), b.to_json());
        assert!(
            a == b,
            "value changed: {a} became {b}\n--- input\n{text}\n--- emitted\n{emitted}"
        );
    }
    let twice = emit_stream(&again);
    assert!(
        twice == emitted,
        "emitting is not stable\n--- first\n{emitted}\n--- second\n{twice}"
    );
});
