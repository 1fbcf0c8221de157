//! Wildcard patterns (`*` = any run of characters including none, `?` = exactly one character),
//! compiled once and matched without backtracking.
//!
//! A pattern is cut at its stars into segments. Without a star the single segment must cover
//! the whole text. Otherwise the first segment is anchored at the start, the last at the end,
//! and each middle segment is searched for, leftmost first, after the previous one: taking the
//! leftmost occurrence never loses a match (any later occurrence leaves less room for the rest),
//! so no position is ever revisited. A segment without `?` is found with `str::find` (the
//! two-way algorithm, linear); a segment with `?` is found with a bit-parallel shift-and scan
//! (`⌈m/64⌉` word operations per text character). The whole match is therefore
//! O(|text| · ⌈longest segment / 64⌉ + |pattern|), never exponential and never quadratic in
//! the number of stars.

/// One element of a segment.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// Literal text (may contain `*` or `?` characters that came from escapes).
    Lit(String),
    /// `n` arbitrary characters (`?` repeated).
    Any(usize),
}

/// Bit masks for the shift-and scan of a segment containing `?`.
#[derive(Clone, Debug, PartialEq)]
struct Bitap {
    /// Number of 64-bit words per mask.
    words: usize,
    /// Mask for characters that appear literally in the segment (sorted by character).
    masks: Vec<(char, Vec<u64>)>,
    /// Mask for any other character (the `?` positions only).
    other: Vec<u64>,
}

/// A star-free run of the pattern.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Seg {
    toks: Vec<Tok>,
    /// Length in characters.
    chars: usize,
    /// Present when the segment has a `?` and is not a single literal.
    bitap: Option<Bitap>,
}

/// A compiled wildcard pattern.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Pattern {
    /// `*` (or `**`...): matches everything.
    Any,
    /// No wildcard: equality.
    Exact(String),
    /// `literal*`.
    Prefix(String),
    /// Anything else.
    General {
        /// True when the pattern has at least one star.
        starred: bool,
        /// Anchored at the start (for a star-free pattern, the only segment).
        first: Seg,
        /// Searched for in order.
        middle: Vec<Seg>,
        /// Anchored at the end (empty when the pattern ends with a star).
        last: Seg,
    },
}

/// A piece of pattern source: text, and whether `*`/`?` in it are wildcards.
pub(crate) type Piece<'a> = (&'a str, bool);

enum Item {
    Star,
    Any,
    Char(char),
}

impl Seg {
    fn from_items(items: &[Item]) -> Seg {
        let mut toks: Vec<Tok> = Vec::new();
        let mut chars = 0;
        for item in items {
            chars += 1;
            match item {
                Item::Any => match toks.last_mut() {
                    Some(Tok::Any(n)) => *n += 1,
                    _ => toks.push(Tok::Any(1)),
                },
                Item::Char(c) => match toks.last_mut() {
                    Some(Tok::Lit(s)) => s.push(*c),
                    _ => toks.push(Tok::Lit(c.to_string())),
                },
                // Segments are star-free runs (`compile` splits at stars).
                Item::Star => {}
            }
        }
        let has_any = toks.iter().any(|t| matches!(t, Tok::Any(_)));
        let bitap = has_any.then(|| Bitap::new(items, chars));
        Seg { toks, chars, bitap }
    }

    fn is_empty(&self) -> bool {
        self.chars == 0
    }

    /// Matches the segment at byte offset `at`; returns the end offset.
    fn match_at(&self, text: &str, at: usize) -> Option<usize> {
        let mut pos = at;
        for tok in &self.toks {
            match tok {
                Tok::Lit(s) => {
                    if !text.get(pos..)?.starts_with(s.as_str()) {
                        return None;
                    }
                    pos += s.len();
                }
                Tok::Any(n) => {
                    let rest = text.get(pos..)?;
                    let mut it = rest.char_indices();
                    let mut advanced = 0;
                    for _ in 0..*n {
                        let (_, c) = it.next()?;
                        advanced += c.len_utf8();
                    }
                    pos += advanced;
                }
            }
        }
        Some(pos)
    }

    /// Leftmost occurrence in `text[from..to]`: (start, end) byte offsets.
    fn find(&self, text: &str, from: usize, to: usize) -> Option<(usize, usize)> {
        let hay = text.get(from..to)?;
        match &self.bitap {
            None => {
                // A single literal (a segment without `?` has at most one token).
                let lit = match self.toks.first() {
                    Some(Tok::Lit(s)) => s.as_str(),
                    _ => "",
                };
                hay.find(lit).map(|i| (from + i, from + i + lit.len()))
            }
            Some(bitap) => {
                let end = bitap.find_end(hay, self.chars)?;
                // Walk back `chars` characters from the end to find the start.
                let start = hay[..end]
                    .char_indices()
                    .rev()
                    .nth(self.chars - 1)
                    .map_or(0, |(i, _)| i);
                Some((from + start, from + end))
            }
        }
    }
}

impl Bitap {
    fn new(items: &[Item], chars: usize) -> Bitap {
        let words = chars.div_ceil(64).max(1);
        let mut other = vec![0u64; words];
        let mut masks: Vec<(char, Vec<u64>)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if let Item::Any = item {
                other[i / 64] |= 1 << (i % 64);
            }
        }
        for (i, item) in items.iter().enumerate() {
            if let Item::Char(c) = item {
                let at = match masks.binary_search_by(|(k, _)| k.cmp(c)) {
                    Ok(at) => at,
                    Err(at) => {
                        masks.insert(at, (*c, other.clone()));
                        at
                    }
                };
                masks[at].1[i / 64] |= 1 << (i % 64);
            }
        }
        Bitap {
            words,
            masks,
            other,
        }
    }

    fn mask(&self, c: char) -> &[u64] {
        match self.masks.binary_search_by(|(k, _)| k.cmp(&c)) {
            Ok(at) => &self.masks[at].1,
            Err(_) => &self.other,
        }
    }

    /// Byte offset just after the leftmost complete occurrence in `hay`.
    fn find_end(&self, hay: &str, m: usize) -> Option<usize> {
        let top = m - 1;
        if self.words == 1 {
            let mut state = 0u64;
            for (i, c) in hay.char_indices() {
                state = ((state << 1) | 1) & self.mask(c)[0];
                if state & (1 << top) != 0 {
                    return Some(i + c.len_utf8());
                }
            }
            return None;
        }
        let mut state = vec![0u64; self.words];
        for (i, c) in hay.char_indices() {
            let mask = self.mask(c);
            let mut carry = 1u64;
            for (word, bits) in state.iter_mut().zip(mask) {
                let next_carry = *word >> 63;
                *word = ((*word << 1) | carry) & bits;
                carry = next_carry;
            }
            if state[top / 64] & (1 << (top % 64)) != 0 {
                return Some(i + c.len_utf8());
            }
        }
        None
    }
}

impl Pattern {
    /// Compiles a pattern in which every `*` and `?` is a wildcard.
    pub(crate) fn new(pattern: &str) -> Pattern {
        Pattern::from_pieces(&[(pattern, true)])
    }

    /// Compiles a pattern from pieces; `*`/`?` are wildcards only in pieces marked so.
    pub(crate) fn from_pieces(pieces: &[Piece<'_>]) -> Pattern {
        let mut items = Vec::new();
        for (text, wild) in pieces {
            for c in text.chars() {
                items.push(match c {
                    '*' if *wild => Item::Star,
                    '?' if *wild => Item::Any,
                    c => Item::Char(c),
                });
            }
        }
        Pattern::compile(items)
    }

    fn compile(items: Vec<Item>) -> Pattern {
        let stars = items.iter().filter(|i| matches!(i, Item::Star)).count();
        let anys = items.iter().any(|i| matches!(i, Item::Any));
        if stars == items.len() && stars > 0 {
            return Pattern::Any;
        }
        let literal = |items: &[Item]| -> String {
            items
                .iter()
                .filter_map(|i| match i {
                    Item::Char(c) => Some(*c),
                    _ => None,
                })
                .collect()
        };
        if !anys {
            if stars == 0 {
                return Pattern::Exact(literal(&items));
            }
            if stars == 1 && matches!(items.last(), Some(Item::Star)) {
                return Pattern::Prefix(literal(&items[..items.len() - 1]));
            }
        }
        let mut runs: Vec<Seg> = items
            .split(|i| matches!(i, Item::Star))
            .map(Seg::from_items)
            .collect();
        if stars == 0 {
            let first = runs.pop().unwrap_or_else(|| Seg::from_items(&[]));
            return Pattern::General {
                starred: false,
                first,
                middle: Vec::new(),
                last: Seg::from_items(&[]),
            };
        }
        // `split` yields stars + 1 runs: first, middles (empty ones dropped), last.
        let last = runs.pop().unwrap_or_else(|| Seg::from_items(&[]));
        let mut runs = runs.into_iter();
        let first = runs.next().unwrap_or_else(|| Seg::from_items(&[]));
        let middle = runs.filter(|s| !s.is_empty()).collect();
        Pattern::General {
            starred: true,
            first,
            middle,
            last,
        }
    }

    /// Whether the whole of `text` matches.
    pub(crate) fn matches(&self, text: &str) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Exact(s) => s == text,
            Pattern::Prefix(s) => text.starts_with(s.as_str()),
            Pattern::General {
                starred,
                first,
                middle,
                last,
            } => {
                if !starred {
                    return first.match_at(text, 0) == Some(text.len());
                }
                let Some(mut pos) = first.match_at(text, 0) else {
                    return false;
                };
                let suffix_start = if last.chars == 0 {
                    text.len()
                } else {
                    match text.char_indices().rev().nth(last.chars - 1) {
                        Some((i, _)) => i,
                        None => return false,
                    }
                };
                if suffix_start < pos || last.match_at(text, suffix_start) != Some(text.len()) {
                    return false;
                }
                for seg in middle {
                    match seg.find(text, pos, suffix_start) {
                        Some((_, end)) => pos = end,
                        None => return false,
                    }
                }
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    #[test]
    fn basics() {
        let cases = [
            ("*", "", true),
            ("a*", "abc", true),
            ("*c", "abc", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*a*a*b", "aaaaaaa", false),
            ("*a?*b?", "xxayybz", true),
            ("?", "é", true),
            ("a*b*c", "abbbc", true),
            ("ab*ba", "aba", false),
        ];
        for (p, t, want) in cases {
            assert_eq!(Pattern::new(p).matches(t), want, "{p} vs {t}");
        }
    }

    #[test]
    fn long_bitap_segment() {
        let seg: String = std::iter::repeat_n("a?", 70).collect();
        let pattern = format!("*{seg}*");
        let text: String = "xy".repeat(10) + &"ab".repeat(70) + "zz";
        assert!(Pattern::new(&pattern).matches(&text));
        assert!(!Pattern::new(&pattern).matches(&"ab".repeat(69)));
    }
}
