//! Reading a compiled component: its imports and exports with WIT-like signatures, whether the
//! sandbox loads it, and its hash.

use crate::audit::policy::{describe_limits, describe_policy};
use crate::audit::{AuditReport, ComponentFile, Function, HostSetup, Import, Item};
use crate::sandbox::compile_cache::CompileCache;
use crate::sandbox::{classify, compile, link, ungranted_imports};
use anyhow::Context as _;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::Path;
use wasmtime::Engine;
use wasmtime::component::types::{ComponentFunc, ComponentInstance, ComponentItem};
use wasmtime::component::{Component, ResourceType, Type};

/// Type and resource names collected from the component's interfaces, to write signatures the
/// way WIT does (`connect-options` rather than the record's fields).
#[derive(Default)]
struct Names {
    types: Vec<(Type, String)>,
    resources: Vec<(ResourceType, String)>,
}

impl Names {
    fn collect(&mut self, engine: &Engine, instance: &ComponentInstance) {
        for (name, e) in instance.exports(engine) {
            // The first name of a type wins (an interface that `use`s it exports it again).
            match e.ty {
                ComponentItem::Type(
                    ty @ (Type::Record(_) | Type::Variant(_) | Type::Enum(_) | Type::Flags(_)),
                ) if !self.types.iter().any(|(t, _)| *t == ty) => {
                    self.types.push((ty, name.to_string()));
                }
                ComponentItem::Resource(r) if !self.resources.iter().any(|(t, _)| *t == r) => {
                    self.resources.push((r, name.to_string()));
                }
                _ => {}
            }
        }
    }

    fn resource(&self, r: &ResourceType) -> String {
        self.resources
            .iter()
            .find(|(t, _)| t == r)
            .map_or_else(|| "resource".to_string(), |(_, n)| n.clone())
    }

    fn ty(&self, ty: &Type) -> String {
        if matches!(
            ty,
            Type::Record(_) | Type::Variant(_) | Type::Enum(_) | Type::Flags(_)
        ) && let Some((_, name)) = self.types.iter().find(|(t, _)| t == ty)
        {
            return name.clone();
        }
        match ty {
            Type::List(l) => format!("list<{}>", self.ty(&l.ty())),
            Type::FixedLengthList(l) => format!("list<{}, {}>", self.ty(&l.ty()), l.len()),
            Type::Map(m) => format!("map<{}, {}>", self.ty(&m.key()), self.ty(&m.value())),
            Type::Option(o) => format!("option<{}>", self.ty(&o.ty())),
            Type::Result(r) => match (r.ok(), r.err()) {
                (None, None) => "result".to_string(),
                (Some(ok), None) => format!("result<{}>", self.ty(&ok)),
                (None, Some(err)) => format!("result<_, {}>", self.ty(&err)),
                (Some(ok), Some(err)) => format!("result<{}, {}>", self.ty(&ok), self.ty(&err)),
            },
            Type::Tuple(t) => format!(
                "tuple<{}>",
                t.types()
                    .map(|t| self.ty(&t))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Type::Own(r) => self.resource(r),
            Type::Borrow(r) => format!("borrow<{}>", self.resource(r)),
            Type::Future(f) => f
                .ty()
                .map_or_else(|| "future".into(), |t| format!("future<{}>", self.ty(&t))),
            Type::Stream(s) => s
                .ty()
                .map_or_else(|| "stream".into(), |t| format!("stream<{}>", self.ty(&t))),
            Type::Record(r) => format!(
                "record {{ {} }}",
                r.fields()
                    .map(|f| format!("{}: {}", f.name, self.ty(&f.ty)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Type::Variant(v) => format!(
                "variant {{ {} }}",
                v.cases()
                    .map(|c| match c.ty {
                        Some(t) => format!("{}({})", c.name, self.ty(&t)),
                        None => c.name.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Type::Enum(e) => format!("enum {{ {} }}", e.names().collect::<Vec<_>>().join(", ")),
            Type::Flags(f) => format!("flags {{ {} }}", f.names().collect::<Vec<_>>().join(", ")),
            Type::Bool => "bool".into(),
            Type::S8 => "s8".into(),
            Type::U8 => "u8".into(),
            Type::S16 => "s16".into(),
            Type::U16 => "u16".into(),
            Type::S32 => "s32".into(),
            Type::U32 => "u32".into(),
            Type::S64 => "s64".into(),
            Type::U64 => "u64".into(),
            Type::Float32 => "f32".into(),
            Type::Float64 => "f64".into(),
            Type::Char => "char".into(),
            Type::String => "string".into(),
            Type::ErrorContext => "error-context".into(),
        }
    }

    fn signature(&self, func: &ComponentFunc) -> String {
        let params = func
            .params()
            .map(|(name, ty)| format!("{name}: {}", self.ty(&ty)))
            .collect::<Vec<_>>()
            .join(", ");
        let results = func.results().map(|t| self.ty(&t)).collect::<Vec<_>>();
        let prefix = if func.async_() { "async func" } else { "func" };
        match results.as_slice() {
            [] => format!("{prefix}({params})"),
            [one] => format!("{prefix}({params}) -> {one}"),
            many => format!("{prefix}({params}) -> ({})", many.join(", ")),
        }
    }
}

fn kind(ty: &ComponentItem) -> &'static str {
    match ty {
        ComponentItem::ComponentInstance(_) => "interface",
        ComponentItem::ComponentFunc(_) | ComponentItem::CoreFunc(_) => "function",
        ComponentItem::Resource(_) => "resource",
        ComponentItem::Type(_) => "type",
        ComponentItem::Component(_) => "component",
        ComponentItem::Module(_) => "module",
    }
}

fn item(engine: &Engine, names: &Names, name: &str, ty: &ComponentItem) -> Item {
    let mut functions = Vec::new();
    let mut resources = Vec::new();
    match ty {
        ComponentItem::ComponentInstance(instance) => {
            for (fname, e) in instance.exports(engine) {
                match &e.ty {
                    ComponentItem::ComponentFunc(f) => functions.push(Function {
                        name: fname.to_string(),
                        signature: names.signature(f),
                    }),
                    ComponentItem::Resource(_) => resources.push(fname.to_string()),
                    _ => {}
                }
            }
        }
        ComponentItem::ComponentFunc(f) => functions.push(Function {
            name: name.to_string(),
            signature: names.signature(f),
        }),
        _ => {}
    }
    Item {
        name: name.to_string(),
        kind: kind(ty),
        functions,
        resources,
    }
}

/// Lowercase hexadecimal SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The audit of a compiled component. `bytes` are the file it was compiled from (for the
/// hash and size).
pub fn audit(
    engine: &Engine,
    component: &Component,
    bytes: &[u8],
    setup: &HostSetup<'_>,
) -> AuditReport {
    let ty = component.component_type();
    let mut names = Names::default();
    for (_, ext) in ty.imports(engine).chain(ty.exports(engine)) {
        if let ComponentItem::ComponentInstance(instance) = &ext.ty {
            names.collect(engine, instance);
        }
    }
    let imports: Vec<Import> = ty
        .imports(engine)
        .map(|(name, ext)| {
            let (access, reason) = classify(name, &ext.ty, engine, setup.guest_env);
            Import {
                item: item(engine, &names, name, &ext.ty),
                access,
                reason,
            }
        })
        .collect();
    let exports: Vec<Item> = ty
        .exports(engine)
        .map(|(name, ext)| item(engine, &names, name, &ext.ty))
        .collect();
    let export_names: Vec<&str> = exports.iter().map(|e| e.name.as_str()).collect();
    let metadata = crate::audit::metadata::read(bytes, &export_names);
    let refused_imports = ungranted_imports(engine, component);
    let load_error = link(engine, component).err().map(|e| format!("{e:#}"));
    AuditReport {
        component: ComponentFile {
            path: None,
            size_bytes: bytes.len() as u64,
            sha256: sha256_hex(bytes),
            metadata,
        },
        loads: load_error.is_none(),
        load_error,
        refused_imports,
        imports,
        exports,
        outbound: describe_policy(setup.policy),
        guest_environment: setup.guest_env.iter().map(|s| s.to_string()).collect(),
        limits: describe_limits(setup.limits),
    }
}

/// Reads, compiles (or takes from `cache`) and audits a component file, with the sandbox's
/// own compile, on the engine the harness runs plugins on.
pub fn audit_file(
    path: &Path,
    setup: &HostSetup<'_>,
    cache: Option<&CompileCache>,
) -> anyhow::Result<AuditReport> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (engine, component, source) = compile(&bytes, cache, None)
        .with_context(|| format!("{} is not a valid component", path.display()))?;
    tracing::debug!(?source, plugin = %path.display(), "component loaded for the audit");
    let mut report = audit(&engine, &component, &bytes, setup);
    report.component.path = Some(path.display().to_string());
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_a_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
