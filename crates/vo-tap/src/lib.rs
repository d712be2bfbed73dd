//! `vo-tap`: see ARCHITECTURE.md.

#![warn(missing_docs)]
