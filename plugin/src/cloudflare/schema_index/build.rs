//! Reading the introspection answer type by type into the index's string arena and records,
//! then linking every type to the datasets it belongs to.

use super::{
    Affinity, Arg, Member, MemberKind, Role, SchemaIndex, Scope, Span, TypeEntry, TypeKind, named,
};
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, RandomState};

/// Operator suffixes of Cloudflare filter keys (`clientCountryName_in`, `datetime_geq`, …).
const FILTER_OPERATORS: [&str; 13] = [
    "geq", "gt", "has", "hasall", "hasany", "in", "leq", "like", "lt", "neq", "nothas", "notin",
    "notlike",
];

impl SchemaIndex {
    /// From the GraphQL response body `{"data": {"__schema": {...}}}` (errors handled by the
    /// caller: an `errors` entry is ignored here, a missing `data.__schema` is an error).
    pub fn from_response(body: &[u8]) -> Result<SchemaIndex, String> {
        let response: RawResponse = serde_json::from_slice(body)
            .map_err(|e| format!("the schema introspection could not be read: {e}"))?;
        let built = response
            .data
            .and_then(|d| d.schema)
            .ok_or("the introspection response has no data.__schema")?;
        Ok(built.types.0.finish())
    }
}

#[derive(Deserialize)]
struct RawResponse {
    data: Option<RawData>,
}

#[derive(Deserialize)]
struct RawData {
    #[serde(rename = "__schema")]
    schema: Option<RawSchema>,
}

#[derive(Deserialize)]
struct RawSchema {
    types: TypesInto,
}

/// A string of the body, borrowed unless it holds escapes.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawType<'a> {
    kind: TypeKind,
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow, default)]
    description: Option<Text<'a>>,
    #[serde(borrow, default)]
    fields: Option<Vec<RawField<'a>>>,
    #[serde(borrow, default)]
    input_fields: Option<Vec<RawValue<'a>>>,
    #[serde(borrow, default)]
    enum_values: Option<Vec<RawEnumValue<'a>>>,
}

#[derive(Deserialize)]
struct RawField<'a> {
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow, default)]
    description: Option<Text<'a>>,
    #[serde(borrow, default)]
    args: Option<Vec<RawValue<'a>>>,
    #[serde(borrow, rename = "type")]
    type_ref: RawTypeRef<'a>,
}

/// An argument or input field.
#[derive(Deserialize)]
struct RawValue<'a> {
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow, default)]
    description: Option<Text<'a>>,
    #[serde(borrow, rename = "type")]
    type_ref: RawTypeRef<'a>,
}

#[derive(Deserialize)]
struct RawEnumValue<'a> {
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow, default)]
    description: Option<Text<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTypeRef<'a> {
    kind: TypeKind,
    #[serde(borrow, default)]
    name: Option<Text<'a>>,
    #[serde(borrow, default)]
    of_type: Option<Box<RawTypeRef<'a>>>,
}

/// Writes a type reference as GraphQL does (`[Foo!]!`); `?` where the query's depth cut it.
fn render(t: Option<&RawTypeRef<'_>>, out: &mut String) {
    match t {
        None => out.push('?'),
        Some(t) => match t.kind {
            TypeKind::NonNull => {
                render(t.of_type.as_deref(), out);
                out.push('!');
            }
            TypeKind::List => {
                out.push('[');
                render(t.of_type.as_deref(), out);
                out.push(']');
            }
            _ => out.push_str(t.name.as_ref().map_or("?", |n| &n.0)),
        },
    }
}

/// The `types` list, consumed one type at a time into a [`Builder`].
struct TypesInto(Builder);

impl<'de> Deserialize<'de> for TypesInto {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TypesVisitor;
        impl<'de> Visitor<'de> for TypesVisitor {
            type Value = TypesInto;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the list of schema types")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TypesInto, A::Error> {
                let mut builder = Builder::default();
                while let Some(t) = seq.next_element::<RawType<'de>>()? {
                    builder.add(t);
                }
                Ok(TypesInto(builder))
            }
        }
        deserializer.deserialize_seq(TypesVisitor)
    }
}

#[derive(Default)]
struct Builder {
    text: String,
    /// Hash of a string → where it already is in `text` (on a hash collision the second string
    /// is simply stored again).
    seen: HashMap<u64, Span>,
    hasher: RandomState,
    types: Vec<TypeEntry>,
    members: Vec<Member>,
    args: Vec<Arg>,
    scratch: String,
}

impl Builder {
    fn intern(&mut self, s: &str) -> Span {
        let hash = self.hasher.hash_one(s);
        if let Some(&span) = self.seen.get(&hash) {
            let start = span.start as usize;
            if &self.text[start..start + span.len as usize] == s {
                return span;
            }
            return self.append(s);
        }
        let span = self.append(s);
        self.seen.insert(hash, span);
        span
    }

    fn append(&mut self, s: &str) -> Span {
        // The plugin's 64 MiB memory limit keeps the arena far below 4 GiB.
        let span = Span {
            start: self.text.len() as u32,
            len: s.len() as u32,
        };
        self.text.push_str(s);
        span
    }

    fn intern_description(&mut self, s: Option<&Text<'_>>) -> Option<Span> {
        s.map(|t| t.0.trim())
            .filter(|t| !t.is_empty())
            .map(|t| self.intern(t))
    }

    fn intern_type_ref(&mut self, t: &RawTypeRef<'_>) -> Span {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        render(Some(t), &mut scratch);
        let span = self.intern(&scratch);
        self.scratch = scratch;
        span
    }

    fn add(&mut self, t: RawType<'_>) {
        let type_name: &str = &t.name.0;
        let role = if t.kind == TypeKind::InputObject && type_name.ends_with("Filter_InputObject") {
            Role::Filter
        } else {
            Role::Plain
        };
        let first = self.members.len() as u32;
        for f in t.fields.iter().flatten() {
            let args_start = self.args.len() as u32;
            for a in f.args.iter().flatten() {
                let arg = Arg {
                    name: self.intern(&a.name.0),
                    description: self.intern_description(a.description.as_ref()),
                    type_ref: self.intern_type_ref(&a.type_ref),
                };
                self.args.push(arg);
            }
            let member = Member {
                kind: MemberKind::Field,
                dataset: false,
                name: self.intern(&f.name.0),
                base_len: f.name.0.len() as u32,
                description: self.intern_description(f.description.as_ref()),
                type_ref: Some(self.intern_type_ref(&f.type_ref)),
                args: (args_start, self.args.len() as u32),
            };
            self.members.push(member);
        }
        let input_fields = t.input_fields.as_deref().unwrap_or_default();
        let input_names: Vec<&str> = input_fields.iter().map(|v| &*v.name.0).collect();
        for v in input_fields {
            let base = if role == Role::Filter {
                filter_base(&v.name.0, &input_names)
            } else {
                &v.name.0
            };
            let member = Member {
                kind: MemberKind::InputField,
                dataset: false,
                name: self.intern(&v.name.0),
                base_len: base.len() as u32,
                description: self.intern_description(v.description.as_ref()),
                type_ref: Some(self.intern_type_ref(&v.type_ref)),
                args: (0, 0),
            };
            self.members.push(member);
        }
        let values = t.enum_values.as_deref().unwrap_or_default();
        let value_names: Vec<&str> = values.iter().map(|v| &*v.name.0).collect();
        for v in values {
            let base = order_base(&v.name.0, &value_names);
            let member = Member {
                kind: MemberKind::EnumValue,
                dataset: false,
                name: self.intern(&v.name.0),
                base_len: base.len() as u32,
                description: self.intern_description(v.description.as_ref()),
                type_ref: None,
                args: (0, 0),
            };
            self.members.push(member);
        }
        let entry = TypeEntry {
            name: self.intern(type_name),
            description: self.intern_description(t.description.as_ref()),
            kind: t.kind,
            role,
            members: (first, self.members.len() as u32),
            affinity: None,
        };
        self.types.push(entry);
    }

    fn finish(self) -> SchemaIndex {
        let Builder {
            mut text,
            mut types,
            mut members,
            mut args,
            ..
        } = self;
        text.shrink_to_fit();
        types.shrink_to_fit();
        members.shrink_to_fit();
        args.shrink_to_fit();
        let mut index = SchemaIndex {
            text,
            types,
            members,
            args,
        };
        let (roles, affinities, datasets) = link(&index);
        for ((t, role), affinity) in index.types.iter_mut().zip(roles).zip(affinities) {
            t.role = role;
            t.affinity = affinity;
        }
        for m in datasets {
            index.members[m].dataset = true;
        }
        index
    }
}

/// `clientCountryName` for `clientCountryName_in` when a sibling shares that family name
/// (the plain key or another operator); the whole name otherwise.
fn filter_base<'a>(name: &'a str, siblings: &[&str]) -> &'a str {
    if let Some((base, op)) = name.rsplit_once('_')
        && !base.is_empty()
        && FILTER_OPERATORS.contains(&op)
        && siblings.iter().any(|s| {
            *s != name
                && (*s == base
                    || s.strip_prefix(base)
                        .and_then(|rest| rest.strip_prefix('_'))
                        .is_some_and(|op| FILTER_OPERATORS.contains(&op)))
        })
    {
        return base;
    }
    name
}

/// `clientCountryName` for `clientCountryName_ASC` when `clientCountryName_DESC` is a sibling
/// (and the other way round); the whole name otherwise.
fn order_base<'a>(name: &'a str, siblings: &[&str]) -> &'a str {
    for (suffix, other) in [("_ASC", "_DESC"), ("_DESC", "_ASC")] {
        if let Some(base) = name.strip_suffix(suffix)
            && siblings.iter().any(|s| s.strip_suffix(other) == Some(base))
        {
            return base;
        }
    }
    name
}

/// Finds `zone` and `account` (through `viewer.zones` / `viewer.accounts`, falling back to those
/// names), their datasets (list fields, except lists of zones or accounts such as
/// `account.zones`) and, for every type, the best dataset it belongs to: walking from each
/// dataset's row type, filter and order-by types up to three levels down.
fn link(index: &SchemaIndex) -> (Vec<Role>, Vec<Option<Affinity>>, Vec<usize>) {
    let by_name: HashMap<&str, usize> = index
        .types
        .iter()
        .enumerate()
        .map(|(i, t)| (index.str(t.name), i))
        .collect();
    let members_of = |i: usize| {
        let (a, b) = index.types[i].members;
        &index.members[a as usize..b as usize]
    };
    let scope_type = |field: &str, fallback: &str| -> Option<usize> {
        let from_viewer = by_name.get("viewer").and_then(|&v| {
            members_of(v)
                .iter()
                .find(|m| index.str(m.name) == field)
                .and_then(|m| m.type_ref)
                .and_then(|r| by_name.get(named(index.str(r))).copied())
        });
        from_viewer.or_else(|| by_name.get(fallback).copied())
    };
    let mut roles: Vec<Role> = index.types.iter().map(|t| t.role).collect();
    let mut affinities: Vec<Option<Affinity>> = vec![None; index.types.len()];
    let scopes = [
        (Scope::Zone, scope_type("zones", "zone")),
        (Scope::Account, scope_type("accounts", "account")),
    ];
    let scope_types: Vec<usize> = scopes
        .iter()
        .filter_map(|&(_, ty)| ty)
        .filter(|&ty| index.types[ty].kind == TypeKind::Object)
        .collect();
    for (scope, ty) in scopes {
        if let Some(ty) = ty
            && scope_types.contains(&ty)
        {
            roles[ty] = Role::Scope(scope);
        }
    }
    let mut datasets: Vec<usize> = Vec::new();
    let mut queue: VecDeque<(usize, u8)> = VecDeque::new();
    let mut visited: Vec<usize> = Vec::new();
    for (scope, ty) in scopes {
        let Some(ty) = ty.filter(|ty| scope_types.contains(ty)) else {
            continue;
        };
        let own = Affinity {
            scope,
            raw: false,
            depth: 0,
        };
        affinities[ty] = Some(affinities[ty].map_or(own, |a| a.min(own)));
        let (first, end) = index.types[ty].members;
        for mi in first as usize..end as usize {
            let dataset = &index.members[mi];
            let Some(row) = dataset.type_ref.map(|r| index.str(r)) else {
                continue;
            };
            let row_type = by_name.get(named(row)).copied();
            if !row.starts_with('[') || row_type.is_some_and(|r| scope_types.contains(&r)) {
                continue;
            }
            datasets.push(mi);
            let raw = !index.str(dataset.name).ends_with("Groups");
            queue.clear();
            visited.clear();
            let roots = dataset
                .type_ref
                .into_iter()
                .chain(
                    index.args[dataset.args.0 as usize..dataset.args.1 as usize]
                        .iter()
                        .map(|a| a.type_ref),
                )
                .filter_map(|r| by_name.get(named(index.str(r))).copied());
            for root in roots {
                if !visited.contains(&root) {
                    visited.push(root);
                    queue.push_back((root, 0));
                }
            }
            while let Some((t, depth)) = queue.pop_front() {
                if matches!(roles[t], Role::Scope(_)) {
                    continue;
                }
                let here = Affinity { scope, raw, depth };
                affinities[t] = Some(affinities[t].map_or(here, |a| a.min(here)));
                if depth == 3 {
                    continue;
                }
                for m in members_of(t) {
                    let Some(next) = m
                        .type_ref
                        .and_then(|r| by_name.get(named(index.str(r))).copied())
                    else {
                        continue;
                    };
                    if !visited.contains(&next) && !members_of(next).is_empty() {
                        visited.push(next);
                        queue.push_back((next, depth + 1));
                    }
                }
            }
        }
    }
    (roles, affinities, datasets)
}
