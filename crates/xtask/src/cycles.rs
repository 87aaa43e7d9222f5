//! `cargo xtask cycles [CRATE_DIR...]`: finds import cycles between the source files of a crate.
//!
//! The project forbids them (`shared/STYLE.md`, practice 1): a file that depends on a file that
//! depends back on it cannot be understood, tested or moved on its own, and such knots only grow.
//! The compiler allows them, so this check is what keeps them out.
//!
//! Each `.rs` file under `src/` is a module: `lib.rs` (or `main.rs`) is the crate root, `a.rs`
//! and `a/mod.rs` are `a`, `a/b.rs` is `a::b`. Inline `mod x { ... }` blocks (`mod tests`) belong
//! to their file. An edge goes from a file to the file a path in its code names:
//!
//! * `use` declarations, grouped ones too (`use crate::{a, b::{c, d}}`), and paths written inline
//!   anywhere in the code (`crate::a::f()`, `$crate::a::f` in macros);
//! * paths starting with `crate`, `self`, `super` (any number), or with the name of a child module
//!   of the module the code is in (`writer::spawn()` in `lib.rs` is `self::writer::spawn()`).
//!
//! A path goes to the deepest file module it starts with: `crate::a::b::Item` to `a/b.rs` if that
//! is a file, else to `a.rs`; `crate::Item` (an item defined or re-exported at the root) to the
//! root file. Comments, doc comments and string literals are not code; `mod x;` declares a module
//! but is not an import; a reference to the file itself (`use super::*` in `mod tests`) is no edge.
//!
//! Cycles are found as the strongly connected components (Tarjan) of more than one file. Each
//! such group is printed as a shortest cycle through each of its files and every edge inside it,
//! with the `file:line` of the first reference that makes the edge.
//!
//! Not covered: `src/bin/` and a `main.rs` beside `lib.rs` (other targets of the crate), `#[path]`
//! attributes, and names brought in by glob imports other than a `mod tests`' `use super::*` (an
//! inline module sees the child modules of the modules around it in its file).

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// `cargo xtask cycles [CRATE_DIR...]`: checks the given crates, or every crate under `crates/`,
/// prints what it finds and fails when any crate has a cycle.
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let dirs = if args.is_empty() {
        all_crates(root)?
    } else {
        args.iter()
            .map(|a| crate_dir(root, a))
            .collect::<Result<_, _>>()?
    };
    let mut knotted = 0;
    let mut total = 0;
    for dir in &dirs {
        let name = display_path(root, dir);
        let files = read_crate(dir, &name)?;
        let graph = Graph::build(&files);
        let cycles = graph.cycles();
        println!("{}", report(&name, &files, &graph, &cycles));
        if !cycles.is_empty() {
            knotted += 1;
            total += cycles.len();
        }
    }
    let crates = plural(dirs.len(), "crate");
    if total == 0 {
        println!("xtask: no import cycles between files in {crates}");
        Ok(())
    } else {
        Err(format!(
            "import cycles between files: {} in {knotted} of {crates} (listed above)",
            plural(total, "group")
        ))
    }
}

/// `1 crate`, `2 crates`.
fn plural(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Every directory under `crates/` with a `src/` directory, in name order.
fn all_crates(root: &Path) -> Result<Vec<PathBuf>, String> {
    let crates = root.join("crates");
    let entries =
        fs::read_dir(&crates).map_err(|e| format!("listing {}: {e}", crates.display()))?;
    let mut dirs = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("listing {}: {e}", crates.display()))?
            .path();
        if path.join("src").is_dir() {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// A crate directory named on the command line: as given (from the current directory), else
/// from the workspace root, so `cargo xtask cycles crates/store` works from anywhere in it.
fn crate_dir(root: &Path, arg: &str) -> Result<PathBuf, String> {
    [PathBuf::from(arg), root.join(arg)]
        .into_iter()
        .find(|dir| dir.join("src").is_dir())
        .ok_or_else(|| format!("{arg}: not a crate directory (it has no src/ directory)"))
}

fn display_path(root: &Path, path: &Path) -> String {
    let absolute = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    absolute
        .strip_prefix(&root)
        .unwrap_or(&absolute)
        .display()
        .to_string()
}

/// One source file of a crate: where it is, the module it is, and its text.
#[derive(Debug)]
struct SourceFile {
    /// The path shown in the report (`crates/store/src/writer.rs`).
    shown: String,
    /// The module path from the crate root (`["osm", "pbf"]`; empty for the root).
    module: Vec<String>,
    text: String,
}

/// Reads every module file under `dir/src`, sorted by path so reports are stable.
fn read_crate(dir: &Path, name: &str) -> Result<Vec<SourceFile>, String> {
    let src = dir.join("src");
    let mut paths = Vec::new();
    collect_rs(&src, &mut paths)?;
    paths.sort();
    let rel: Vec<String> = paths
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap_or(p);
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    let has_lib = rel.iter().any(|r| r == "lib.rs");
    let mut files = Vec::new();
    for (path, rel) in paths.iter().zip(&rel) {
        let Some(module) = module_path(rel, has_lib) else {
            continue;
        };
        let text =
            fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        files.push(SourceFile {
            shown: format!("{name}/src/{rel}"),
            module,
            text,
        });
    }
    if !files.iter().any(|f| f.module.is_empty()) {
        return Err(format!("{name}: no src/lib.rs or src/main.rs"));
    }
    Ok(files)
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("listing {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("listing {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_rs(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The module a file under `src/` is (`rel` with `/` separators), or `None` for a file of another
/// target: `src/bin/`, or `main.rs` when there is a `lib.rs`.
fn module_path(rel: &str, has_lib: bool) -> Option<Vec<String>> {
    let mut parts: Vec<String> = rel.split('/').map(str::to_owned).collect();
    let file = parts.pop()?;
    if parts.first().is_some_and(|d| d == "bin") {
        return None;
    }
    let stem = file.strip_suffix(".rs")?;
    match (parts.is_empty(), stem) {
        (true, "lib") | (false, "mod") => Some(parts),
        (true, "main") => (!has_lib).then_some(parts),
        _ => {
            parts.push(stem.to_owned());
            Some(parts)
        }
    }
}

/// The file-to-file graph of one crate.
#[derive(Debug)]
struct Graph {
    /// `edges[from]`: target file → the references that make the edge, in source order.
    edges: Vec<BTreeMap<usize, Vec<Reference>>>,
}

/// A path in the code that names another file of the crate.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    /// 1-based line in the referring file.
    line: usize,
    /// The path as the code writes it (`crate::status::Action`, `super::Error`).
    written: String,
}

impl Graph {
    fn build(files: &[SourceFile]) -> Self {
        let by_module: HashMap<&[String], usize> = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.module.as_slice(), i))
            .collect();
        let edges = files
            .iter()
            .enumerate()
            .map(|(from, file)| {
                let mut out: BTreeMap<usize, Vec<Reference>> = BTreeMap::new();
                for (path, reference) in paths_in(file, &by_module) {
                    let to = (0..=path.len())
                        .rev()
                        .find_map(|k| by_module.get(&path[..k]).copied());
                    if let Some(to) = to.filter(|&to| to != from) {
                        out.entry(to).or_default().push(reference);
                    }
                }
                out
            })
            .collect();
        Graph { edges }
    }

    /// The strongly connected components of more than one file (Tarjan), each sorted, in the
    /// order of their first file.
    fn cycles(&self) -> Vec<Vec<usize>> {
        let mut tarjan = Tarjan {
            graph: self,
            next: 0,
            index: vec![None; self.edges.len()],
            low: vec![0; self.edges.len()],
            stack: Vec::new(),
            on_stack: vec![false; self.edges.len()],
            components: Vec::new(),
        };
        for v in 0..self.edges.len() {
            if tarjan.index[v].is_none() {
                tarjan.visit(v);
            }
        }
        let mut cycles: Vec<Vec<usize>> = tarjan
            .components
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|mut c| {
                c.sort_unstable();
                c
            })
            .collect();
        cycles.sort();
        cycles
    }

    /// A shortest cycle through `start`, as the files along it (`start` again at the end):
    /// breadth-first inside `component`, the strongly connected component of `start`.
    fn shortest_cycle(&self, start: usize, component: &[usize]) -> Vec<usize> {
        let mut came_from: HashMap<usize, usize> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(v) = queue.pop_front() {
            for &w in self.edges[v].keys() {
                if !component.contains(&w) {
                    continue;
                }
                if w == start {
                    let mut path = vec![start, v];
                    let mut at = v;
                    while at != start {
                        at = came_from[&at];
                        path.push(at);
                    }
                    path.reverse();
                    return path;
                }
                if let Entry::Vacant(e) = came_from.entry(w) {
                    e.insert(v);
                    queue.push_back(w);
                }
            }
        }
        vec![start]
    }
}

/// Tarjan's algorithm, recursive: a crate has tens of files, far from any stack limit.
struct Tarjan<'g> {
    graph: &'g Graph,
    next: usize,
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    stack: Vec<usize>,
    on_stack: Vec<bool>,
    components: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    fn visit(&mut self, v: usize) {
        self.index[v] = Some(self.next);
        self.low[v] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        for &w in self.graph.edges[v].keys() {
            match self.index[w] {
                None => {
                    self.visit(w);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(iw) if self.on_stack[w] => self.low[v] = self.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(self.low[v]) == self.index[v] {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            self.components.push(component);
        }
    }
}

/// The report of one crate: a line when it has no cycle, else, for each strongly connected
/// component, a shortest cycle through each of its files and every edge inside it.
fn report(name: &str, files: &[SourceFile], graph: &Graph, cycles: &[Vec<usize>]) -> String {
    if cycles.is_empty() {
        let edges: usize = graph.edges.iter().map(BTreeMap::len).sum();
        return format!(
            "{name}: no import cycles ({} files, {edges} edges)",
            files.len()
        );
    }
    let mut out = format!(
        "{name}: {} of files in import cycles",
        plural(cycles.len(), "group")
    );
    for (n, component) in cycles.iter().enumerate() {
        let _ = write!(
            out,
            "\n  group {} ({} files that all reach each other)\n    cycles:",
            n + 1,
            component.len(),
        );
        // The same cycle is found from each of its files: keep one, started at its first file.
        let mut seen = BTreeSet::new();
        for &start in component {
            let mut cycle = graph.shortest_cycle(start, component);
            cycle.pop();
            let first = cycle
                .iter()
                .enumerate()
                .min_by_key(|(_, f)| **f)
                .map_or(0, |(i, _)| i);
            cycle.rotate_left(first);
            if seen.insert(cycle.clone()) {
                let names: Vec<&str> = cycle
                    .iter()
                    .chain(&cycle[..1])
                    .map(|&f| files[f].shown.as_str())
                    .collect();
                let _ = write!(out, "\n      {}", names.join(" -> "));
            }
        }
        out.push_str("\n    edges:");
        for &from in component {
            for (to, refs) in graph.edges[from].range(..) {
                if !component.contains(to) {
                    continue;
                }
                let first = &refs[0];
                let _ = write!(
                    out,
                    "\n      {}:{} -> {}  ({})",
                    files[from].shown, first.line, files[*to].shown, first.written
                );
                if refs.len() > 1 {
                    let _ = write!(out, " and {} more", refs.len() - 1);
                }
            }
        }
    }
    out
}

/// Every path in `file`'s code that may name a module of the crate, made absolute (segments from
/// the crate root), with where it is written. Paths into other crates are left out.
fn paths_in(
    file: &SourceFile,
    by_module: &HashMap<&[String], usize>,
) -> Vec<(Vec<String>, Reference)> {
    let code = blank_non_code(&file.text);
    let tokens = tokenize(&code);
    let inline = inline_modules(&tokens);
    // The module the code at token `i` is in: the file's, then the inline blocks around it.
    let scope_at = |i: usize| {
        let mut module = file.module.clone();
        module.extend(
            inline
                .iter()
                .filter(|m| m.open < i && i < m.close)
                .map(|m| m.name.clone()),
        );
        module
    };
    let inline_paths: Vec<Vec<String>> = inline
        .iter()
        .map(|m| {
            let mut path = file.module.clone();
            path.extend(m.outer.iter().cloned());
            path.push(m.name.clone());
            path
        })
        .collect();
    let is_module =
        |path: &[String]| by_module.contains_key(path) || inline_paths.iter().any(|p| p == path);
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let after_sep = i > 0 && matches!(tokens[i - 1].tok, Tok::PathSep | Tok::Punct(b'.'));
        let next_is_sep = matches!(tokens.get(i + 1).map(|t| &t.tok), Some(Tok::PathSep));
        match &tokens[i].tok {
            Tok::Ident(word) if word == "use" && !after_sep => {
                let mut trees = Vec::new();
                let end = use_tree(&tokens, i + 1, &mut Vec::new(), &mut trees);
                let scope = scope_at(i);
                for (segments, line) in trees {
                    if let Some(path) = absolute(&segments, &scope, &file.module, &is_module) {
                        let written = segments.join("::");
                        found.push((path, Reference { line, written }));
                    }
                }
                i = end;
            }
            Tok::Ident(_) if next_is_sep && !after_sep => {
                let mut segments = Vec::new();
                let mut j = i;
                while let Some(Tok::Ident(word)) = tokens.get(j).map(|t| &t.tok) {
                    segments.push(word.clone());
                    if !matches!(tokens.get(j + 1).map(|t| &t.tok), Some(Tok::PathSep)) {
                        break;
                    }
                    j += 2;
                }
                let scope = scope_at(i);
                if let Some(path) = absolute(&segments, &scope, &file.module, &is_module) {
                    let written = segments.join("::");
                    found.push((
                        path,
                        Reference {
                            line: tokens[i].line,
                            written,
                        },
                    ));
                }
                i = j.max(i + 1);
            }
            _ => i += 1,
        }
    }
    found
}

/// `segments` as written in module `scope` of a file that is module `file_module`, made absolute:
/// `None` when the path does not start in this crate (another crate, `std`, a local item).
fn absolute(
    segments: &[String],
    scope: &[String],
    file_module: &[String],
    is_module: &dyn Fn(&[String]) -> bool,
) -> Option<Vec<String>> {
    let first = segments.first()?;
    let mut base: Vec<String>;
    let mut rest = segments;
    if first == "crate" {
        base = Vec::new();
        rest = &segments[1..];
    } else if first == "self" || first == "super" {
        base = scope.to_vec();
        while let Some(word) = rest.first() {
            match word.as_str() {
                "self" => {}
                "super" => {
                    base.pop()?;
                }
                _ => break,
            }
            rest = &rest[1..];
        }
    } else {
        // A child module of the scope, or (inside an inline `mod tests`) of a module around it
        // in the same file, which `use super::*` brings into scope.
        base = (file_module.len()..=scope.len())
            .rev()
            .map(|depth| scope[..depth].to_vec())
            .find(|outer| {
                let mut candidate = outer.clone();
                candidate.push(first.clone());
                is_module(&candidate)
            })?;
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// A token of blanked code: what the path and `use` parsers need, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    tok: Tok,
    line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(u8),
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Splits code (already blanked by [`blank_non_code`]) into identifiers, `::` and single
/// punctuation bytes. Numbers are dropped.
fn tokenize(code: &str) -> Vec<Token> {
    let b = code.as_bytes();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
            i += 1;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            while i < b.len() && is_ident_byte(b[i]) {
                i += 1;
            }
        } else if is_ident_byte(c) {
            let start = i;
            while i < b.len() && is_ident_byte(b[i]) {
                i += 1;
            }
            let word = String::from_utf8_lossy(&b[start..i]).into_owned();
            tokens.push(Token {
                tok: Tok::Ident(word),
                line,
            });
        } else if c == b':' && b.get(i + 1) == Some(&b':') {
            tokens.push(Token {
                tok: Tok::PathSep,
                line,
            });
            i += 2;
        } else {
            tokens.push(Token {
                tok: Tok::Punct(c),
                line,
            });
            i += 1;
        }
    }
    tokens
}

/// An inline `mod name { ... }` block: its name, the modules it is inside (in this file), and the
/// token indices of its braces.
#[derive(Debug)]
struct InlineModule {
    name: String,
    outer: Vec<String>,
    open: usize,
    close: usize,
}

fn inline_modules(tokens: &[Token]) -> Vec<InlineModule> {
    let mut found: Vec<InlineModule> = Vec::new();
    for i in 0..tokens.len() {
        let (Tok::Ident(kw), Some(Tok::Ident(name)), Some(Tok::Punct(b'{'))) = (
            &tokens[i].tok,
            tokens.get(i + 1).map(|t| &t.tok),
            tokens.get(i + 2).map(|t| &t.tok),
        ) else {
            continue;
        };
        if kw != "mod" {
            continue;
        }
        let open = i + 2;
        let mut depth = 0usize;
        let mut close = tokens.len();
        for (j, t) in tokens.iter().enumerate().skip(open) {
            match t.tok {
                Tok::Punct(b'{') => depth += 1,
                Tok::Punct(b'}') => {
                    depth -= 1;
                    if depth == 0 {
                        close = j;
                        break;
                    }
                }
                _ => {}
            }
        }
        let outer = found
            .iter()
            .filter(|m| m.open < open && open < m.close)
            .map(|m| m.name.clone())
            .collect();
        found.push(InlineModule {
            name: name.clone(),
            outer,
            open,
            close,
        });
    }
    found
}

/// Parses the `use` tree starting at token `i` (after `use`, or inside a group), adding each
/// path it names (without a trailing `self`, with the line of its last segment) to `out`.
/// Returns the index of the first token after the tree.
fn use_tree(
    tokens: &[Token],
    mut i: usize,
    prefix: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, usize)>,
) -> usize {
    let depth = prefix.len();
    let mut line = tokens.get(i).map_or(0, |t| t.line);
    loop {
        match tokens.get(i).map(|t| &t.tok) {
            Some(Tok::Ident(word)) => {
                line = tokens[i].line;
                prefix.push(word.clone());
                i += 1;
                if matches!(tokens.get(i).map(|t| &t.tok), Some(Tok::PathSep)) {
                    i += 1;
                    continue;
                }
                if matches!(tokens.get(i).map(|t| &t.tok), Some(Tok::Ident(w)) if w == "as") {
                    i += 2;
                }
                break;
            }
            // A leading `::` names another crate: an empty segment no module starts with.
            Some(Tok::PathSep) if prefix.len() == depth => {
                prefix.push(String::new());
                i += 1;
            }
            Some(Tok::Punct(b'{')) => {
                i += 1;
                while let Some(t) = tokens.get(i) {
                    match t.tok {
                        Tok::Punct(b'}') => {
                            i += 1;
                            break;
                        }
                        Tok::Punct(b',') => i += 1,
                        _ => {
                            let next = use_tree(tokens, i, prefix, out);
                            // Malformed input: step on rather than loop forever.
                            i = next.max(i + 1);
                        }
                    }
                }
                prefix.truncate(depth);
                return i;
            }
            Some(Tok::Punct(b'*')) => {
                line = tokens[i].line;
                i += 1;
                break;
            }
            _ => break,
        }
    }
    let mut path = prefix.clone();
    if path.last().is_some_and(|s| s == "self") {
        path.pop();
    }
    if !path.is_empty() {
        out.push((path, line));
    }
    prefix.truncate(depth);
    i
}

/// `src` with every comment, string, byte-string and character literal replaced by spaces
/// (newlines kept, so lines and byte offsets stay), leaving only code to look for paths in.
fn blank_non_code(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for byte in &mut out[from..to.min(b.len())] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        let end = match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| i + p),
            b'/' if b.get(i + 1) == Some(&b'*') => block_comment_end(b, i),
            b'"' => string_end(b, i + 1),
            b'\'' => {
                let Some(end) = char_literal_end(b, i) else {
                    i += 1; // a lifetime or a label
                    continue;
                };
                end
            }
            c if is_ident_byte(c) => {
                let start = i;
                while i < b.len() && is_ident_byte(b[i]) {
                    i += 1;
                }
                if let Some(end) = raw_string_end(b, start, i) {
                    blank(&mut out, start, end);
                    i = end;
                }
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        blank(&mut out, i, end);
        i = end;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The end (exclusive) of the block comment opening at `start`; they nest.
fn block_comment_end(b: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < b.len() {
        match (b[i], b[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    b.len()
}

/// The end (exclusive) of a string whose text starts at `i` (after its opening quote).
fn string_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// The end (exclusive) of the character literal opening at `start`, or `None` when the quote
/// starts a lifetime or a label (`'a`, `'static`, `'outer:`).
fn char_literal_end(b: &[u8], start: usize) -> Option<usize> {
    let next = *b.get(start + 1)?;
    if next == b'\\' {
        // '\n', '\'', '\x7f', '\u{1F600}': the closing quote is the first after the escaped byte.
        let close = b.get(start + 3..)?.iter().position(|&c| c == b'\'')?;
        return Some(start + 3 + close + 1);
    }
    let width = match next {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    };
    (b.get(start + 1 + width) == Some(&b'\'')).then_some(start + 2 + width)
}

/// When the identifier `b[start..ident_end]` is the prefix of a raw string (`r"…"`, `r#"…"#`,
/// `br"…"`, `cr"…"`), the end (exclusive) of that string.
fn raw_string_end(b: &[u8], start: usize, ident_end: usize) -> Option<usize> {
    if !matches!(&b[start..ident_end], b"r" | b"br" | b"cr") {
        return None;
    }
    let hashes = b[ident_end..].iter().take_while(|&&c| c == b'#').count();
    let open = ident_end + hashes;
    if b.get(open) != Some(&b'"') {
        return None; // a raw identifier (`r#type`) or a plain name
    }
    let mut i = open + 1;
    while i < b.len() {
        if b[i] == b'"'
            && b[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == b'#')
                .count()
                == hashes
        {
            return Some(i + 1 + hashes);
        }
        i += 1;
    }
    Some(b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A crate in memory: (path under `src/`, text) pairs, in path order as [`read_crate`] has them.
    fn crate_of(files: &[(&str, &str)]) -> Vec<SourceFile> {
        let mut files = files.to_vec();
        files.sort_unstable();
        files
            .iter()
            .filter_map(|(rel, text)| {
                Some(SourceFile {
                    shown: format!("src/{rel}"),
                    module: module_path(rel, true)?,
                    text: (*text).to_owned(),
                })
            })
            .collect()
    }

    /// The edges of a crate as `from -> to` strings, sorted.
    fn edges(files: &[SourceFile]) -> Vec<String> {
        let graph = Graph::build(files);
        let mut out: Vec<String> = graph
            .edges
            .iter()
            .enumerate()
            .flat_map(|(from, tos)| {
                tos.keys()
                    .map(move |&to| format!("{} -> {}", files[from].shown, files[to].shown))
            })
            .collect();
        out.sort();
        out
    }

    fn cycle_files(files: &[SourceFile]) -> Vec<Vec<&str>> {
        Graph::build(files)
            .cycles()
            .iter()
            .map(|c| c.iter().map(|&f| files[f].shown.as_str()).collect())
            .collect()
    }

    #[test]
    fn maps_files_to_modules() {
        let m = |rel, has_lib| module_path(rel, has_lib).map(|m| m.join("::"));
        assert_eq!(m("lib.rs", true).as_deref(), Some(""));
        assert_eq!(m("main.rs", false).as_deref(), Some(""));
        assert_eq!(m("main.rs", true), None);
        assert_eq!(m("a.rs", true).as_deref(), Some("a"));
        assert_eq!(m("a/mod.rs", true).as_deref(), Some("a"));
        assert_eq!(m("a/b.rs", true).as_deref(), Some("a::b"));
        assert_eq!(m("a/b/mod.rs", true).as_deref(), Some("a::b"));
        assert_eq!(m("bin/tool.rs", true), None);
    }

    #[test]
    fn finds_a_cycle_with_its_lines() {
        let files = crate_of(&[
            ("lib.rs", "pub mod a;\npub mod b;\nmod c;\n"),
            ("a.rs", "//! A.\n\nuse crate::b::Thing;\n"),
            ("b.rs", "pub struct Thing;\n\nfn f() { super::a::g(); }\n"),
            ("c.rs", "use crate::a::g;\n"),
        ]);
        assert_eq!(
            cycle_files(&files),
            vec![vec!["src/a.rs", "src/b.rs"]],
            "c uses a but nothing uses c: not part of the cycle"
        );
        let graph = Graph::build(&files);
        let cycles = graph.cycles();
        let text = report("demo", &files, &graph, &cycles);
        assert!(
            text.contains("\n      src/a.rs -> src/b.rs -> src/a.rs\n"),
            "{text}"
        );
        assert!(
            !text.contains("src/b.rs -> src/a.rs -> src/b.rs"),
            "one cycle, once: {text}"
        );
        assert!(
            text.contains("src/a.rs:3 -> src/b.rs  (crate::b::Thing)"),
            "{text}"
        );
        assert!(
            text.contains("src/b.rs:3 -> src/a.rs  (super::a::g)"),
            "{text}"
        );
    }

    #[test]
    fn a_crate_without_cycles_passes() {
        let files = crate_of(&[
            ("lib.rs", "mod a;\nmod b;\npub use a::A;\n"),
            (
                "a.rs",
                "use crate::b::B;\npub struct A(B);\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use super::super::b::B;\n}\n",
            ),
            ("b.rs", "pub struct B;\n"),
        ]);
        assert_eq!(
            edges(&files),
            vec!["src/a.rs -> src/b.rs", "src/lib.rs -> src/a.rs"],
            "`use super::*` in mod tests is the file itself; `super::super` is the root's child"
        );
        assert!(cycle_files(&files).is_empty());
    }

    #[test]
    fn an_item_at_the_root_is_an_edge_to_the_root() {
        let files = crate_of(&[
            (
                "lib.rs",
                "mod a;\npub const LIMIT: u32 = 3;\nfn f() { a::go(); }\n",
            ),
            ("a.rs", "pub fn go() -> u32 { crate::LIMIT }\n"),
        ]);
        assert_eq!(
            cycle_files(&files),
            vec![vec!["src/a.rs", "src/lib.rs"]],
            "lib calls a::go (a child module), a reads crate::LIMIT"
        );
    }

    #[test]
    fn parses_grouped_use() {
        let files = crate_of(&[
            ("lib.rs", "mod a;\nmod b;\nmod c;\nmod d;\n"),
            (
                "a.rs",
                "use crate::{\n    b::{self, X as Y},\n    c::{d::{*}},\n};\nuse ::c::Other;\n",
            ),
            ("b.rs", ""),
            ("c.rs", "pub mod d;\n"),
            ("c/d.rs", ""),
            ("d.rs", ""),
        ]);
        assert_eq!(
            edges(&files),
            vec!["src/a.rs -> src/b.rs", "src/a.rs -> src/c/d.rs"],
            "`mod d;` is no import, `::c` is another crate"
        );
        let mut trees = Vec::new();
        let tokens = tokenize("crate::{\n  b::{self, X as Y},\n  c::{d::{*}},\n};");
        use_tree(&tokens, 0, &mut Vec::new(), &mut trees);
        let trees: Vec<(String, usize)> =
            trees.into_iter().map(|(p, l)| (p.join("::"), l)).collect();
        assert_eq!(
            trees,
            vec![
                ("crate::b".to_owned(), 2),
                ("crate::b::X".to_owned(), 2),
                ("crate::c::d".to_owned(), 3),
            ]
        );
    }

    #[test]
    fn ignores_strings_and_comments() {
        let files = crate_of(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            (
                "a.rs",
                concat!(
                    "/// Calls `crate::b::f()`.\n",
                    "// use crate::b::f;\n",
                    "/* crate::b::f /* nested */ crate::b::f */\n",
                    "const S: &str = \"crate::b::f\";\n",
                    "const R: &str = r#\"say \"crate::b::f\" \"#;\n",
                    "const Q: char = '\"'; const T: &str = \"crate::b::f\";\n",
                    "fn g<'a>(x: &'a str) -> &'a str { x }\n",
                    "const E: &str = \"\\\" crate::b::f\";\n",
                ),
            ),
            ("b.rs", "pub fn f() {}\n"),
        ]);
        assert!(edges(&files).is_empty(), "{:?}", edges(&files));
        let code = blank_non_code("let s = \"a\nb\"; crate::b::f();");
        assert_eq!(code, "let s =   \n  ; crate::b::f();", "newlines are kept");
    }
}
