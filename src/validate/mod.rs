//! Placeholder: filled in by the validate work.
