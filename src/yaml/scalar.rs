//! What a plain scalar means to kubectl, and how to write a string so that every reader
//! (go-yaml v2 in kubectl, go-yaml v3 in kustomize/kpt, YAML 1.2) reads the same string back.
//!
//! Hand-written because no maintained Rust YAML crate resolves YAML 1.1 the way kubectl does
//! and also quotes by it (see yaml-fidelity.md): the serde_yaml family writes `yes` bare.

use super::Scalar;

/// The type a plain scalar resolves to, as kubectl (go-yaml v2) reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str,
}

/// Resolves a plain scalar: YAML 1.1 words (`yes`, `off`), legacy octal (`0644` is 420),
/// underscores in numbers (`1_000`), hex, binary, floats.
#[must_use]
pub fn resolve_plain(s: &str) -> Resolved {
    // Words and numbers aside, everything is a string: the longest word is five bytes
    // (`false`, `+.inf`), and numbers start with a digit, a sign or a dot. Most scalars a run
    // writes are names, so this answers them before the word list.
    let number_like = |b: &u8| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.');
    if s.len() > 5 && !s.as_bytes().first().is_some_and(number_like) {
        return Resolved::Str;
    }
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Resolved::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Resolved::Bool(false)
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        _ => {}
    }
    let Some(first) = s.chars().next() else {
        return Resolved::Null;
    };
    if !(first.is_ascii_digit() || matches!(first, '+' | '-' | '.')) {
        return Resolved::Str;
    }
    // Underscores are dropped (`1_000`); most numbers have none, so no copy then.
    let digits: std::borrow::Cow<'_, str> = if s.contains('_') {
        s.chars().filter(|c| *c != '_').collect::<String>().into()
    } else {
        s.into()
    };
    let digits: &str = &digits;
    if let Some(i) = parse_int(digits) {
        return Resolved::Int(i);
    }
    let float_chars = digits
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    if float_chars && digits.chars().any(|c| c.is_ascii_digit()) {
        if let Ok(f) = digits.parse::<f64>() {
            return Resolved::Float(f);
        }
    }
    Resolved::Str
}

fn parse_int(s: &str) -> Option<i64> {
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, s.get(1..)?),
        b'+' => (false, s.get(1..)?),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    // Go's ParseInt (kubectl) takes either case of the prefix.
    let prefixed = |lower: &str, upper: &str| {
        body.strip_prefix(lower)
            .or_else(|| body.strip_prefix(upper))
    };
    let (radix, digits) = if let Some(hex) = prefixed("0x", "0X") {
        (16, hex)
    } else if let Some(oct) = prefixed("0o", "0O") {
        (8, oct)
    } else if let Some(bin) = prefixed("0b", "0B") {
        (2, bin)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, body.get(1..)?)
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// The JSON value of a scalar, as kubectl reads it. Non-finite floats stay text.
pub(super) fn to_json(s: &Scalar<'_>) -> serde_json::Value {
    non_string_json(s).unwrap_or_else(|| serde_json::Value::String(s.value.to_string()))
}

/// The scalar's JSON value unless it is a string (then its text is the value).
pub(super) fn non_string_json(s: &Scalar<'_>) -> Option<serde_json::Value> {
    match s.tag() {
        Some("!!int" | "!!float" | "!!bool" | "!!null") => resolved_json(resolve_plain(&s.value)),
        Some(_) => None,
        None if s.style != super::Style::Plain => None,
        None => resolved_json(resolve_plain(&s.value)),
    }
}

fn resolved_json(r: Resolved) -> Option<serde_json::Value> {
    use serde_json::Value;
    match r {
        Resolved::Null => Some(Value::Null),
        Resolved::Bool(b) => Some(Value::Bool(b)),
        Resolved::Int(i) => Some(Value::from(i)),
        Resolved::Float(f) => serde_json::Number::from_f64(f).map(Value::Number),
        Resolved::Str => None,
    }
}

const NEVER: u8 = 0;
const ALWAYS: u8 = 1;
const SPACE: u8 = 2;
const COMMA: u8 = 3;
const COLON: u8 = 4;

/// What each byte means for [`plain_is_safe`]: one table look-up per byte (it runs for every new
/// string written, long messages included).
static PLAIN_CLASS: [u8; 256] = {
    let mut t = [NEVER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = match c {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'/' => ALWAYS,
            b'(' | b')' | b'\'' | b'+' | b'=' | b'@' | b'%' | b'!' | b'&' | b'*' | b'?' | b';'
            | b'~' | b'$' | b'^' => ALWAYS,
            b' ' => SPACE,
            b',' => COMMA,
            b':' => COLON,
            _ => NEVER,
        };
        b += 1;
    }
    t
};

/// True when `s` may be written without quotes and still be read as this string by
/// go-yaml v2, go-yaml v3, PyYAML and YAML 1.2 readers. Deliberately conservative:
/// anything number-, date- or version-like is quoted.
#[must_use]
pub fn plain_is_safe(s: &str, in_flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphanumeric() || first == '/') {
        return false;
    }
    let bytes = s.as_bytes();
    // Names, paths and versions are made of always-safe bytes only: a tight scan clears them,
    // and the checks below start at the first byte that needs one.
    let first_special = bytes
        .iter()
        .position(|&b| PLAIN_CLASS[usize::from(b)] != ALWAYS)
        .unwrap_or(bytes.len());
    for (i, &b) in bytes.iter().enumerate().skip(first_special) {
        let ok = match PLAIN_CLASS[usize::from(b)] {
            ALWAYS => true,
            NEVER => false,
            // Prose (messages, descriptions): inside only, never before `#` or at the end.
            SPACE => bytes.get(i + 1).is_some_and(|&n| n != b'#' && n != b' '),
            COMMA => !in_flow,
            // `host:8080`, `a:b`: safe in block context unless `: ` or a trailing colon.
            _ => !in_flow && bytes.get(i + 1).is_some_and(|&n| n != b' '),
        };
        if !ok {
            return false;
        }
    }
    if resolve_plain(s) != Resolved::Str {
        return false;
    }
    // Base-60 numbers, versions and dates read differently across YAML 1.1 readers.
    let numeric_like = first.is_ascii_digit()
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '_' | ':' | '+' | '-' | 'e' | 'E'));
    // `2001-12-14T21:59:43Z` and friends: go-yaml v3 (kustomize) turns timestamps into another form.
    let b = s.as_bytes();
    let timestamp_like =
        b.len() >= 5 && b.iter().take(4).all(u8::is_ascii_digit) && b.get(4) == Some(&b'-');
    !numeric_like && !timestamp_like
}

/// Printable in YAML: anything else must be escaped inside double quotes.
fn is_printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7E}' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && c != '\u{FEFF}'
}

/// True when the value can be written single-quoted on one line.
pub(super) fn single_quote_is_safe(s: &str) -> bool {
    s.chars().all(|c| {
        is_printable(c) && !matches!(c, '\n' | '\r' | '\t' | '\u{85}' | '\u{2028}' | '\u{2029}')
    }) && !s.starts_with(' ')
        && !s.ends_with(' ')
}

/// Writes `s` single-quoted (`'` doubled).
pub(super) fn single_quoted(out: &mut String, s: &str) {
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
}

/// Writes `s` double-quoted on one line, escaping what YAML does not allow raw. Runs of plain
/// ASCII are copied whole: every result's message is written this way.
pub(super) fn double_quoted(out: &mut String, s: &str) {
    out.push('"');
    let mut rest = s;
    while let Some(at) = rest.bytes().position(escaped_in_double_quotes) {
        // `at` is an ASCII byte or the first byte of a character: a character boundary.
        let Some((plain, tail)) = rest.split_at_checked(at) else {
            break;
        };
        out.push_str(plain);
        let mut chars = tail.chars();
        let Some(c) = chars.next() else {
            break;
        };
        escaped(out, c);
        rest = chars.as_str();
    }
    out.push_str(rest);
    out.push('"');
}

/// True for a byte [`double_quoted`] does not copy as is: `"`, `\\`, and all but printable ASCII
/// (a non-ASCII character may be copied or escaped, so it counts here).
pub(super) fn escaped_in_double_quotes(b: u8) -> bool {
    !(b' '..=b'~').contains(&b) || b == b'"' || b == b'\\'
}

/// One character inside double quotes: as is when printable, else its escape.
fn escaped(out: &mut String, c: char) {
    use std::fmt::Write;
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        '\0' => out.push_str("\\0"),
        '\u{85}' => out.push_str("\\N"),
        '\u{2028}' => out.push_str("\\L"),
        '\u{2029}' => out.push_str("\\P"),
        c if is_printable(c) => out.push(c),
        c if (c as u32) <= 0xFF => {
            let _ = write!(out, "\\x{:02X}", c as u32);
        }
        c if (c as u32) <= 0xFFFF => {
            let _ = write!(out, "\\u{:04X}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08X}", c as u32);
        }
    }
}

/// True when every character may appear raw in a literal block scalar.
pub(super) fn literal_is_safe(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| {
            c == '\n'
                || (is_printable(c) && !matches!(c, '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_kubectl() {
        assert_eq!(resolve_plain("0644"), Resolved::Int(420));
        assert_eq!(resolve_plain("1_000"), Resolved::Int(1000));
        assert_eq!(resolve_plain("0x1F"), Resolved::Int(31));
        assert_eq!(resolve_plain("1e3"), Resolved::Float(1000.0));
        assert_eq!(resolve_plain("yes"), Resolved::Bool(true));
        assert_eq!(resolve_plain("Off"), Resolved::Bool(false));
        assert_eq!(resolve_plain("~"), Resolved::Null);
        assert_eq!(resolve_plain("500m"), Resolved::Str);
        assert_eq!(resolve_plain("1.2.3"), Resolved::Str);
        assert_eq!(resolve_plain("nan"), Resolved::Str);
        assert_eq!(resolve_plain("-"), Resolved::Str);
        assert_eq!(resolve_plain("99999999999999999999"), Resolved::Float(1e20));
    }

    #[test]
    fn quotes_every_ambiguous_word() {
        for s in [
            "yes",
            "y",
            "N",
            "on",
            "OFF",
            "true",
            "null",
            "~",
            "",
            "0777",
            "0x1F",
            "1e3",
            "1_000",
            "12:30",
            "2001-12-14",
            "1.2.3",
            "=",
            "<<",
            "-",
            "a: b",
            "a #b",
            " x",
            "x ",
        ] {
            assert!(!plain_is_safe(s, false), "{s:?} must be quoted");
        }
        for s in [
            "debug",
            "500m",
            "1Gi",
            "kubernetes.io/hostname",
            "web-1",
            "http://x:8080/y",
            "tRUE",
        ] {
            assert!(plain_is_safe(s, false), "{s:?} may stay plain");
        }
        assert!(!plain_is_safe("a:b", true));
    }

    #[test]
    fn escapes_non_printables() {
        let mut out = String::new();
        double_quoted(&mut out, "a\"\\\n\u{7f}\u{feff}\u{85}é");
        assert_eq!(out, "\"a\\\"\\\\\\n\\x7F\\uFEFF\\Né\"");
    }
}
