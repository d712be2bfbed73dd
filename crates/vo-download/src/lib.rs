//! `vo-download`: see ARCHITECTURE.md.

#![warn(missing_docs)]
