//! The house has floors (`docs/ARCHITECTURE.md`): `platform` at the bottom, the services above
//! it, `web` and `channels` above the services they present, `app`/`cli` on top. A module may
//! use what is on a lower floor, and services may use each other's public surface so long as no
//! cycle forms; `platform` uses nothing above it. This reads the `crate::X` uses of every file
//! in `src/` (outside `#[cfg(test)]` modules) and fails when an import goes up a floor or
//! closes a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level modules by floor.
fn floor(module: &str) -> u8 {
    match module {
        "platform" => 0,
        "web" | "channels" => 2,
        "app" | "cli" | "main" | "lib" => 3,
        // Every service, and the pack loader that sets them up.
        _ => 1,
    }
}

/// The text with each `#[cfg(test)] mod … { … }` block left out (its braces counted).
fn without_test_modules(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("#[cfg(test)]\nmod ") {
        out.push_str(&rest[..i]);
        let block = &rest[i..];
        let Some(open) = block.find('{') else {
            return out;
        };
        let mut depth = 0;
        let mut end = block.len();
        for (j, c) in block[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &block[end..];
    }
    out.push_str(rest);
    out
}

/// `from -> {to}` for the top-level modules of `src/`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let modules: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_owned())
        .collect();
    assert!(
        modules.contains("platform") && modules.len() > 10,
        "{modules:?}"
    );
    let all = crate::helpers::rust_files(&src);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in all {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let from = first.trim_end_matches(".rs").to_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        let code = without_test_modules(&text);
        for line in code.lines() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            let mut rest = line;
            while let Some(i) = rest.find("crate::") {
                rest = &rest[i + "crate::".len()..];
                // `crate::x::…`, or a group: `crate::{x, y::z}`.
                let names: Vec<String> = match rest.strip_prefix('{') {
                    Some(group) => group[..group.find('}').unwrap_or(group.len())]
                        .split(',')
                        .map(|n| n.trim().split("::").next().unwrap_or("").to_owned())
                        .collect(),
                    None => vec![rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect()],
                };
                for name in names {
                    if modules.contains(&name) && name != from {
                        graph.entry(from.clone()).or_default().insert(name);
                    }
                }
            }
        }
    }
    graph
}

#[test]
fn no_module_imports_a_floor_above_its_own_and_no_import_closes_a_cycle() {
    let graph = imports();
    assert!(
        graph.get("app").is_some_and(|t| t.len() > 10),
        "the scan sees the imports: {graph:?}"
    );
    assert!(
        !graph.contains_key("platform"),
        "the kernel uses nothing above it: {:?}",
        graph.get("platform")
    );
    let mut up = Vec::new();
    for (from, tos) in &graph {
        for to in tos {
            if floor(to) > floor(from) {
                up.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(
        up.is_empty(),
        "imports up a floor (see docs/ARCHITECTURE.md): {up:?}"
    );
    // A cycle: a module that reaches itself.
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        while let Some((at, path)) = stack.pop() {
            for next in graph.get(&at).into_iter().flatten() {
                if next == start {
                    panic!("an import cycle: {} -> {start}", path.join(" -> "));
                }
                if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
}

/// A service's `store` (its SQL) is its own: other services, the pack loader, the channels and
/// the command line use the service's public surface (what its `mod.rs` exports). Only the web
/// pages that present a service read its store directly.
#[test]
fn no_module_but_the_service_and_its_pages_uses_a_services_store() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let with_store: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("store.rs").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        with_store.len() >= 5,
        "services with a store: {with_store:?}"
    );
    let all = crate::helpers::rust_files(&src);
    let mut reaching = Vec::new();
    for file in all {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel.starts_with("web/") {
            continue;
        }
        let code = without_test_modules(&std::fs::read_to_string(&file).unwrap());
        for service in &with_store {
            if rel.starts_with(&format!("{service}/")) {
                continue;
            }
            let direct = format!("{service}::store");
            let group = format!("{service}::{{");
            let in_group = code.match_indices(&group).any(|(i, _)| {
                let inside = &code[i + group.len()..];
                inside[..inside.find('}').unwrap_or(inside.len())]
                    .split(',')
                    .any(|n| n.trim() == "store" || n.trim().starts_with("store::"))
            });
            if code.contains(&direct) || in_group {
                reaching.push(format!("{rel} uses {service}::store"));
            }
        }
    }
    assert!(reaching.is_empty(), "{reaching:#?}");
}
