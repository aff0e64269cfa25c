//! Edits: what a policy wants changed, as data. They become the results (field, current and
//! proposed value), and applying them touches only the nodes they name, so everything else
//! keeps its exact text.

use std::fmt;

use crate::report::ValueText;
use crate::yaml::{push_exact, remove_exact, Cow, Key, Map, Node, Scalar, Style};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// Borrowed when the key is a literal (`spec`, `containers`), as nearly all are: a run builds
    /// and clones tens of thousands of paths.
    Key(Cow<'static, str>),
    /// A list item; `name` (the item's `name` field) is only for display: `containers[name=app]`.
    Item { index: usize, name: Option<String> },
}

/// Where an edit applies, from the resource's root.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    #[must_use]
    pub fn keys(keys: &[&'static str]) -> Self {
        FieldPath(keys.iter().map(|k| Seg::Key(Cow::borrowed(*k))).collect())
    }

    #[must_use]
    pub fn key(mut self, key: impl Into<Cow<'static, str>>) -> Self {
        self.0.push(Seg::Key(key.into()));
        self
    }

    /// Appends the path as results show it (`spec.template.spec.containers[name=web].image`),
    /// without the formatting machinery: a run writes one per change, and formatting cost 5% of
    /// the policies' time (bench/README.md).
    pub fn write_text(&self, out: &mut String) {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                // Keys with dots or slashes (annotations, labels) are bracketed to stay readable.
                Seg::Key(k) if k.bytes().any(|b| matches!(b, b'.' | b'/' | b'[' | b']')) => {
                    out.push('[');
                    out.push_str(k);
                    out.push(']');
                }
                Seg::Key(k) => {
                    if i > 0 {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Item { name: Some(n), .. } => {
                    out.push_str("[name=");
                    out.push_str(n);
                    out.push(']');
                }
                Seg::Item { index, .. } => {
                    out.push('[');
                    out.push_str(&index.to_string());
                    out.push(']');
                }
            }
        }
    }

    #[must_use]
    pub fn item(mut self, index: usize, name: Option<&str>) -> Self {
        self.0.push(Seg::Item {
            index,
            name: name.map(str::to_owned),
        });
        self
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        self.write_text(&mut text);
        f.write_str(&text)
    }
}

/// Values are nodes, as they go into the tree: policies build the larger ones (terms, spread
/// constraints, selectors) as nodes directly, without a JSON object for each.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Sets the field, creating missing parent mappings. A string keeps the old one's quoting.
    Set(Node<'static>),
    /// Removes the field or list item; then removes up to `prune` parents that became empty.
    Remove { prune: usize },
    /// Appends to the list at the path, creating it when missing.
    Append(Node<'static>),
}

/// Why a change is made, for the user: most are fixed texts, which then cost no allocation.
pub type Message = std::borrow::Cow<'static, str>;

/// One change to one field of one resource, with the reason shown to the user.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    pub path: FieldPath,
    pub op: Op,
    pub message: Message,
}

impl Edit {
    #[must_use]
    pub fn set(
        path: FieldPath,
        value: impl Into<Node<'static>>,
        message: impl Into<Message>,
    ) -> Self {
        Edit {
            path,
            op: Op::Set(value.into()),
            message: message.into(),
        }
    }

    #[must_use]
    pub fn remove(path: FieldPath, prune: usize, message: impl Into<Message>) -> Self {
        Edit {
            path,
            op: Op::Remove { prune },
            message: message.into(),
        }
    }

    #[must_use]
    pub fn append(
        path: FieldPath,
        value: impl Into<Node<'static>>,
        message: impl Into<Message>,
    ) -> Self {
        Edit {
            path,
            op: Op::Append(value.into()),
            message: message.into(),
        }
    }
}

/// What applying an edit did: `None` when the field already held the value. The values are
/// kept as the text results write (see [`ValueText`]): the new value moves into the tree and the
/// old one is dropped, neither copied.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub current: Option<ValueText>,
    pub proposed: Option<ValueText>,
}

/// Why an edit could not be applied: the path crosses a value of the wrong shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Applies one edit (its path and operation) to a resource; `Ok(None)` when it changes nothing
/// (idempotence). The operation is taken by value: its value becomes the reported proposed one.
pub fn apply(root: &mut Node<'_>, path: &FieldPath, op: Op) -> Result<Option<Applied>, ApplyError> {
    let fail = |message: &str| ApplyError {
        path: path.to_string(),
        message: message.to_owned(),
    };
    let Some((last, parents)) = path.0.split_last() else {
        return Err(fail("empty path"));
    };
    match op {
        Op::Set(new) => {
            let parent = descend(root, parents, true)
                .ok_or_else(|| fail("a parent is not a mapping or list"))?;
            let slot = match (parent, last) {
                (Node::Map(m), Seg::Key(k)) => {
                    if m.get(k).is_none() {
                        let proposed = ValueText::of(&new);
                        push_exact(&mut m.entries, (Key::new(k.clone()), new));
                        return Ok(Some(Applied {
                            current: None,
                            proposed: Some(proposed),
                        }));
                    }
                    m.get_mut(k)
                }
                (Node::Seq(s), Seg::Item { index, .. }) => s.items.get_mut(*index),
                _ => None,
            };
            let slot = slot.ok_or_else(|| fail("no such field"))?;
            if slot.same_value(&new) {
                return Ok(None);
            }
            let proposed = ValueText::of(&new);
            let styled = keep_string_style(slot, new);
            let current = ValueText::of(&std::mem::replace(slot, styled));
            Ok(Some(Applied {
                current: Some(current),
                proposed: Some(proposed),
            }))
        }
        Op::Append(value) => {
            let parent =
                descend(root, parents, true).ok_or_else(|| fail("a parent is not a mapping"))?;
            let Seg::Key(k) = last else {
                return Err(fail("append needs a field name"));
            };
            let Node::Map(m) = parent else {
                return Err(fail("parent is not a mapping"));
            };
            if m.get(k).is_none() {
                let empty = Node::seq(std::iter::empty());
                push_exact(&mut m.entries, (Key::new(k.clone()), empty));
            }
            let Some(Node::Seq(seq)) = m.get_mut(k) else {
                return Err(fail("not a list"));
            };
            // A list written `[]` in flow style grows as a block list.
            if seq.items.is_empty() {
                seq.form.set_block();
            }
            let proposed = ValueText::of(&value);
            push_exact(&mut seq.items, value);
            Ok(Some(Applied {
                current: None,
                proposed: Some(proposed),
            }))
        }
        Op::Remove { prune } => {
            let Some(parent) = descend(root, parents, false) else {
                return Ok(None);
            };
            let removed = match (parent, last) {
                (Node::Map(m), Seg::Key(k)) => m.remove(k),
                (Node::Seq(s), Seg::Item { index, .. }) => remove_exact(&mut s.items, *index),
                _ => None,
            };
            let Some(removed) = removed else {
                return Ok(None);
            };
            let current = ValueText::of(&removed);
            prune_empty(root, parents, prune);
            Ok(Some(Applied {
                current: Some(current),
                proposed: None,
            }))
        }
    }
}

/// A changed string keeps the quoting the user chose (`"500m"` → `"250m"`) when still valid.
fn keep_string_style<'a>(old: &Node<'a>, mut new: Node<'a>) -> Node<'a> {
    if let (Node::Scalar(o), Node::Scalar(n)) = (old, &mut new) {
        if n.style == Style::Auto && matches!(o.style, Style::SingleQuoted | Style::DoubleQuoted) {
            n.style = o.style;
        }
    }
    new
}

fn descend<'n, 'a>(
    mut node: &'n mut Node<'a>,
    path: &[Seg],
    create: bool,
) -> Option<&'n mut Node<'a>> {
    for seg in path {
        node = match (node, seg) {
            (Node::Map(m), Seg::Key(k)) => {
                let missing = m
                    .get(k)
                    .is_none_or(|n| n.as_scalar().is_some_and(Scalar::is_null));
                if missing {
                    if !create {
                        return None;
                    }
                    m.set(k.clone(), Node::Map(Map::new()));
                }
                m.get_mut(k)?
            }
            (Node::Seq(s), Seg::Item { index, .. }) => s.items.get_mut(*index)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Removes up to `levels` trailing parents of `path` that are now empty collections.
fn prune_empty(root: &mut Node<'_>, path: &[Seg], levels: usize) {
    let mut path = path;
    for _ in 0..levels {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let Some(parent) = descend(root, parents, false) else {
            return;
        };
        let empty = |n: &Node<'_>| match n {
            Node::Map(m) => m.entries.is_empty(),
            Node::Seq(s) => s.items.is_empty(),
            Node::Scalar(_) => false,
        };
        match (parent, last) {
            (Node::Map(m), Seg::Key(k)) if m.get(k).is_some_and(empty) => {
                m.remove(k);
            }
            _ => return,
        }
        path = parents;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{emit_document, parse_stream};
    use serde_json::json;

    fn apply(root: &mut Node<'_>, edit: &Edit) -> Result<Option<Applied>, ApplyError> {
        super::apply(root, &edit.path, edit.op.clone())
    }

    fn doc(text: &str) -> Node<'_> {
        parse_stream(text).unwrap().remove(0)
    }

    #[test]
    fn set_creates_parents_and_reports_current_value() {
        let mut d = doc("spec:\n  replicas: 1\n");
        let applied = apply(
            &mut d,
            &Edit::set(FieldPath::keys(&["spec", "replicas"]), json!(3), ""),
        )
        .unwrap();
        assert_eq!(
            applied,
            Some(Applied {
                current: Some(ValueText::of(&json!(1).into())),
                proposed: Some(ValueText::of(&json!(3).into()))
            })
        );
        apply(
            &mut d,
            &Edit::set(FieldPath::keys(&["spec", "a", "b"]), json!("x"), ""),
        )
        .unwrap();
        assert_eq!(emit_document(&d), "spec:\n  replicas: 3\n  a:\n    b: x\n");
        assert_eq!(
            apply(
                &mut d,
                &Edit::set(FieldPath::keys(&["spec", "replicas"]), json!(3), "")
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn changed_strings_keep_their_quotes() {
        let mut d = doc("cpu: \"500m\"\nmem: '1Gi'\nlevel: debug\n");
        for (k, v) in [("cpu", "250m"), ("mem", "2Gi"), ("level", "yes")] {
            apply(&mut d, &Edit::set(FieldPath::keys(&[k]), json!(v), "")).unwrap();
        }
        assert_eq!(
            emit_document(&d),
            "cpu: \"250m\"\nmem: '2Gi'\nlevel: \"yes\"\n"
        );
    }

    #[test]
    fn remove_prunes_emptied_parents_only() {
        let mut d = doc("a:\n  keep: 1\n  b:\n    c:\n    - x\n");
        let path = FieldPath::keys(&["a", "b", "c"]).item(0, None);
        apply(&mut d, &Edit::remove(path, 3, "")).unwrap();
        assert_eq!(emit_document(&d), "a:\n  keep: 1\n");
    }

    #[test]
    fn wrong_shapes_are_errors_not_panics() {
        let mut d = doc("spec: [1]\nname: x\n");
        assert!(apply(
            &mut d,
            &Edit::set(FieldPath::keys(&["spec", "x"]), json!(1), "")
        )
        .is_err());
        assert!(apply(
            &mut d,
            &Edit::append(FieldPath::keys(&["name"]), json!(1), "")
        )
        .is_err());
        assert!(apply(
            &mut d,
            &Edit::set(FieldPath::keys(&["name", "deeper"]), json!(1), "")
        )
        .is_err());
    }
}
