//! `eso-calselector`: see ARCHITECTURE.md.

#![warn(missing_docs)]
