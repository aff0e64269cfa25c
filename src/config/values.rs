//! Scalar types of the spec whose YAML form needs a hand-written (de)serializer.
//!
//! - [`IntOrPercent`]: Kubernetes' int-or-string for `minAvailable`, `maxSurge` and friends,
//!   restricted to what those fields accept: a whole number ≥ 0 or a `"N%"` string.
//! - [`KubernetesVersion`]: `"MAJOR.MINOR"`. It must be a string because YAML reads an
//!   unquoted `1.30` as the number 1.3, silently a different version; numbers are refused
//!   with a message saying to quote them.
//!
//! Both report problems as plain messages through `serde::de::Error::custom`, so the caller's
//! `serde_path_to_error` wrapper prefixes them with the field path (`spec.rollout.maxSurge`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A whole number or a percentage, as Kubernetes' `IntOrString` fields take them
/// (`maxUnavailable: 1`, `maxSurge: "25%"`).
///
/// Written as a YAML number (0 or more) or a string `"N%"` with N in 0..=100. A quoted number
/// such as `"1"` is refused, like the API server does for these fields, so the configuration
/// never says something Kubernetes would read differently. Floats (`1.5`) are refused too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntOrPercent {
    /// A count of pods, at least 0.
    Int(i32),
    /// A percentage of the desired pods, 0..=100.
    Percent(i32),
}

impl IntOrPercent {
    /// The value as it goes into a Kubernetes object: a JSON number, or a `"25%"` string.
    pub fn to_json(&self) -> Value {
        match self {
            IntOrPercent::Int(count) => Value::from(*count),
            IntOrPercent::Percent(_) => Value::String(self.to_string()),
        }
    }

    /// Whether the value always resolves to 0 pods (`0` or `"0%"`): what Kubernetes checks
    /// when it refuses `maxSurge` and `maxUnavailable` both being zero.
    pub fn is_zero(&self) -> bool {
        matches!(self, IntOrPercent::Int(0) | IntOrPercent::Percent(0))
    }

    fn from_number(number: i64) -> Result<IntOrPercent, String> {
        if number < 0 {
            return Err(format!("must be at least 0, got {number}"));
        }
        i32::try_from(number)
            .map(IntOrPercent::Int)
            .map_err(|_| format!("{number} is too large"))
    }

    fn parse(text: &str) -> Result<IntOrPercent, String> {
        let expected =
            || format!("expected a whole number or a percentage such as \"25%\", got {text:?}");
        let Some(digits) = text.strip_suffix('%') else {
            if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "{text:?} is a string; write {text} without quotes, or a percentage such as \"25%\""
                ));
            }
            return Err(expected());
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(expected());
        }
        match digits.parse::<i32>() {
            Ok(percent) if percent <= 100 => Ok(IntOrPercent::Percent(percent)),
            _ => Err(format!(
                "a percentage must be between 0% and 100%, got {text:?}"
            )),
        }
    }
}

impl fmt::Display for IntOrPercent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrPercent::Int(count) => write!(f, "{count}"),
            IntOrPercent::Percent(percent) => write!(f, "{percent}%"),
        }
    }
}

impl Serialize for IntOrPercent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            IntOrPercent::Int(count) => serializer.serialize_i32(*count),
            IntOrPercent::Percent(_) => serializer.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for IntOrPercent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IntOrPercentVisitor;
        impl serde::de::Visitor<'_> for IntOrPercentVisitor {
            type Value = IntOrPercent;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number or a percentage such as \"25%\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<IntOrPercent, E> {
                IntOrPercent::from_number(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<IntOrPercent, E> {
                match i64::try_from(v) {
                    Ok(v) => IntOrPercent::from_number(v).map_err(E::custom),
                    Err(_) => Err(E::custom(format!("{v} is too large"))),
                }
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<IntOrPercent, E> {
                Err(E::custom(format!(
                    "expected a whole number or a percentage such as \"25%\", got {v}"
                )))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<IntOrPercent, E> {
                IntOrPercent::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(IntOrPercentVisitor)
    }
}

/// A Kubernetes minor release, `"MAJOR.MINOR"` (`"1.30"`): which API fields the cluster has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubernetesVersion {
    pub major: u32,
    pub minor: u32,
}

/// `kubernetesVersion` when the spec leaves it out.
pub const DEFAULT_KUBERNETES_VERSION: KubernetesVersion = KubernetesVersion {
    major: 1,
    minor: 30,
};

impl KubernetesVersion {
    fn parse(text: &str) -> Result<KubernetesVersion, String> {
        let number = |part: &str| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse::<u32>().ok()
        };
        let parts: Vec<&str> = text.split('.').collect();
        if let [major, minor] = parts.as_slice() {
            if let (Some(major), Some(minor)) = (number(major), number(minor)) {
                if major == 0 {
                    return Err(format!("major version must be at least 1, got {text:?}"));
                }
                return Ok(KubernetesVersion { major, minor });
            }
        }
        let mut message =
            format!("expected a \"MAJOR.MINOR\" version such as \"1.30\", got {text:?}");
        if let [major, minor, _patch] = parts.as_slice() {
            if number(major).is_some() && number(minor).is_some() {
                message.push_str(&format!(
                    "; leave out the patch version: \"{major}.{minor}\""
                ));
            }
        }
        Err(message)
    }

    /// The refusal of a YAML number, with the quoted form the user most likely meant. A
    /// one-digit fraction is most likely a lost trailing zero (`1.30` read as 1.3).
    fn number_error(shown: &str) -> String {
        match shown.split_once('.') {
            Some((_, fraction)) if fraction.len() == 1 => format!(
                "{shown} is a number; quote it: \"{shown}0\" (unquoted, YAML reads 1.30 as the number 1.3; \
                 write \"{shown}\" if you meant that)"
            ),
            Some(_) => format!("{shown} is a number; quote it: \"{shown}\""),
            None => format!(
                "{shown} is a number; write the version as a quoted \"MAJOR.MINOR\" string such as \"1.30\""
            ),
        }
    }
}

impl Default for KubernetesVersion {
    fn default() -> Self {
        DEFAULT_KUBERNETES_VERSION
    }
}

impl fmt::Display for KubernetesVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl Serialize for KubernetesVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KubernetesVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct VersionVisitor;
        impl serde::de::Visitor<'_> for VersionVisitor {
            type Value = KubernetesVersion;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a quoted \"MAJOR.MINOR\" version such as \"1.30\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<KubernetesVersion, E> {
                KubernetesVersion::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<KubernetesVersion, E> {
                Err(E::custom(KubernetesVersion::number_error(&v.to_string())))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<KubernetesVersion, E> {
                Err(E::custom(KubernetesVersion::number_error(&v.to_string())))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<KubernetesVersion, E> {
                // f64's Display is the shortest form that reads back: 1.30 → "1.3".
                Err(E::custom(KubernetesVersion::number_error(&v.to_string())))
            }
        }
        deserializer.deserialize_any(VersionVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn int_or_percent(value: Value) -> Result<IntOrPercent, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    fn version(value: Value) -> Result<KubernetesVersion, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    #[test]
    fn int_or_percent_reads_numbers_and_percentages() {
        assert_eq!(int_or_percent(json!(0)), Ok(IntOrPercent::Int(0)));
        assert_eq!(int_or_percent(json!(3)), Ok(IntOrPercent::Int(3)));
        assert_eq!(int_or_percent(json!("0%")), Ok(IntOrPercent::Percent(0)));
        assert_eq!(int_or_percent(json!("25%")), Ok(IntOrPercent::Percent(25)));
        assert_eq!(
            int_or_percent(json!("100%")),
            Ok(IntOrPercent::Percent(100))
        );
    }

    #[test]
    fn int_or_percent_rejects_everything_else() {
        let expected = |got: &str| {
            Err(format!(
                "expected a whole number or a percentage such as \"25%\", got {got}"
            ))
        };
        assert_eq!(int_or_percent(json!("abc")), expected("\"abc\""));
        assert_eq!(int_or_percent(json!("-1")), expected("\"-1\""));
        assert_eq!(int_or_percent(json!("%")), expected("\"%\""));
        assert_eq!(int_or_percent(json!("2.5%")), expected("\"2.5%\""));
        assert_eq!(int_or_percent(json!(" 5%")), expected("\" 5%\""));
        assert_eq!(int_or_percent(json!(1.5)), expected("1.5"));
        assert_eq!(
            int_or_percent(json!(-1)),
            Err("must be at least 0, got -1".to_string())
        );
        assert_eq!(
            int_or_percent(json!("101%")),
            Err("a percentage must be between 0% and 100%, got \"101%\"".to_string())
        );
        assert_eq!(
            int_or_percent(json!("99999999999%")),
            Err("a percentage must be between 0% and 100%, got \"99999999999%\"".to_string())
        );
        assert_eq!(
            int_or_percent(json!(3_000_000_000u64)),
            Err("3000000000 is too large".to_string())
        );
        let err = int_or_percent(json!("1"));
        assert!(
            err.as_ref()
                .is_err_and(|e| e.starts_with("\"1\" is a string; write 1 without quotes")),
            "{err:?}"
        );
        let err = int_or_percent(json!(true));
        assert!(
            err.as_ref().is_err_and(|e| e
                .contains("invalid type: boolean `true`, expected a whole number or a percentage")),
            "{err:?}"
        );
    }

    #[test]
    fn int_or_percent_displays_and_serializes_as_kubernetes_does() {
        assert_eq!(IntOrPercent::Int(1).to_string(), "1");
        assert_eq!(IntOrPercent::Percent(25).to_string(), "25%");
        assert_eq!(IntOrPercent::Int(1).to_json(), json!(1));
        assert_eq!(IntOrPercent::Percent(25).to_json(), json!("25%"));
        for value in [IntOrPercent::Int(0), IntOrPercent::Percent(50)] {
            let written = serde_json::to_value(value).unwrap_or(Value::Null);
            assert_eq!(written, value.to_json());
            assert_eq!(int_or_percent(written), Ok(value));
        }
        assert!(IntOrPercent::Int(0).is_zero() && IntOrPercent::Percent(0).is_zero());
        assert!(!IntOrPercent::Int(1).is_zero() && !IntOrPercent::Percent(1).is_zero());
    }

    #[test]
    fn kubernetes_version_reads_quoted_major_minor() {
        assert_eq!(
            version(json!("1.30")),
            Ok(KubernetesVersion {
                major: 1,
                minor: 30
            })
        );
        assert_eq!(
            version(json!("1.9")).map(|v| v.to_string()),
            Ok("1.9".to_string())
        );
        assert_eq!(KubernetesVersion::default().to_string(), "1.30");
        assert_eq!(
            serde_json::to_value(DEFAULT_KUBERNETES_VERSION).ok(),
            Some(json!("1.30"))
        );
        assert!(KubernetesVersion { major: 1, minor: 9 } < DEFAULT_KUBERNETES_VERSION);
    }

    #[test]
    fn kubernetes_version_refuses_numbers_with_the_quoted_form() {
        let err = version(json!(1.3));
        assert!(
            err.as_ref()
                .is_err_and(|e| e.starts_with("1.3 is a number; quote it: \"1.30\"")),
            "{err:?}"
        );
        assert_eq!(
            version(json!(1.29)),
            Err("1.29 is a number; quote it: \"1.29\"".to_string())
        );
        let err = version(json!(1));
        assert!(
            err.as_ref().is_err_and(|e| e.starts_with("1 is a number;")),
            "{err:?}"
        );
    }

    #[test]
    fn kubernetes_version_refuses_other_strings() {
        for bad in ["v1.30", "1", "1.", ".30", "1.x", "", "1.30 "] {
            let err = version(json!(bad));
            assert_eq!(
                err,
                Err(format!(
                    "expected a \"MAJOR.MINOR\" version such as \"1.30\", got {bad:?}"
                )),
                "{bad}"
            );
        }
        assert_eq!(
            version(json!("1.30.2")),
            Err(
                "expected a \"MAJOR.MINOR\" version such as \"1.30\", got \"1.30.2\"; \
                 leave out the patch version: \"1.30\""
                    .to_string()
            )
        );
        assert_eq!(
            version(json!("0.9")),
            Err("major version must be at least 1, got \"0.9\"".to_string())
        );
    }
}
