//! What a component file says of its own build: the `producers` sections (the languages, tools
//! and SDKs that made it, with their versions) and the WIT world it declares
//! ([`WIT_WORLD_SECTION`]), read with wasmparser from the file's bytes. The package is read from
//! the component's export names, which wasmtime has checked.

use serde::Serialize;
use tool_output::component::WIT_WORLD_SECTION;
use wasmparser::{KnownCustom, Parser, Payload};

/// One tool or language, as a producers section names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Producer {
    pub name: String,
    /// Empty when the section gives none.
    pub version: String,
}

/// The values of one producers field, from every section of the file (the component's and its
/// core modules'), each once, in the order first met.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProducersField {
    /// `language`, `processed-by` or `sdk`.
    pub field: String,
    pub values: Vec<Producer>,
}

/// The component's account of its build.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ComponentMetadata {
    /// Empty when the file has no producers section (stripped, or written by hand).
    pub producers: Vec<ProducersField>,
    /// The WIT package of its exported interfaces (`namespace:name@version`), when they name one.
    pub package: Option<String>,
    /// The world it declares it was built for (`namespace:name/world@version`), from its own
    /// custom section; `None` when it declares none (a built component keeps no world name).
    pub world: Option<String>,
    /// Whether the declared world's package is the exports' package (false when either is
    /// missing): a declaration the exports contradict is shown as such.
    pub world_matches_exports: bool,
    /// A section that could not be read, in words (the rest is still reported).
    pub unreadable: Option<String>,
}

/// Reads the metadata of a component (or core module) file. `export_names` are the component's
/// export names, from its type.
pub fn read(bytes: &[u8], export_names: &[&str]) -> ComponentMetadata {
    let mut metadata = ComponentMetadata {
        package: package_of(export_names),
        ..ComponentMetadata::default()
    };
    if let Err(e) = read_sections(bytes, &mut metadata) {
        metadata.unreadable = Some(e.message().to_string());
    }
    metadata.world_matches_exports = match (&metadata.world, &metadata.package) {
        (Some(world), Some(package)) => world_package(world) == *package,
        _ => false,
    };
    metadata
}

fn read_sections(bytes: &[u8], metadata: &mut ComponentMetadata) -> wasmparser::Result<()> {
    for payload in Parser::new(0).parse_all(bytes) {
        let Payload::CustomSection(section) = payload? else {
            continue;
        };
        if section.name() == WIT_WORLD_SECTION {
            if metadata.world.is_none() {
                metadata.world = Some(String::from_utf8_lossy(section.data()).into_owned());
            }
            continue;
        }
        let KnownCustom::Producers(reader) = section.as_known() else {
            continue;
        };
        for field in reader {
            let field = field?;
            let index = match metadata
                .producers
                .iter()
                .position(|f| f.field == field.name)
            {
                Some(i) => i,
                None => {
                    metadata.producers.push(ProducersField {
                        field: field.name.to_string(),
                        values: Vec::new(),
                    });
                    metadata.producers.len() - 1
                }
            };
            for value in field.values {
                let value = value?;
                let producer = Producer {
                    name: value.name.to_string(),
                    version: value.version.to_string(),
                };
                let values = &mut metadata.producers[index].values;
                if !values.contains(&producer) {
                    values.push(producer);
                }
            }
        }
    }
    Ok(())
}

/// `namespace:name@version` of `namespace:name/interface@version` export names, when every
/// interface export is of one package.
fn package_of(export_names: &[&str]) -> Option<String> {
    let mut packages = export_names.iter().filter_map(|name| {
        let (package, rest) = name.split_once('/')?;
        let version = rest.split_once('@').map(|(_, v)| v);
        Some(match version {
            Some(v) => format!("{package}@{v}"),
            None => package.to_string(),
        })
    });
    let first = packages.next()?;
    packages.all(|p| p == first).then_some(first)
}

/// The package part of `namespace:name/world@version`.
fn world_package(world: &str) -> String {
    match (world.split_once('/'), world.rsplit_once('@')) {
        (Some((package, _)), Some((_, version))) => format!("{package}@{version}"),
        (Some((package, _)), None) => package.to_string(),
        _ => world.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A core module with a producers section and a declared world, encoded by hand: the
    /// reader's input is bytes, whoever wrote them.
    fn module_with_sections(sections: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        for (name, data) in sections {
            let mut body = leb(name.len());
            body.extend_from_slice(name.as_bytes());
            body.extend_from_slice(data);
            bytes.push(0);
            bytes.extend(leb(body.len()));
            bytes.extend(body);
        }
        bytes
    }

    fn leb(mut n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    fn string(s: &str) -> Vec<u8> {
        let mut out = leb(s.len());
        out.extend_from_slice(s.as_bytes());
        out
    }

    fn producers(fields: &[(&str, &[(&str, &str)])]) -> Vec<u8> {
        let mut out = leb(fields.len());
        for (field, values) in fields {
            out.extend(string(field));
            out.extend(leb(values.len()));
            for (name, version) in *values {
                out.extend(string(name));
                out.extend(string(version));
            }
        }
        out
    }

    const EXPORTS: &[&str] = &[
        "cloudflare:connector/connector@0.1.0",
        "cloudflare:connector/tools@0.1.0",
    ];

    #[test]
    fn producers_and_the_declared_world_are_read_and_merged() {
        let bytes = module_with_sections(&[
            (
                "producers",
                producers(&[
                    ("language", &[("Rust", "")]),
                    ("processed-by", &[("rustc", "1.95.0"), ("clang", "19")]),
                ]),
            ),
            (
                "producers",
                producers(&[(
                    "processed-by",
                    &[("rustc", "1.95.0"), ("wit-component", "0.1")],
                )]),
            ),
            (
                WIT_WORLD_SECTION,
                b"cloudflare:connector/connector-plugin@0.1.0".to_vec(),
            ),
        ]);
        let m = read(&bytes, EXPORTS);
        assert_eq!(m.unreadable, None);
        assert_eq!(m.producers.len(), 2);
        assert_eq!(m.producers[0].field, "language");
        let processed: Vec<&str> = m.producers[1]
            .values
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(processed, ["rustc", "clang", "wit-component"]);
        assert_eq!(m.package.as_deref(), Some("cloudflare:connector@0.1.0"));
        assert_eq!(
            m.world.as_deref(),
            Some("cloudflare:connector/connector-plugin@0.1.0")
        );
        assert!(m.world_matches_exports);
    }

    #[test]
    fn a_world_the_exports_contradict_is_flagged() {
        let bytes = module_with_sections(&[(WIT_WORLD_SECTION, b"other:thing/w@2.0.0".to_vec())]);
        let m = read(&bytes, EXPORTS);
        assert_eq!(m.world.as_deref(), Some("other:thing/w@2.0.0"));
        assert!(!m.world_matches_exports);
        assert!(m.producers.is_empty());
    }

    #[test]
    fn a_file_without_sections_reports_none() {
        let m = read(&module_with_sections(&[]), &[]);
        assert_eq!(m, ComponentMetadata::default());
    }

    #[test]
    fn a_broken_producers_section_is_reported_not_fatal() {
        // Claims two fields, holds none.
        let bytes = module_with_sections(&[("producers", vec![2])]);
        let m = read(&bytes, EXPORTS);
        assert!(m.unreadable.is_some());
        assert_eq!(m.package.as_deref(), Some("cloudflare:connector@0.1.0"));
    }

    #[test]
    fn exports_of_two_packages_name_none() {
        assert_eq!(package_of(&["a:b/c@1.0.0", "x:y/z@1.0.0"]), None);
        assert_eq!(package_of(&["run"]), None);
        assert_eq!(package_of(&["a:b/c"]), Some("a:b".into()));
    }
}
