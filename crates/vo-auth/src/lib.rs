//! `vo-auth`: see ARCHITECTURE.md.

#![warn(missing_docs)]
