//! Placeholder: filled in by the cql work.
