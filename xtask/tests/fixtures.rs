//! Tidy tests over the whole workspace: fixture metadata, secrets, the fixture index,
//! module docs, and the layering of `votable`.

use std::path::Path;

use xtask::tidy::{self, Mode};
use xtask::util;

fn fail_with(problems: &[String], what: &str) {
    assert!(
        problems.is_empty(),
        "{what}:\n  {}\n",
        problems.join("\n  ")
    );
}

#[test]
fn every_fixture_has_metadata() {
    let problems = tidy::metadata_problems(&tidy::fixtures_dir()).unwrap();
    fail_with(&problems, "fixture metadata problems");
}

#[test]
fn no_fixture_contains_a_secret() {
    let problems = tidy::secret_problems(&tidy::fixtures_dir()).unwrap();
    fail_with(&problems, "secrets in fixtures");
}

#[test]
fn fixture_index_is_fresh() {
    if let Err(err) = tidy::codegen(Mode::Verify) {
        panic!("{err:#}");
    }
}

#[test]
fn every_crate_root_starts_with_module_docs() {
    let root = util::root();
    let mut crate_dirs = vec![root.join("xtask")];
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        crate_dirs.push(entry.unwrap().path());
    }
    let mut problems = Vec::new();
    for dir in crate_dirs {
        let src = dir.join("src");
        let roots: Vec<_> = ["lib.rs", "main.rs"]
            .iter()
            .map(|name| src.join(name))
            .filter(|path| path.is_file())
            .collect();
        if roots.is_empty() {
            problems.push(format!("{}: no src/lib.rs or src/main.rs", dir.display()));
        }
        for path in roots {
            let text = std::fs::read_to_string(&path).unwrap();
            let first = text.lines().find(|line| !line.trim().is_empty());
            if !first.is_some_and(|line| line.starts_with("//!")) {
                problems.push(format!(
                    "{}: does not start with `//!` docs",
                    path.display()
                ));
            }
        }
    }
    fail_with(&problems, "crate roots without module docs");
}

/// Dependency names declared in any `[*dependencies*]` table of a Cargo.toml.
fn declared_dependencies(manifest: &str) -> Vec<String> {
    let mut deps = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[') {
            let header = header.trim_end_matches(']');
            // `[dependencies]`, `[dev-dependencies]`, `[target.'cfg(..)'.dependencies]`,
            // and the dotted form `[dependencies.reqwest]`.
            let parts: Vec<&str> = header.split('.').collect();
            match parts.iter().position(|part| part.ends_with("dependencies")) {
                Some(idx) if idx + 1 < parts.len() => {
                    deps.push(parts[idx + 1].trim().to_owned());
                    in_deps = false;
                }
                Some(_) => in_deps = true,
                None => in_deps = false,
            }
            continue;
        }
        if in_deps
            && !line.starts_with('#')
            && let Some((name, _)) = line.split_once('=')
        {
            let name = name.trim().trim_matches('"');
            deps.push(name.split('.').next().unwrap_or(name).to_owned());
        }
    }
    deps
}

#[test]
fn votable_does_not_depend_on_network_crates() {
    let manifest = util::root().join("crates/votable/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let deps = declared_dependencies(&text);
    assert!(
        deps.iter().any(|dep| dep == "quick-xml"),
        "parser sanity: {deps:?}"
    );
    for banned in ["reqwest", "tokio", "hyper", "ureq"] {
        assert!(
            !deps.iter().any(|dep| dep == banned),
            "{} depends on {banned}: votable must do no network I/O",
            manifest.display()
        );
    }
}

#[test]
fn dependency_scanner_sees_every_table_form() {
    let manifest = "[package]\nname = \"x\"\n[dependencies]\nquick-xml.workspace = true\n\
        tokio = { version = \"1\" }\n[dev-dependencies]\nproptest = \"1\"\n\
        [target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\n[dependencies.reqwest]\nversion = \"0.12\"\n";
    assert_eq!(
        declared_dependencies(manifest),
        ["quick-xml", "tokio", "proptest", "libc", "reqwest"]
    );
}

#[test]
fn fixtures_dir_exists() {
    assert!(Path::new(&tidy::fixtures_dir()).is_dir());
}
