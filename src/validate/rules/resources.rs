//! Rules of this area: see the catalogue section named in `rules/mod.rs`.

use crate::validate::Context;

/// Runs this area's rules.
pub(super) fn check(_context: &mut Context<'_>) {}
