//! `vo-datalink`: see ARCHITECTURE.md.

#![warn(missing_docs)]
