//! Policy variables: `${key}`, `${key, 'default'}` and the escapes `${*}`, `${?}`, `${$}`
//! (IAM User Guide, "IAM policy elements: Variables and tags"). Only policies with
//! `"Version": "2012-10-17"` have variables; in older ones `${...}` is literal text.

use super::Context;
use super::matcher::{Pattern, Piece};

/// One part of a value that may hold variables.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Part {
    /// Policy text: `*` and `?` in it are wildcards for the `Like` operators and resources.
    Text(String),
    /// A character produced by an escape: never a wildcard.
    Escaped(char),
    /// A variable.
    Var {
        /// The key, lower-cased (keys are case-insensitive).
        key: String,
        /// The key as written, for `missing_context`.
        name: String,
        /// The default after the comma, if any.
        default: Option<String>,
    },
}

/// A value with at least one variable or escape.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

/// Splits `text` into parts. Returns `None` when it holds no variable and no escape (the
/// caller then keeps the plain text). An unterminated or malformed `${...}` stays literal.
pub(crate) fn parse(text: &str) -> Option<Template> {
    if !text.contains("${") {
        return None;
    }
    let mut parts = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    let mut found = false;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(close) = after.find('}') else {
            break;
        };
        let inner = &after[..close];
        let part = match inner {
            "*" => Some(Part::Escaped('*')),
            "?" => Some(Part::Escaped('?')),
            "$" => Some(Part::Escaped('$')),
            _ => variable(inner),
        };
        plain.push_str(&rest[..start]);
        match part {
            Some(part) => {
                found = true;
                if !plain.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut plain)));
                }
                parts.push(part);
            }
            None => plain.push_str(&rest[start..start + 2 + close + 1]),
        }
        rest = &after[close + 1..];
    }
    plain.push_str(rest);
    if !plain.is_empty() {
        parts.push(Part::Text(plain));
    }
    found.then_some(Template { parts })
}

/// `key` or `key, 'default'` (spaces around the comma allowed).
fn variable(inner: &str) -> Option<Part> {
    let (key, default) = match inner.split_once(',') {
        Some((key, default)) => {
            let default = default.trim();
            let default = default.strip_prefix('\'')?.strip_suffix('\'')?;
            (key.trim(), Some(default.to_owned()))
        }
        None => (inner.trim(), None),
    };
    let valid = !key.is_empty()
        && key
            .chars()
            .all(|c| !c.is_whitespace() && !matches!(c, '$' | '{' | '}' | '\'' | ','));
    valid.then(|| Part::Var {
        key: key.to_ascii_lowercase(),
        name: key.to_owned(),
        default,
    })
}

/// Resolved pieces of a template: (text, whether `*`/`?` in it are wildcards).
pub(crate) type Resolved = Vec<(String, bool)>;

impl Template {
    /// The same template after literal-with-wildcards `prefix` (the ARN head of a resource).
    pub(crate) fn with_prefix(mut self, prefix: &str) -> Template {
        if !prefix.is_empty() {
            self.parts.insert(0, Part::Text(prefix.to_owned()));
        }
        self
    }

    /// Substitutes the variables from `context`. `None` when a variable has no value and no
    /// default (the value then matches nothing). Absent keys are reported to `missing`.
    pub(crate) fn resolve(&self, context: &Context, missing: &mut Vec<String>) -> Option<Resolved> {
        let mut out: Resolved = Vec::with_capacity(self.parts.len());
        let mut ok = true;
        for part in &self.parts {
            match part {
                Part::Text(s) => out.push((s.clone(), true)),
                Part::Escaped(c) => out.push((c.to_string(), false)),
                Part::Var { key, name, default } => match context.single(key) {
                    Some(value) => out.push((value.to_owned(), false)),
                    None => {
                        if context.get_lower(key).is_none() {
                            super::note_missing(missing, name);
                        }
                        match default {
                            Some(d) => out.push((d.clone(), false)),
                            None => ok = false,
                        }
                    }
                },
            }
        }
        ok.then_some(out)
    }
}

/// The resolved pieces joined into one string (wildcard flags dropped).
pub(crate) fn joined(resolved: &Resolved) -> String {
    resolved.iter().map(|(s, _)| s.as_str()).collect()
}

/// The resolved pieces as a wildcard pattern.
pub(crate) fn pattern(resolved: &Resolved) -> Pattern {
    let pieces: Vec<Piece<'_>> = resolved.iter().map(|(s, w)| (s.as_str(), *w)).collect();
    Pattern::from_pieces(&pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_variables_defaults_and_escapes() {
        assert!(parse("plain").is_none());
        assert!(parse("${unterminated").is_none());
        let t = parse("a/${aws:username}/${*}${x, 'dflt'}").unwrap();
        assert_eq!(t.parts.len(), 5);
        assert_eq!(
            t.parts[4],
            Part::Var {
                key: "x".into(),
                name: "x".into(),
                default: Some("dflt".into())
            }
        );
        assert_eq!(t.parts[3], Part::Escaped('*'));
    }
}
