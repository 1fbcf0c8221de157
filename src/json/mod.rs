//! JSON plumbing shared by every input surface: RFC 6901 pointers, input limits, and parsing
//! that reports line and column.
//!
//! # Input safety
//!
//! Every JSON document stowplan reads goes through [`parse`], which enforces the limits below
//! before any model code sees the value. Each limit is checked in time linear in the input.
//!
//! | limit | value | error |
//! |---|---|---|
//! | [`MAX_JSON_BYTES`] | 16 MiB | [`JsonError`] with `line` 0 |
//! | [`MAX_JSON_DEPTH`] | 127 nested arrays/objects | [`JsonError`] at the offending position |
//!
//! The depth limit is serde_json's own recursion limit; a deeper document is an error, never a
//! stack overflow.

mod pointer;

pub use pointer::Pointer;

use serde_json::Value;

/// The largest JSON document [`parse`] accepts, in bytes.
///
/// ECS caps a whole RegisterTaskDefinition request at 64 KiB; this limit is deliberately larger
/// so that scenario files and snapshots fit, while a hostile multi-gigabyte input is refused at
/// once.
pub const MAX_JSON_BYTES: usize = 16 * 1024 * 1024;

/// The deepest nesting of arrays and objects [`parse`] accepts (serde_json's recursion limit of
/// 128 refuses the 128th level).
pub const MAX_JSON_DEPTH: usize = 127;

/// A document that is not JSON, or exceeds an input limit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {line} column {column}")]
pub struct JsonError {
    /// What is wrong, in one sentence.
    pub message: String,
    /// 1-based line of the problem (0 when it concerns the whole input).
    pub line: usize,
    /// 1-based column of the problem (0 when it concerns the whole input).
    pub column: usize,
}

/// Parses one JSON document, enforcing [`MAX_JSON_BYTES`] and [`MAX_JSON_DEPTH`].
///
/// ```
/// let value = stowplan::json::parse(r#"{"family": "web"}"#)?;
/// assert_eq!(value["family"], "web");
/// let err = stowplan::json::parse("{\n  \"family\": }").unwrap_err();
/// assert_eq!((err.line, err.column), (2, 13));
/// # Ok::<(), stowplan::json::JsonError>(())
/// ```
pub fn parse(text: &str) -> Result<Value, JsonError> {
    if text.len() > MAX_JSON_BYTES {
        return Err(JsonError {
            message: format!(
                "the document is {} bytes, more than the limit of {MAX_JSON_BYTES}",
                text.len()
            ),
            line: 0,
            column: 0,
        });
    }
    serde_json::from_str::<Value>(text).map_err(|err| {
        let message = err.to_string();
        // serde_json appends " at line L column C"; keep only the sentence.
        let message = match message.rfind(" at line ") {
            Some(cut) => message[..cut].to_string(),
            None => message,
        };
        JsonError {
            message,
            line: err.line(),
            column: err.column(),
        }
    })
}

/// Parses JSON from bytes, which may be invalid UTF-8 (reported as a [`JsonError`]).
pub fn parse_bytes(bytes: &[u8]) -> Result<Value, JsonError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(err) => {
            let valid = &bytes[..err.valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = valid.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            Err(JsonError {
                message: "the document is not valid UTF-8".to_string(),
                line,
                column,
            })
        }
    }
}

/// Orders the members of every object in `value` as they stand in `like`, recursively; members
/// that `like` lacks keep their relative order after the ones it has.
///
/// Used to write a document back "in the input's own shape": the model serialises known members
/// first, and this puts every member back where the input had it.
pub fn reorder_like(value: &mut Value, like: &Value) {
    match (value, like) {
        (Value::Object(map), Value::Object(like_map)) => {
            let mut ordered = serde_json::Map::with_capacity(map.len());
            for key in like_map.keys() {
                if let Some(member) = map.remove(key) {
                    ordered.insert(key.clone(), member);
                }
            }
            ordered.append(map);
            for (key, member) in ordered.iter_mut() {
                if let Some(like_member) = like_map.get(key) {
                    reorder_like(member, like_member);
                }
            }
            *map = ordered;
        }
        (Value::Array(items), Value::Array(like_items)) => {
            for (item, like_item) in items.iter_mut().zip(like_items) {
                reorder_like(item, like_item);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_limit_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        let err = parse(&deep).unwrap_err();
        assert!(err.message.contains("recursion limit"), "{err}");
        let ok = format!(
            "{}{}",
            "[".repeat(MAX_JSON_DEPTH),
            "]".repeat(MAX_JSON_DEPTH)
        );
        assert!(parse(&ok).is_ok());
        let over = format!(
            "{}{}",
            "[".repeat(MAX_JSON_DEPTH + 1),
            "]".repeat(MAX_JSON_DEPTH + 1)
        );
        assert!(parse(&over).is_err());
    }

    #[test]
    fn size_limit_is_checked_before_parsing() {
        let big = " ".repeat(MAX_JSON_BYTES + 1);
        let err = parse(&big).unwrap_err();
        assert_eq!(err.line, 0);
        assert!(parse(&" ".repeat(10)).is_err());
    }

    #[test]
    fn invalid_utf8_reports_position() {
        let err = parse_bytes(b"{\n \"a\": \"\xff\"}").unwrap_err();
        assert_eq!((err.line, err.column), (2, 8));
    }

    #[test]
    fn reorder_like_restores_input_order() {
        let like: Value =
            serde_json::from_str(r#"{"b": 1, "x": {"d": 1, "c": 2}, "a": 2}"#).unwrap();
        let mut value: Value =
            serde_json::from_str(r#"{"a": 2, "b": 1, "x": {"c": 2, "d": 1}, "new": 0}"#).unwrap();
        reorder_like(&mut value, &like);
        assert_eq!(
            serde_json::to_string(&value).unwrap(),
            r#"{"b":1,"x":{"d":1,"c":2},"a":2,"new":0}"#
        );
    }
}
