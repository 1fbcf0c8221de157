//! Typed operands (CQL-VALUES): booleans, counts, versions, times, regexes and decimal
//! attribute values, parsed once when a term is built so that eval only compares.

use std::cmp::Ordering;

use super::ast::{Op, Part, SubjectKind};
use super::error::ErrorKind;
use super::{MAX_CQL_DEPTH, MAX_CQL_REGEX_SIZE};

/// A term's operand in the form eval needs. The operand text stays in the term; this holds
/// only what had to be parsed or compiled.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Compiled {
    /// Compare the operand text: strings, `agentConnected`, `exists`.
    Text,
    /// `runningTasksCount`.
    Count(u64),
    /// `agentVersion`: the dot-separated components.
    Version(Vec<u64>),
    /// `registeredAt`: epoch seconds.
    Time(i64),
    /// `=~` / `!~`: the pattern, anchored to the whole value.
    Regex(CompiledRegex),
}

/// A compiled, anchored regex; equal when the patterns are.
#[derive(Clone, Debug)]
pub(crate) struct CompiledRegex(pub(crate) regex::Regex);

impl PartialEq for CompiledRegex {
    fn eq(&self, other: &CompiledRegex) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// Returns whether `name` is a valid attribute name for CQL: one or more letters, digits, `-`,
/// `_`, `/`, `\` or `.` (CI-ATTR-NAME-VALUE's character set; its 128-character cap belongs to
/// attributes, not to queries).
pub(crate) fn is_attribute_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/' | b'\\' | b'.'))
}

/// Checks `values` against the subject's type and compiles what eval needs. The subject has
/// already been checked to accept `op`, and `values` to fit its arity.
pub(crate) fn compile(
    subject: &SubjectKind,
    op: Op,
    values: &[String],
) -> Result<Compiled, (ErrorKind, Part)> {
    if matches!(op, Op::Matches | Op::NotMatches) {
        return compile_regex(&values[0])
            .map(Compiled::Regex)
            .map_err(|kind| (kind, Part::Value(0)));
    }
    match subject {
        SubjectKind::AgentConnected => {
            for (i, v) in values.iter().enumerate() {
                if v != "true" && v != "false" {
                    return Err((ErrorKind::InvalidBool, Part::Value(i)));
                }
            }
            Ok(Compiled::Text)
        }
        SubjectKind::RunningTasksCount => parse_count(&values[0])
            .map(Compiled::Count)
            .ok_or((ErrorKind::InvalidCount, Part::Value(0))),
        SubjectKind::AgentVersion => parse_version(&values[0])
            .map(Compiled::Version)
            .ok_or((ErrorKind::InvalidVersion, Part::Value(0))),
        SubjectKind::RegisteredAt => parse_time(&values[0])
            .map(Compiled::Time)
            .ok_or((ErrorKind::InvalidTime, Part::Value(0))),
        SubjectKind::Ec2InstanceId | SubjectKind::TaskGroup | SubjectKind::Attribute(_) => {
            Ok(Compiled::Text)
        }
    }
}

/// Compiles `^(?:pattern)$` with the CQL limits (CQL-OPERATORS: whole-value match).
///
/// The bare pattern is checked first: wrapping alone would accept `a)|(b`, whose `)` would
/// close the wrapper's group and unanchor the match. The check also makes syntax errors quote
/// the user's pattern rather than the wrapped one. It is cheap: with a size limit of one byte
/// the `regex` crate parses the pattern fully and gives up at the first compiled state, so a
/// "too big" answer there means the syntax is fine.
fn compile_regex(pattern: &str) -> Result<CompiledRegex, ErrorKind> {
    match build_regex(pattern, 1) {
        Ok(_) | Err(ErrorKind::RegexTooBig) => {}
        Err(syntax) => return Err(syntax),
    }
    build_regex(&format!("^(?:{pattern})$"), MAX_CQL_REGEX_SIZE).map(CompiledRegex)
}

fn build_regex(pattern: &str, size_limit: usize) -> Result<regex::Regex, ErrorKind> {
    let nest_limit = u32::try_from(MAX_CQL_DEPTH).unwrap_or(u32::MAX);
    regex::RegexBuilder::new(pattern)
        .size_limit(size_limit)
        .dfa_size_limit(MAX_CQL_REGEX_SIZE)
        .nest_limit(nest_limit)
        .build()
        .map_err(|err| match err {
            regex::Error::CompiledTooBig(_) => ErrorKind::RegexTooBig,
            regex::Error::Syntax(text) => ErrorKind::InvalidRegex {
                message: regex_message(&text),
            },
            other => ErrorKind::InvalidRegex {
                message: other.to_string(),
            },
        })
}

/// Keeps the `error: …` line of a `regex` syntax error; the rest repeats the pattern with a
/// caret, which the CQL error already does for the whole expression.
fn regex_message(text: &str) -> String {
    text.lines()
        .find_map(|line| line.strip_prefix("error: "))
        .unwrap_or(text)
        .to_owned()
}

/// Parses a decimal count: ASCII digits only, within `u64`.
fn parse_count(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses a version: one or more `.`-separated counts, like `1.14.5`.
fn parse_version(text: &str) -> Option<Vec<u64>> {
    text.split('.').map(parse_count).collect()
}

/// Compares an instance's agent version with a parsed operand, missing components being 0.
/// `None` when the instance's version is not dot-separated numbers. Does not allocate.
pub(crate) fn cmp_version(instance: &str, operand: &[u64]) -> Option<Ordering> {
    if instance.split('.').any(|part| parse_count(part).is_none()) {
        return None;
    }
    let mut parts = instance
        .split('.')
        .map(|part| parse_count(part).unwrap_or(0));
    let mut operand = operand.iter().copied();
    loop {
        match (parts.next(), operand.next()) {
            (None, None) => return Some(Ordering::Equal),
            (a, b) => match a.unwrap_or(0).cmp(&b.unwrap_or(0)) {
                Ordering::Equal => {}
                other => return Some(other),
            },
        }
    }
}

/// Parses a `registeredAt` operand to epoch seconds (CQL-VALUES): `YYYY-MM-DD` (midnight UTC),
/// `YYYY-MM-DDTHH:MM:SS` (UTC), and the same followed by `Z` or `±HH:MM`.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0i64, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut seconds = days_from_civil(year, month, day) * 86_400;
    if b.len() == 10 {
        return Some(seconds);
    }
    if b.len() < 19 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    seconds += hour * 3600 + minute * 60 + second;
    match &b[19..] {
        [] | [b'Z'] => Some(seconds),
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (off_hour, off_minute) = (num(20..22)?, num(23..25)?);
            if off_hour > 23 || off_minute > 59 {
                return None;
            }
            let offset = off_hour * 3600 + off_minute * 60;
            // Local time = UTC + offset, so UTC = local - offset.
            Some(if *sign == b'+' {
                seconds - offset
            } else {
                seconds + offset
            })
        }
        _ => None,
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A decimal number seen as digit strings, for exact comparison without floats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Decimal<'a> {
    negative: bool,
    /// Integer digits without leading zeros.
    integer: &'a str,
    /// Fraction digits without trailing zeros.
    fraction: &'a str,
}

impl<'a> Decimal<'a> {
    /// Parses `-?[0-9]+(\.[0-9]+)?`.
    fn parse(text: &'a str) -> Option<Decimal<'a>> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (integer, fraction) = match unsigned.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (unsigned, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(integer) || fraction.is_some_and(|f| !all_digits(f)) {
            return None;
        }
        let integer = integer.trim_start_matches('0');
        let fraction = fraction.unwrap_or("").trim_end_matches('0');
        // Minus zero is zero.
        let negative = negative && !(integer.is_empty() && fraction.is_empty());
        Some(Decimal {
            negative,
            integer,
            fraction,
        })
    }

    fn cmp_magnitude(&self, other: &Decimal<'_>) -> Ordering {
        self.integer
            .len()
            .cmp(&other.integer.len())
            .then_with(|| self.integer.cmp(other.integer))
            .then_with(|| self.fraction.cmp(other.fraction))
    }

    fn cmp(&self, other: &Decimal<'_>) -> Ordering {
        match (self.negative, other.negative) {
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
        }
    }
}

/// Orders two attribute values (CQL-OPERATORS): numerically when both are decimal numbers,
/// else by code point (byte order of UTF-8 is code-point order). Does not allocate.
pub(crate) fn cmp_attribute(value: &str, operand: &str) -> Ordering {
    match (Decimal::parse(value), Decimal::parse(operand)) {
        (Some(a), Some(b)) => a.cmp(&b),
        _ => value.cmp(operand),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cql_values_time_formats() {
        // CQL-VALUES: the four documented registeredAt forms; no zone = UTC, date = midnight.
        let cases = [
            ("1970-01-01", Some(0)),
            ("2018-02-13", Some(1_518_480_000)),
            ("2018-06-18T22:28:28+00:00", Some(1_529_360_908)),
            ("2018-06-18T22:28:28Z", Some(1_529_360_908)),
            ("2018-06-18T22:28:28", Some(1_529_360_908)),
            ("2018-06-19T00:28:28+02:00", Some(1_529_360_908)),
            ("2018-06-18T20:28:28-02:00", Some(1_529_360_908)),
            ("2000-02-29", Some(951_782_400)),
            ("1969-12-31T23:59:59Z", Some(-1)),
            ("0000-03-01", Some(-62_162_035_200)),
            ("9999-12-31T23:59:59Z", Some(253_402_300_799)),
            ("1900-02-29", None),
            ("2018-02-30", None),
            ("2018-13-01", None),
            ("2018-00-01", None),
            ("2018-6-18", None),
            ("2018-06-18T24:00:00", None),
            ("2018-06-18T22:60:00", None),
            ("2018-06-18T22:28:60", None),
            ("2018-06-18T22:28", None),
            ("2018-06-18 22:28:28", None),
            ("2018-06-18T22:28:28.5Z", None),
            ("2018-06-18T22:28:28+0000", None),
            ("2018-06-18T22:28:28+24:00", None),
            ("2018-06-18T22:28:28z", None),
            ("+018-06-18", None),
            ("２０18-06-18", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_time(text), want, "{text}");
        }
    }

    #[test]
    fn days_from_civil_agrees_with_counting_days() {
        let mut days = days_from_civil(1960, 1, 1);
        for year in 1960..2040 {
            for month in 1..=12 {
                for day in 1..=days_in_month(year, month) {
                    assert_eq!(
                        days_from_civil(year, month, day),
                        days,
                        "{year}-{month}-{day}"
                    );
                    days += 1;
                }
            }
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
    }

    #[test]
    fn cql_operators_version_order() {
        let v = |s: &str| parse_version(s).unwrap();
        assert_eq!(cmp_version("1.14.5", &v("1.14.5")), Some(Ordering::Equal));
        assert_eq!(cmp_version("1.14", &v("1.14.0")), Some(Ordering::Equal));
        assert_eq!(cmp_version("1.9.0", &v("1.14.5")), Some(Ordering::Less));
        assert_eq!(
            cmp_version("1.14.10", &v("1.14.5")),
            Some(Ordering::Greater)
        );
        assert_eq!(cmp_version("2", &v("1.99.99")), Some(Ordering::Greater));
        assert_eq!(cmp_version("1.14.5-beta", &v("1.14.5")), None);
        assert_eq!(cmp_version("", &v("1")), None);
        assert_eq!(parse_version("1..2"), None);
        assert_eq!(parse_version("1.x"), None);
        assert_eq!(parse_version("99999999999999999999"), None);
    }

    #[test]
    fn cql_operators_attribute_order_numeric_or_lexicographic() {
        let cases = [
            ("10", "9", Ordering::Greater),
            ("9", "10", Ordering::Less),
            ("007", "7", Ordering::Equal),
            ("1.50", "1.5", Ordering::Equal),
            ("1.45", "1.5", Ordering::Less),
            ("-2", "1", Ordering::Less),
            ("-2", "-10", Ordering::Greater),
            ("-0", "0.0", Ordering::Equal),
            ("123456789012345678901234567890", "2", Ordering::Greater),
            ("b", "a", Ordering::Greater),
            ("10a", "9", Ordering::Less),
            (".5", "1", Ordering::Less),
            ("1.", "2", Ordering::Less),
            ("é", "z", Ordering::Greater),
        ];
        for (a, b, want) in cases {
            assert_eq!(cmp_attribute(a, b), want, "{a} vs {b}");
            assert_eq!(cmp_attribute(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn regex_is_anchored_and_cannot_escape_the_wrapper() {
        let re = compile_regex("t2.*").unwrap();
        assert!(re.0.is_match("t2.small"));
        assert!(!re.0.is_match("xt2.small"));
        assert!(compile_regex("a)|(b").is_err());
        assert!(matches!(
            compile_regex("(x"),
            Err(ErrorKind::InvalidRegex { .. })
        ));
        assert_eq!(
            compile_regex(r"\w{1000}").unwrap_err(),
            ErrorKind::RegexTooBig
        );
    }

    #[test]
    fn regex_size_limit_admits_one_unicode_class() {
        // MAX_CQL_REGEX_SIZE: one Unicode class fits, two do not; ASCII classes are cheap.
        assert!(compile_regex(r"\w+").is_ok());
        assert!(compile_regex(r"[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+").is_ok());
        assert_eq!(compile_regex(r"\w{2}").unwrap_err(), ErrorKind::RegexTooBig);
        assert_eq!(
            compile_regex(r"\w+\.\w+").unwrap_err(),
            ErrorKind::RegexTooBig
        );
    }

    #[test]
    fn regex_errors_keep_only_the_message() {
        let Err(ErrorKind::InvalidRegex { message }) = compile_regex("(x") else {
            panic!()
        };
        assert_eq!(message, "unclosed group");
    }

    #[test]
    fn regex_nest_limit_is_the_depth_limit() {
        // regex-syntax counts the top level as one and the `(?:…)` wrapper takes another, so a
        // pattern may nest groups MAX_CQL_DEPTH - 2 deep.
        let groups = |n: usize| "(".repeat(n) + "a" + &")".repeat(n);
        assert!(compile_regex(&groups(MAX_CQL_DEPTH - 2)).is_ok());
        let err = compile_regex(&groups(MAX_CQL_DEPTH - 1)).unwrap_err();
        assert_eq!(
            err,
            ErrorKind::InvalidRegex {
                message: "exceed the maximum number of nested parentheses/brackets (64)".into()
            }
        );
    }
}
