//! Every example a user reads on the `traced` crate's pages compiles as written
//! in their code: the runtime's doc examples (re-exported by `traced`) name
//! `traced::...`, never `traced_runtime::...`, outside hidden (`# `) lines.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text of a doc comment line (`///` or `//!`), if it is one.
fn doc_text(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let rest = t.strip_prefix("///").or_else(|| t.strip_prefix("//!"))?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

#[test]
fn runtime_doc_examples_use_the_paths_users_write() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("runtime/src"), &mut files);
    rust_files(&root.join("macros/src"), &mut files);
    let mut found = Vec::new();
    let mut examples = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let mut in_rust_block = None::<bool>;
        for (n, line) in text.lines().enumerate() {
            let Some(doc) = doc_text(line) else {
                in_rust_block = None;
                continue;
            };
            if let Some(tag) = doc.trim_start().strip_prefix("```") {
                in_rust_block = match in_rust_block {
                    Some(_) => None,
                    None => {
                        let tag = tag.trim();
                        let rust = tag.is_empty()
                            || tag.starts_with("rust")
                            || ["no_run", "should_panic", "compile_fail", "ignore"].contains(&tag);
                        examples += usize::from(rust);
                        Some(rust)
                    }
                };
                continue;
            }
            let hidden = doc.trim_start().starts_with("# ") || doc.trim() == "#";
            if in_rust_block == Some(true) && !hidden && doc.contains("traced_runtime") {
                found.push(format!("{}:{}: {}", file.display(), n + 1, doc.trim()));
            }
        }
    }
    assert!(examples > 50, "the scan found only {examples} examples");
    assert!(
        found.is_empty(),
        "doc examples that users would copy with a path they cannot write \
         (use `traced::` and a hidden `# use traced_runtime as traced;`):\n{}",
        found.join("\n")
    );
}
