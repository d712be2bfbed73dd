//! Project automation behind `cargo xtask`: a local DaCHS server, fixtures, benchmarks, CI.
//!
//! Not published. The binary (`src/main.rs`) parses the command line and calls into these
//! modules; the tidy tests in `tests/fixtures.rs` call [`tidy`] directly.
//!
//! **Architecture Invariant:** xtask sits beside the layered crates and depends on none of
//! them: it drives them through `cargo` and their examples, and talks HTTP through `curl`,
//! so its own dependencies stay few (anyhow, serde_json).
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod bench;
pub mod ci;
pub mod dachs;
pub mod record;
pub mod tidy;
pub mod util;
