//! RFC 6901 JSON pointers.

use std::fmt;

/// An RFC 6901 JSON pointer, built token by token while walking a document.
///
/// `Display` writes the pointer in the syntax of `serde_json::Value::pointer`, with `~` and `/`
/// in tokens escaped as `~0` and `~1`, so it can be pasted into any JSON tool.
///
/// ```
/// use stowplan::json::Pointer;
/// let mut pointer = Pointer::root();
/// pointer.push("containerDefinitions");
/// pointer.push_index(0);
/// pointer.push("a/b~c");
/// assert_eq!(pointer.to_string(), "/containerDefinitions/0/a~1b~0c");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pointer {
    tokens: Vec<String>,
}

impl Pointer {
    /// The pointer to the whole document (written as the empty string).
    pub fn root() -> Self {
        Pointer::default()
    }

    /// Parses a pointer written in RFC 6901 syntax; `None` if it does not start with `/` (and is
    /// not empty) or holds a `~` not followed by `0` or `1`.
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() {
            return Some(Pointer::root());
        }
        let rest = text.strip_prefix('/')?;
        let mut tokens = Vec::new();
        for raw in rest.split('/') {
            let mut token = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(ch) = chars.next() {
                if ch == '~' {
                    match chars.next() {
                        Some('0') => token.push('~'),
                        Some('1') => token.push('/'),
                        _ => return None,
                    }
                } else {
                    token.push(ch);
                }
            }
            tokens.push(token);
        }
        Some(Pointer { tokens })
    }

    /// Appends a member name.
    pub fn push(&mut self, token: &str) {
        self.tokens.push(token.to_string());
    }

    /// Appends an array index.
    pub fn push_index(&mut self, index: usize) {
        self.tokens.push(index.to_string());
    }

    /// Removes the last token (no-op at the root).
    pub fn pop(&mut self) {
        self.tokens.pop();
    }

    /// A new pointer one member below this one.
    #[must_use]
    pub fn join(&self, token: &str) -> Self {
        let mut next = self.clone();
        next.push(token);
        next
    }

    /// A new pointer one array element below this one.
    #[must_use]
    pub fn join_index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.push_index(index);
        next
    }

    /// The unescaped tokens, outermost first.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// Whether this is the pointer to the whole document.
    pub fn is_root(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Resolves the pointer in `value`.
    pub fn resolve<'v>(&self, value: &'v serde_json::Value) -> Option<&'v serde_json::Value> {
        let mut current = value;
        for token in &self.tokens {
            current = match current {
                serde_json::Value::Object(map) => map.get(token)?,
                serde_json::Value::Array(items) => {
                    // RFC 6901: no leading zeros, no sign.
                    if token.len() > 1 && token.starts_with('0') {
                        return None;
                    }
                    items.get(token.parse::<usize>().ok()?)?
                }
                _ => return None,
            };
        }
        Some(current)
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for token in &self.tokens {
            f.write_str("/")?;
            for ch in token.chars() {
                match ch {
                    '~' => f.write_str("~0")?,
                    '/' => f.write_str("~1")?,
                    other => write!(f, "{other}")?,
                }
            }
        }
        Ok(())
    }
}

impl serde::Serialize for Pointer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        for text in ["", "/a", "/a~1b/0/~0", "/", "//x"] {
            let pointer = Pointer::parse(text).unwrap();
            assert_eq!(pointer.to_string(), text);
        }
        assert!(Pointer::parse("a").is_none());
        assert!(Pointer::parse("/~2").is_none());
    }

    #[test]
    fn resolve_follows_rfc6901() {
        let value = serde_json::json!({"a": [{"b/c": 1}], "": 2});
        assert_eq!(
            Pointer::parse("/a/0/b~1c").unwrap().resolve(&value),
            Some(&1.into())
        );
        assert_eq!(
            Pointer::parse("/").unwrap().resolve(&value),
            Some(&2.into())
        );
        assert_eq!(Pointer::parse("/a/00").unwrap().resolve(&value), None);
        assert_eq!(Pointer::parse("/a/1").unwrap().resolve(&value), None);
    }
}
