//! The module graph stays a graph without cycles: no top-level module of `src/` reaches back to
//! itself through `crate::` paths. Composition (`app`, `api`, `dashboard`, `demo`) sits at the
//! top, the domains in the middle, the shells (`web`, `web::api`) and the foundation (`db`,
//! `events`, `actors`, `state`, `auth`, ...) below. A cycle fails this test with the files that
//! make it.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// module -> module it uses -> files that use it.
type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir).expect("src is readable").filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/orders/api.rs` → `orders`, `src/app.rs` → `app`).
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a path").as_os_str().to_string_lossy().into_owned();
    first.strip_suffix(".rs").map(str::to_owned).unwrap_or(first)
}

/// The text without line comments (doc comments name modules in prose).
fn strip_comments(text: &str) -> String {
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn ident_at(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// The first segment of every path a `crate::` reference names, groups included
/// (`crate::{db::Db, orders}` names `db` and `orders`).
fn referenced(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = text[from..].find("crate::") {
        let start = from + at;
        from = start + "crate::".len();
        if start > 0 && (bytes[start - 1] == b'$' || bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            continue;
        }
        let rest = &text[from..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => item_start = true,
                    c if item_start && depth == 1 && !c.is_whitespace() => {
                        item_start = false;
                        let name = ident_at(&group[i..]);
                        if !name.is_empty() {
                            out.push(name.to_owned());
                        }
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident_at(rest);
            if !name.is_empty() {
                out.push(name.to_owned());
            }
        }
    }
    out
}

/// Names `#[macro_export]` puts at the crate root, and the module that defines each.
fn exported_macros(files: &[(String, String, String)]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (module, _, text) in files {
        let mut rest = text.as_str();
        while let Some(at) = rest.find("#[macro_export]") {
            rest = &rest[at..];
            if let Some(m) = rest.find("macro_rules!") {
                let name = ident_at(rest[m + "macro_rules!".len()..].trim_start());
                out.insert(name.to_owned(), module.clone());
            }
            rest = &rest["#[macro_export]".len()..];
        }
    }
    out
}

fn graph_of(src: &Path) -> Graph {
    let mut paths = Vec::new();
    rust_files(src, &mut paths);
    let files: Vec<(String, String, String)> = paths
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(src).expect("under src").display().to_string();
            (top_module(src, p), rel, strip_comments(&fs::read_to_string(p).expect("readable")))
        })
        .filter(|(m, _, _)| m != "lib" && m != "main")
        .collect();
    let macros = exported_macros(&files);
    let mut graph = Graph::new();
    for (module, rel, text) in &files {
        graph.entry(module.clone()).or_default();
        for name in referenced(text) {
            let target = macros.get(&name).cloned().unwrap_or(name);
            if target != *module && target != "self" {
                graph.entry(module.clone()).or_default().entry(target).or_default().insert(rel.clone());
            }
        }
    }
    graph
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flat_map(|e| e.keys()) {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    self.low.entry(v).and_modify(|l| *l = (*l).min(lw));
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    self.low.entry(v).and_modify(|l| *l = (*l).min(iw));
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk =
        Walk { graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), on_stack: BTreeSet::new(), found: Vec::new() };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn top_level_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph_of(&src);
    assert!(graph.len() > 20, "the walk found the modules ({})", graph.len());
    let mut report = String::new();
    for component in cycles(&graph) {
        report.push_str(&format!("cycle between {}:\n", component.join(", ")));
        for a in &component {
            for (b, files) in &graph[a] {
                if component.contains(b) {
                    report.push_str(&format!("  {a} -> {b} in {}\n", files.iter().cloned().collect::<Vec<_>>().join(", ")));
                }
            }
        }
    }
    assert!(report.is_empty(), "{report}");
}

#[test]
fn the_check_sees_a_cycle_through_groups_and_exported_macros() {
    let dir = std::env::temp_dir().join(format!("delivr-architecture-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("orders")).unwrap();
    fs::write(dir.join("orders/mod.rs"), "use crate::{db::Db, wallet::{self, book}};\n").unwrap();
    fs::write(dir.join("wallet.rs"), "// crate::app in a comment is not a use\nfn f() { crate::lock_it!(); }\n").unwrap();
    fs::write(dir.join("db.rs"), "use crate::orders;\n#[macro_export]\nmacro_rules! lock_it { () => { $crate::nothing() } }\n").unwrap();
    fs::write(dir.join("app.rs"), "").unwrap();
    let graph = graph_of(&dir);
    let found = cycles(&graph);
    fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found, vec![vec!["db".to_owned(), "orders".to_owned(), "wallet".to_owned()]]);
    assert!(!graph["wallet"].contains_key("app"), "comments are not uses");
}
