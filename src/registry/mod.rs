//! Placeholder: filled in by the registry work.
