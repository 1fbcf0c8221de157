//! The CQL lexer: a cursor that the parser asks for the token it expects next.
//!
//! CQL's tokens depend on where they stand (CQL-GRAMMAR, CQL-VALUES): `t2.*` or `a&&b` is one
//! bare value after `==`, `,` ends a value only inside a list, and `!` is `not` before a subject
//! but part of `!=` after one. So the lexer has no single token stream; the parser calls the
//! scanning method for the position it is in. Every method moves by whole characters, so every
//! offset it returns is a character boundary.

use super::ast::{Op, Span};
use super::error::ErrorKind;

/// A lexing or parsing failure before it is attached to the expression.
pub(crate) type Failure = (ErrorKind, Span);

/// Returns whether `c` ends a bare value (CQL-VALUES): whitespace, brackets, parentheses and
/// quotes. Inside a list `,` does too. The printer quotes any value containing one of these.
pub(crate) fn ends_bare_value(c: char) -> bool {
    c.is_whitespace() || matches!(c, '[' | ']' | '(' | ')' | '\'' | '"')
}

/// Returns the length of the bare value at the start of `rest` (CQL-VALUES): it ends at a
/// character of [`ends_bare_value`], at `&&` or `||` (so that `a==x&&b==y` is two terms, as
/// free whitespace between tokens implies; attribute values cannot contain `&` or `|` anyway,
/// CI-ATTR-NAME-VALUE), and inside a list at `,`.
pub(crate) fn bare_len(rest: &str, in_list: bool) -> usize {
    rest.char_indices()
        .find(|&(i, c)| {
            ends_bare_value(c)
                || (in_list && c == ',')
                || ((c == '&' || c == '|') && rest[i + 1..].starts_with(c))
        })
        .map_or(rest.len(), |(i, _)| i)
}

/// Returns whether the printer must quote `value`: when it is empty or the lexer would not read
/// all of it as one bare value, in a list or not.
pub(crate) fn needs_quotes(value: &str) -> bool {
    value.is_empty() || bare_len(value, true) != value.len()
}

/// Returns whether `c` ends a word (a subject, word operator or keyword): what ends a bare
/// value, `,`, and the characters of symbol operators and connectives.
fn ends_word(c: char) -> bool {
    ends_bare_value(c) || matches!(c, ',' | '=' | '!' | '<' | '>' | '~' | '&' | '|')
}

/// A connective between two operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Connective {
    /// `and`, `&&`.
    And,
    /// `or`, `||`.
    Or,
}

/// A position in the expression.
#[derive(Debug)]
pub(crate) struct Lexer<'a> {
    input: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(input: &'a str) -> Lexer<'a> {
        Lexer { input, pos: 0 }
    }

    /// Returns the byte offset of the cursor.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    /// Returns the next character without consuming it.
    pub(crate) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// Consumes `c`, which must be the next character, and returns its span.
    pub(crate) fn bump(&mut self, c: char) -> Span {
        debug_assert_eq!(self.peek(), Some(c));
        let start = self.pos;
        self.pos += c.len_utf8();
        Span {
            start,
            end: self.pos,
        }
    }

    /// Skips whitespace (Unicode `White_Space`, the same test that ends bare values).
    pub(crate) fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// Returns the span of what stands at the cursor, for an error: the next word, else the
    /// next character, else the empty span at the end.
    pub(crate) fn offending(&self) -> Span {
        let word = self.peek_word();
        if word.start < word.end {
            return word;
        }
        let end = self.peek().map_or(self.pos, |c| self.pos + c.len_utf8());
        Span {
            start: self.pos,
            end,
        }
    }

    /// Returns the span of the word at the cursor without consuming it; empty if none.
    pub(crate) fn peek_word(&self) -> Span {
        let rest = self.rest();
        let len = rest.find(ends_word).unwrap_or(rest.len());
        Span {
            start: self.pos,
            end: self.pos + len,
        }
    }

    /// Consumes the word at the cursor and returns it with its span; empty if none.
    pub(crate) fn word(&mut self) -> (&'a str, Span) {
        let span = self.peek_word();
        self.pos = span.end;
        (&self.input[span.range()], span)
    }

    /// Consumes a `not` / `!` at the cursor, returning its span.
    pub(crate) fn not(&mut self) -> Option<Span> {
        if self.peek() == Some('!') {
            return Some(self.bump('!'));
        }
        let word = self.peek_word();
        if self.input[word.range()].eq_ignore_ascii_case("not") {
            self.pos = word.end;
            return Some(word);
        }
        None
    }

    /// Returns the connective at the cursor (`and`, `&&`, `or`, `||`, any ASCII case) and its
    /// span, without consuming it.
    pub(crate) fn peek_connective(&self) -> Option<(Connective, Span)> {
        let rest = self.rest();
        let (connective, len) = if rest.starts_with("&&") {
            (Connective::And, 2)
        } else if rest.starts_with("||") {
            (Connective::Or, 2)
        } else {
            let text = &self.input[self.peek_word().range()];
            if text.eq_ignore_ascii_case("and") {
                (Connective::And, 3)
            } else if text.eq_ignore_ascii_case("or") {
                (Connective::Or, 2)
            } else {
                return None;
            }
        };
        Some((
            connective,
            Span {
                start: self.pos,
                end: self.pos + len,
            },
        ))
    }

    /// Consumes up to `span.end`, for a span this lexer returned at the cursor.
    pub(crate) fn consume(&mut self, span: Span) {
        debug_assert!(span.start == self.pos && self.input.is_char_boundary(span.end));
        self.pos = span.end;
    }

    /// Consumes an operator (CQL-OPERATORS): a symbol, `!exists` / `!in`, or a word in any
    /// ASCII case.
    pub(crate) fn op(&mut self) -> Result<(Op, Span), Failure> {
        const SYMBOLS: [(&str, Op); 8] = [
            ("==", Op::Eq),
            ("=~", Op::Matches),
            ("!=", Op::Ne),
            ("!~", Op::NotMatches),
            (">=", Op::Ge),
            ("<=", Op::Le),
            (">", Op::Gt),
            ("<", Op::Lt),
        ];
        let start = self.pos;
        let rest = self.rest();
        if let Some(&(symbol, op)) = SYMBOLS.iter().find(|(symbol, _)| rest.starts_with(symbol)) {
            self.pos += symbol.len();
            return Ok((
                op,
                Span {
                    start,
                    end: self.pos,
                },
            ));
        }
        let negated = rest.starts_with('!');
        let word_start = self.pos + usize::from(negated);
        let after = &self.input[word_start..];
        let word = Span {
            start: word_start,
            end: word_start + after.find(ends_word).unwrap_or(after.len()),
        };
        let text = &self.input[word.range()];
        let op = match (negated, Op::from_word(text)) {
            (false, Some(op)) => Some(op),
            (true, Some(Op::Exists)) => Some(Op::NotExists),
            (true, Some(Op::In)) => Some(Op::NotIn),
            _ => None,
        };
        let span = Span {
            start,
            end: word.end,
        };
        match op {
            Some(op) => {
                self.pos = word.end;
                Ok((op, span))
            }
            None if span.start < span.end => Err((ErrorKind::ExpectedOperator, span)),
            None => Err((ErrorKind::ExpectedOperator, self.offending())),
        }
    }

    /// Consumes a value (CQL-VALUES): `'…'` or `"…"` with the quotes stripped, or a bare run
    /// ([`bare_len`]): up to whitespace, a bracket, a parenthesis, a quote, `&&`, `||`, or (in a
    /// list) `,`.
    /// An empty bare run is `ExpectedValue`.
    pub(crate) fn value(&mut self, in_list: bool) -> Result<(&'a str, Span), Failure> {
        let start = self.pos;
        let rest = self.rest();
        if let Some(quote @ ('\'' | '"')) = self.peek() {
            return match rest[1..].find(quote) {
                Some(len) => {
                    self.pos += 1 + len + 1;
                    Ok((
                        &rest[1..1 + len],
                        Span {
                            start,
                            end: self.pos,
                        },
                    ))
                }
                None => Err((
                    ErrorKind::UnclosedQuote,
                    Span {
                        start,
                        end: self.input.len(),
                    },
                )),
            };
        }
        let len = bare_len(rest, in_list);
        if len == 0 {
            return Err((ErrorKind::ExpectedValue, self.offending()));
        }
        self.pos += len;
        Ok((
            &rest[..len],
            Span {
                start,
                end: self.pos,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cql_grammar_operators_symbols_and_words() {
        let cases = [
            ("== x", Op::Eq, 2),
            ("equals x", Op::Eq, 6),
            ("EQUALS x", Op::Eq, 6),
            ("!= x", Op::Ne, 2),
            ("not_equals x", Op::Ne, 10),
            (">= x", Op::Ge, 2),
            (">x", Op::Gt, 1),
            ("<=x", Op::Le, 2),
            ("less_than x", Op::Lt, 9),
            ("=~ t2.*", Op::Matches, 2),
            ("!~ t2.*", Op::NotMatches, 2),
            ("matches x", Op::Matches, 7),
            ("exists", Op::Exists, 6),
            ("!exists)", Op::NotExists, 7),
            ("not_exists", Op::NotExists, 10),
            ("in [a]", Op::In, 2),
            ("in[a]", Op::In, 2),
            ("!in [a]", Op::NotIn, 3),
            ("NOT_IN [a]", Op::NotIn, 6),
        ];
        for (input, want, len) in cases {
            let mut lexer = Lexer::new(input);
            assert_eq!(
                lexer.op(),
                Ok((want, Span { start: 0, end: len })),
                "{input}"
            );
        }
    }

    #[test]
    fn unknown_operators_point_at_the_word() {
        let cases = [
            ("t2.micro", 0, 8),
            ("equals5 x", 0, 7),
            ("!inx", 0, 4),
            ("!", 0, 1),
            ("", 0, 0),
            ("(a)", 0, 1),
            ("&", 0, 1),
        ];
        for (input, start, end) in cases {
            let err = Lexer::new(input).op().unwrap_err();
            assert_eq!(
                err,
                (ErrorKind::ExpectedOperator, Span { start, end }),
                "{input}"
            );
        }
    }

    #[test]
    fn cql_values_bare_and_quoted() {
        let cases = [
            ("t2.* and", false, "t2.*", 4),
            ("service:production)", false, "service:production", 18),
            (
                "2018-06-18T22:28:28+00:00 ",
                false,
                "2018-06-18T22:28:28+00:00",
                25,
            ),
            ("a,b", false, "a,b", 3),
            ("a,b", true, "a", 1),
            ("a&&b", false, "a", 1),
            ("a||b", false, "a", 1),
            ("a&b|c", false, "a&b|c", 5),
            ("t2.*|m5.*", false, "t2.*|m5.*", 9),
            ("'i-abcd1234', 'x'", true, "i-abcd1234", 12),
            ("\"a b\"c", false, "a b", 5),
            ("''", false, "", 2),
            ("'é'", false, "é", 4),
        ];
        for (input, in_list, want, end) in cases {
            let mut lexer = Lexer::new(input);
            assert_eq!(
                lexer.value(in_list),
                Ok((want, Span { start: 0, end })),
                "{input}"
            );
        }
    }

    #[test]
    fn value_errors() {
        assert_eq!(
            Lexer::new("'abc").value(false),
            Err((ErrorKind::UnclosedQuote, Span { start: 0, end: 4 }))
        );
        assert_eq!(
            Lexer::new(")").value(false),
            Err((ErrorKind::ExpectedValue, Span { start: 0, end: 1 }))
        );
        assert_eq!(
            Lexer::new("").value(false),
            Err((ErrorKind::ExpectedValue, Span { start: 0, end: 0 }))
        );
    }

    #[test]
    fn connectives_ignore_case_and_need_a_word_end() {
        for (input, want) in [
            ("and x", Some(Connective::And)),
            ("AND(", Some(Connective::And)),
            ("&&x", Some(Connective::And)),
        ] {
            assert_eq!(
                Lexer::new(input).peek_connective().map(|(c, _)| c),
                want,
                "{input}"
            );
        }
        for (input, want) in [
            ("Or x", Some(Connective::Or)),
            ("||", Some(Connective::Or)),
            ("ore", None),
            ("android", None),
            ("&", None),
        ] {
            assert_eq!(
                Lexer::new(input).peek_connective().map(|(c, _)| c),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn not_is_a_word_or_bang() {
        let mut lexer = Lexer::new("not(x");
        assert_eq!(lexer.not(), Some(Span { start: 0, end: 3 }));
        assert_eq!(lexer.peek(), Some('('));
        assert_eq!(Lexer::new("nothing").not(), None);
        assert_eq!(Lexer::new("!x").not(), Some(Span { start: 0, end: 1 }));
    }
}
