//! Placeholder: filled in by the state work.
