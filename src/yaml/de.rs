//! Typed, read-only views of a [`Node`] through serde (e.g. k8s-openapi's `LabelSelector`),
//! without building an intermediate JSON tree. Errors carry the field path.

use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::scalar::{resolve_plain, Resolved};
use super::{Key, Node, Scalar, Style};

/// A typed view failed: `path` says where (`spec.template.spec.containers[0].env`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() || self.path == "." {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Reads `node` as `T`; the error names the failing field's path. Strings are read leniently
/// (`value: 1` is the string "1"): views must not reject what the pipeline passes through.
pub fn from_node<T: DeserializeOwned>(node: &Node<'_>) -> Result<T, DeError> {
    let de = NodeDe {
        node,
        strict: false,
    };
    // Path tracking costs as much as the read itself: pay for it only when there is an error.
    if let Ok(value) = T::deserialize(de) {
        return Ok(value);
    }
    serde_path_to_error::deserialize(de).map_err(|e| DeError {
        path: e.path().to_string(),
        message: e.inner().0.clone(),
    })
}

/// Reads `node` as `T` strictly, as configuration must be: a number is not a string, and a list
/// is not an object (serde would otherwise fill a struct from a list by position).
pub fn from_node_strict<T: DeserializeOwned>(
    node: &Node<'_>,
) -> Result<T, serde_path_to_error::Error<Error>> {
    serde_path_to_error::deserialize(NodeDe { node, strict: true })
}

/// Why a node did not fit the type asked for.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

#[derive(Clone, Copy)]
struct NodeDe<'n, 'a> {
    node: &'n Node<'a>,
    /// Configuration: no lenient strings.
    strict: bool,
}

impl<'n, 'a> NodeDe<'n, 'a> {
    fn at(self, node: &'n Node<'a>) -> Self {
        NodeDe {
            node,
            strict: self.strict,
        }
    }
}

fn resolved(s: &Scalar<'_>) -> Resolved {
    match (s.style, s.tag()) {
        (Style::Plain, None | Some("!!int" | "!!float" | "!!bool" | "!!null")) => {
            resolve_plain(&s.value)
        }
        _ => Resolved::Str,
    }
}

/// `resolved(s) == Resolved::Null` without resolving numbers: asked of every optional field.
fn is_null(s: &Scalar<'_>) -> bool {
    s.style == Style::Plain
        && matches!(s.value.as_ref(), "" | "~" | "null" | "Null" | "NULL")
        && resolved(s) == Resolved::Null
}

impl<'de> de::Deserializer<'de> for NodeDe<'_, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node {
            Node::Scalar(s) => match resolved(s) {
                Resolved::Null => visitor.visit_unit(),
                Resolved::Bool(b) => visitor.visit_bool(b),
                Resolved::Int(i) => visitor.visit_i64(i),
                Resolved::Float(f) => visitor.visit_f64(f),
                Resolved::Str => visitor.visit_str(&s.value),
            },
            Node::Seq(seq) => visitor.visit_seq(SeqDe {
                items: seq.items.iter(),
                de: self,
            }),
            Node::Map(map) => visitor.visit_map(MapDe {
                entries: map.entries.iter(),
                value: None,
                de: self,
            }),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node {
            Node::Scalar(s) if !self.strict && !is_null(s) => visitor.visit_str(&s.value),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.node {
            Node::Map(_) => self.deserialize_any(visitor),
            Node::Seq(_) => Err(Error(format!(
                "invalid type: sequence, expected a mapping ({name})"
            ))),
            Node::Scalar(_) => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node {
            Node::Scalar(s) if is_null(s) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.node {
            Node::Scalar(s) => visitor.visit_enum(s.value.as_ref().into_deserializer()),
            _ => Err(Error("expected a string for an enum".into())),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

struct SeqDe<'n, 'a> {
    items: std::slice::Iter<'n, Node<'a>>,
    de: NodeDe<'n, 'a>,
}

impl<'de> SeqAccess<'de> for SeqDe<'_, '_> {
    type Error = Error;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.items
            .next()
            .map(|n| seed.deserialize(self.de.at(n)))
            .transpose()
    }

    /// Exact, so that a list is read into a vector of its size rather than grown step by step.
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDe<'n, 'a> {
    entries: std::slice::Iter<'n, (Key<'a>, Node<'a>)>,
    value: Option<&'n Node<'a>>,
    de: NodeDe<'n, 'a>,
}

impl<'de> MapAccess<'de> for MapDe<'_, '_> {
    type Error = Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            Some((k, v)) => {
                self.value = Some(v);
                let key: &str = k.as_str();
                seed.deserialize(key.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(self.de.at(v)),
            None => Err(Error("value without a key".into())),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_stream;
    use super::*;
    use k8s_openapi::api::core::v1::Container;

    #[test]
    fn reads_k8s_types_and_names_the_failing_path() {
        let docs = parse_stream(
            "name: app\nenv:\n- name: A\n  value: 1\nresources:\n  limits: {cpu: 1}\n",
        )
        .unwrap();
        let c: Container = from_node(&docs[0]).unwrap();
        assert_eq!(c.env.unwrap()[0].value.as_deref(), Some("1"));
        assert_eq!(c.resources.unwrap().limits.unwrap()["cpu"].0, "1");
        let docs = parse_stream("name: app\nenv: notalist\n").unwrap();
        let err = from_node::<Container>(&docs[0]).unwrap_err();
        assert_eq!(err.path, "env");
    }
}
