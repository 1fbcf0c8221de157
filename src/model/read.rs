//! Reading model values from JSON without ever failing as a whole.
//!
//! [`FromJson`] is the one way model types are read. It walks a `serde_json::Value`, records a
//! [`ShapeError`] with the JSON pointer of every member whose JSON type is wrong, and keeps the
//! offending member verbatim in its parent's `extra` map so that writing the value back loses
//! nothing. The serde `Deserialize` impls of the model are built on it and fail on the first
//! recorded error.

use serde_json::Value;

use crate::json::Pointer;

/// A member whose JSON type does not match the AWS shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeError {
    /// Where the member is, in the input.
    pub path: Pointer,
    /// What the shape wants, e.g. "an integer" or "an object".
    pub expected: &'static str,
    /// What the input holds, e.g. "a string" or "an array".
    pub found: &'static str,
}

impl ShapeError {
    /// Whether this is a single object written where the shape wants a list of them.
    ///
    /// Some published task definitions do this (e.g. `"secretOptions": {...}`); validation
    /// reports it as a warning rather than an error, since tools that wrap a lone object in a
    /// list accept it, and the member is still written back as given.
    pub fn is_object_for_list(&self) -> bool {
        self.expected == "an array" && self.found == "an object"
    }
}

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.path.is_root() {
            "the document".to_string()
        } else {
            format!("'{}'", self.path)
        };
        write!(f, "{at} must be {}, not {}", self.expected, self.found)
    }
}

impl std::error::Error for ShapeError {}

/// The walk state of a [`FromJson`] read: where we are, and what went wrong so far.
#[derive(Debug, Default)]
pub struct ReadContext {
    path: Pointer,
    errors: Vec<ShapeError>,
}

impl ReadContext {
    /// A context at the document root with no errors.
    pub fn new() -> Self {
        ReadContext::default()
    }

    /// Steps into a member.
    pub fn enter(&mut self, key: &str) {
        self.path.push(key);
    }

    /// Steps into an array element.
    pub fn enter_index(&mut self, index: usize) {
        self.path.push_index(index);
    }

    /// Steps back out.
    pub fn leave(&mut self) {
        self.path.pop();
    }

    /// Records that the value at the current position is of the wrong type.
    pub fn mismatch(&mut self, expected: &'static str, found: &Value) {
        self.errors.push(ShapeError {
            path: self.path.clone(),
            expected,
            found: json_kind(found),
        });
    }

    /// Records that the value is of the right JSON type but out of range for the member.
    pub fn out_of_range(&mut self, expected: &'static str) {
        self.errors.push(ShapeError {
            path: self.path.clone(),
            expected,
            found: "a number out of range",
        });
    }

    /// The errors recorded so far, in document order.
    pub fn errors(&self) -> &[ShapeError] {
        &self.errors
    }

    /// Consumes the context, giving its errors.
    pub fn into_errors(self) -> Vec<ShapeError> {
        self.errors
    }
}

/// Names the JSON type of a value, with its article, for messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A model type read from a JSON value.
pub trait FromJson: Sized {
    /// Reads `value`. On a JSON type mismatch at this level, records it in `context` and
    /// returns `None`; mismatches deeper down are recorded and the offending members kept in
    /// their parent's `extra` map, so the result is `Some`.
    fn from_json(value: &Value, context: &mut ReadContext) -> Option<Self>;

    /// Reads `value`, returning every shape error (empty when the value fits the shape).
    fn read(value: &Value) -> (Option<Self>, Vec<ShapeError>) {
        let mut context = ReadContext::new();
        let parsed = Self::from_json(value, &mut context);
        (parsed, context.into_errors())
    }

    /// Reads `value` strictly: the first shape error, if any, is the error.
    fn from_value(value: &Value) -> Result<Self, ShapeError> {
        let (parsed, errors) = Self::read(value);
        match (parsed, errors.into_iter().next()) {
            (Some(parsed), None) => Ok(parsed),
            (_, Some(error)) => Err(error),
            (None, None) => Err(ShapeError {
                path: Pointer::root(),
                expected: "a value of the shape",
                found: json_kind(value),
            }),
        }
    }
}

impl FromJson for String {
    fn from_json(value: &Value, context: &mut ReadContext) -> Option<Self> {
        match value {
            Value::String(s) => Some(s.clone()),
            other => {
                context.mismatch("a string", other);
                None
            }
        }
    }
}

impl FromJson for bool {
    fn from_json(value: &Value, context: &mut ReadContext) -> Option<Self> {
        match value {
            Value::Bool(b) => Some(*b),
            other => {
                context.mismatch("a boolean", other);
                None
            }
        }
    }
}

/// Reads an integer leniently: a JSON integer, a number with no fractional part, or a string
/// holding a decimal integer (`"memory": "100"`, as many published task definitions write it).
fn lenient_integer(value: &Value, context: &mut ReadContext) -> Option<i64> {
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i)
            } else if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15) {
                Some(f as i64)
            } else {
                context.out_of_range("an integer");
                None
            }
        }
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(i) => Some(i),
            Err(_) => {
                context.mismatch("an integer", value);
                None
            }
        },
        other => {
            context.mismatch("an integer", other);
            None
        }
    }
}

impl FromJson for i32 {
    fn from_json(value: &Value, context: &mut ReadContext) -> Option<Self> {
        let wide = lenient_integer(value, context)?;
        match i32::try_from(wide) {
            Ok(narrow) => Some(narrow),
            Err(_) => {
                context.out_of_range("a 32-bit integer");
                None
            }
        }
    }
}

impl FromJson for i64 {
    fn from_json(value: &Value, context: &mut ReadContext) -> Option<Self> {
        lenient_integer(value, context)
    }
}

impl FromJson for f64 {
    fn from_json(value: &Value, context: &mut ReadContext) -> Option<Self> {
        match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(f) if f.is_finite() => Some(f),
                _ => {
                    context.mismatch("a number", value);
                    None
                }
            },
            other => {
                context.mismatch("a number", other);
                None
            }
        }
    }
}

impl FromJson for Value {
    fn from_json(value: &Value, _context: &mut ReadContext) -> Option<Self> {
        Some(value.clone())
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: &Value, context: &mut ReadContext) -> Option<Self> {
        let Value::Array(items) = value else {
            context.mismatch("an array", value);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut complete = true;
        for (index, item) in items.iter().enumerate() {
            context.enter_index(index);
            match T::from_json(item, context) {
                Some(parsed) => out.push(parsed),
                None => complete = false,
            }
            context.leave();
        }
        // A list with an element of the wrong type is kept whole, verbatim, by the parent.
        complete.then_some(out)
    }
}

impl<T: FromJson> FromJson for Box<T> {
    fn from_json(value: &Value, context: &mut ReadContext) -> Option<Self> {
        T::from_json(value, context).map(Box::new)
    }
}

impl FromJson for indexmap::IndexMap<String, String> {
    fn from_json(value: &Value, context: &mut ReadContext) -> Option<Self> {
        let Value::Object(map) = value else {
            context.mismatch("an object", value);
            return None;
        };
        let mut out = indexmap::IndexMap::with_capacity(map.len());
        let mut complete = true;
        for (key, member) in map {
            context.enter(key);
            match String::from_json(member, context) {
                Some(s) => {
                    out.insert(key.clone(), s);
                }
                None => complete = false,
            }
            context.leave();
        }
        complete.then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_are_lenient() {
        for (input, expected) in [
            (json!(100), Some(100)),
            (json!("100"), Some(100)),
            (json!(" 7 "), Some(7)),
            (json!(100.0), Some(100)),
            (json!(1.5), None),
            (json!("1.5"), None),
            (json!(true), None),
            (json!(4_294_967_296_i64), None),
        ] {
            let (parsed, errors) = i32::read(&input);
            assert_eq!(parsed, expected, "{input}");
            assert_eq!(errors.is_empty(), expected.is_some(), "{input}");
        }
    }

    #[test]
    fn a_bad_element_fails_the_list_and_is_reported_at_its_index() {
        let (parsed, errors) = Vec::<i32>::read(&json!([1, "x", 3, {}]));
        assert_eq!(parsed, None);
        let paths: Vec<String> = errors.iter().map(|e| e.path.to_string()).collect();
        assert_eq!(paths, ["/1", "/3"]);
    }
}
