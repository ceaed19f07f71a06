//! The library may not name the simulated cluster. Only the binary's
//! commands on it (`src/sim_commands/`, declared by `src/main.rs`) depend on
//! `cutover-sim`; every module `src/lib.rs` declares (model, cluster,
//! metrics, migrations, app, ui, …) must not know it talks to a simulator.
//! Cargo cannot forbid a dependency to the library alone while the binary
//! has it, so this test reads the library's sources. `scripts/test` runs the
//! same check before compiling.

use std::path::{Path, PathBuf};

/// How the simulator's crate is spelled in code and in manifests.
const SIMULATOR_NAMES: [&str; 2] = ["cutover_sim", "cutover-sim"];

/// The modules `lib.rs` declares (`mod x;`, `pub mod x;`, `pub(crate) mod x;`).
fn library_modules(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub ")
                .or_else(|| line.strip_prefix("pub(crate) "))
                .unwrap_or(line);
            rest.strip_prefix("mod ")?
                .strip_suffix(';')
                .map(str::to_string)
        })
        .collect()
}

/// Every `.rs` file under `path` (a file or a folder).
fn rust_files(path: &Path, found: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("read a source folder") {
            rust_files(&entry.expect("a folder entry").path(), found);
        }
    } else if path.is_file() && path.extension().is_some_and(|e| e == "rs") {
        found.push(path.to_path_buf());
    }
}

#[test]
fn the_library_never_names_the_simulated_cluster() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("read src/lib.rs");
    let modules = library_modules(&lib);
    for layer in [
        "model",
        "cluster",
        "metrics",
        "migrations",
        "app",
        "ui",
        "cli",
    ] {
        assert!(
            modules.iter().any(|m| m == layer),
            "src/lib.rs no longer declares `{layer}` as this test reads it: {modules:?}"
        );
    }
    let mut files = vec![src.join("lib.rs")];
    for module in &modules {
        rust_files(&src.join(format!("{module}.rs")), &mut files);
        rust_files(&src.join(module), &mut files);
    }
    let mut mentions = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read a library source");
        for (number, line) in text.lines().enumerate() {
            if SIMULATOR_NAMES.iter().any(|name| line.contains(name)) {
                let shown = file.strip_prefix(root).unwrap_or(file).display();
                mentions.push(format!("{shown}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(
        mentions.is_empty(),
        "the library names the simulated cluster; only the binary's src/sim_commands/ may \
         (the product must not know it talks to a simulator; see README, How it is built):\n{}",
        mentions.join("\n")
    );
}
