//! Placeholder: filled in by the placement work.
