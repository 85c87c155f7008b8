//! `make size-report`: where a component's bytes go, by crate and by function, read from the
//! name section of each core module inside it (build it unstripped: the Makefile does).
//!
//! Usage: component-size COMPONENT.wasm [--top N]

use std::collections::HashMap;
use wasmparser::{KnownCustom, Name, Parser, Payload};

/// One core module's functions (name, body size) and its other sections' sizes.
#[derive(Default)]
struct Module {
    functions: Vec<(String, usize)>,
    data: usize,
    custom: Vec<(String, usize)>,
    size: usize,
}

fn modules(bytes: &[u8]) -> anyhow::Result<Vec<Module>> {
    let mut found = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        if let Payload::ModuleSection {
            unchecked_range, ..
        } = payload?
        {
            found.push(module(&bytes[unchecked_range.clone()])?);
        }
    }
    Ok(found)
}

fn module(bytes: &[u8]) -> anyhow::Result<Module> {
    let mut m = Module {
        size: bytes.len(),
        ..Module::default()
    };
    let mut imported = 0u32;
    let mut bodies = Vec::new();
    let mut names: HashMap<u32, String> = HashMap::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import?.ty, wasmparser::TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => bodies.push(body.range().len()),
            Payload::DataSection(reader) => m.data += reader.range().len(),
            Payload::CustomSection(section) => {
                m.custom
                    .push((section.name().to_string(), section.data().len()));
                if let KnownCustom::Name(reader) = section.as_known() {
                    for name in reader {
                        if let Name::Function(map) = name? {
                            for naming in map {
                                let naming = naming?;
                                names.insert(naming.index, naming.name.to_string());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for (i, size) in bodies.into_iter().enumerate() {
        let index = imported + i as u32;
        let name = names
            .get(&index)
            .map(|n| format!("{:#}", rustc_demangle::demangle(n)))
            .unwrap_or_else(|| format!("function[{index}]"));
        m.functions.push((name, size));
    }
    Ok(m)
}

/// The crate a demangled name belongs to: its first path segment, looking inside `<T as
/// Trait>` at `T`.
fn crate_of(name: &str) -> String {
    let name = name
        .trim_start_matches('<')
        .trim_start_matches('&')
        .trim_start_matches("mut ");
    let name = name.trim_start_matches("dyn ");
    let end = name
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(name.len());
    match &name[..end] {
        "" => "(unnamed)".to_string(),
        "function" if name.starts_with("function[") => "(no name)".to_string(),
        first => first.to_string(),
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: component-size COMPONENT.wasm [--top N]"))?;
    let top: usize = match (args.next().as_deref(), args.next()) {
        (Some("--top"), Some(n)) => n.parse()?,
        _ => 30,
    };
    let bytes = std::fs::read(&path)?;
    let modules = modules(&bytes)?;
    println!(
        "{path}: {} bytes ({:.1} KiB), {} core modules",
        bytes.len(),
        bytes.len() as f64 / 1024.0,
        modules.len()
    );
    for (i, m) in modules.iter().enumerate() {
        let code: usize = m.functions.iter().map(|(_, s)| s).sum();
        println!(
            "\nmodule {i}: {} bytes; code {code} in {} functions; data {}",
            m.size,
            m.functions.len(),
            m.data
        );
        for (name, size) in &m.custom {
            println!("  custom section {name:?}: {size} bytes");
        }
        if m.functions.iter().all(|(n, _)| n.starts_with("function[")) {
            println!(
                "  (no name section: build the component unstripped, as `make size-report` does)"
            );
            continue;
        }
        let mut crates: HashMap<String, (usize, usize)> = HashMap::new();
        for (name, size) in &m.functions {
            let entry = crates.entry(crate_of(name)).or_default();
            entry.0 += size;
            entry.1 += 1;
        }
        let mut crates: Vec<_> = crates.into_iter().collect();
        crates.sort_by_key(|c| std::cmp::Reverse(c.1.0));
        println!("  code by crate:");
        for (name, (size, count)) in crates.iter().take(top) {
            println!(
                "    {:>8} {:>5.1}%  {name} ({count} functions)",
                size,
                100.0 * *size as f64 / code.max(1) as f64
            );
        }
        let mut functions = m.functions.clone();
        functions.sort_by_key(|f| std::cmp::Reverse(f.1));
        println!("  largest functions:");
        for (name, size) in functions.iter().take(top) {
            let short: String = name.chars().take(140).collect();
            println!("    {size:>8}  {short}");
        }
    }
    Ok(())
}
