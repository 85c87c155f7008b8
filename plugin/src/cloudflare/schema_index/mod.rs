//! Search and describe the GraphQL Analytics schema, from one introspection of the live API.
//!
//! The plugin sends [`INTROSPECTION_QUERY`] once per instance and keeps the answer as a
//! [`SchemaIndex`]: every name, type reference and description of the schema in one string arena
//! (each distinct string stored once), plus small fixed-size records pointing into it. The
//! response body is read type by type straight into those records (serde derive, strings
//! borrowed from the body while a type is being read), so neither a `serde_json::Value` tree nor
//! a parsed copy of the whole response ever exists, and the body can be dropped as soon as
//! [`SchemaIndex::from_response`] returns.
//!
//! For the 2024-06-04 Cloudflare schema (with the account DNS extensions: 766 types, 33,254
//! fields, input fields and enum values) the introspection answer is about 4.2 MB of JSON
//! (4.0 MiB), the index about 2.0 MB, and reading it takes about 40 ms natively (release); run
//! `cargo test -p plugin --lib schema_index::tests::whole_schema_size -- --nocapture`
//! (add `--release` for a realistic parse time) to print the current figures.
//!
//! [`build`] reads the answer into the index; [`search`] ranks names for a query; this file
//! holds the index's records, `describe` and `suggest`.

mod build;
mod search;

use serde::{Deserialize, Serialize};

/// The trimmed introspection query the plugin sends (no directives, no interfaces/possibleTypes).
///
/// Type references are read four levels deep, enough for `[T!]!`; a deeper reference is shown
/// with `?` where the name was cut off.
pub const INTROSPECTION_QUERY: &str = "query Schema { __schema { types { kind name description fields(includeDeprecated: true) { name description args { name description type { ...TypeRef } } type { ...TypeRef } } inputFields { name description type { ...TypeRef } } enumValues(includeDeprecated: true) { name description } } } } fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// A GraphQL type kind, written as introspection writes it (`INPUT_OBJECT`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TypeKind {
    Scalar,
    Object,
    Interface,
    Union,
    Enum,
    InputObject,
    List,
    NonNull,
}

impl TypeKind {
    /// The kind as GraphQL introspection spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TypeKind::Scalar => "SCALAR",
            TypeKind::Object => "OBJECT",
            TypeKind::Interface => "INTERFACE",
            TypeKind::Union => "UNION",
            TypeKind::Enum => "ENUM",
            TypeKind::InputObject => "INPUT_OBJECT",
            TypeKind::List => "LIST",
            TypeKind::NonNull => "NON_NULL",
        }
    }
}

/// Where a dataset is queried: under `viewer.zones` or under `viewer.accounts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Zone,
    Account,
}

/// What a search hit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    /// A list field of `zone` or `account` (the types behind `viewer.zones` / `viewer.accounts`),
    /// e.g. `httpRequestsAdaptiveGroups`.
    Dataset,
    /// Any other field of an object type, or an input field outside a filter.
    Field,
    /// An argument of a field; its owner is written `Type.field`.
    Argument,
    /// An input field of a `…Filter_InputObject` type, e.g. `clientCountryName_in`.
    FilterKey,
    /// A value of an enum type (order-by values included).
    EnumValue,
    /// A type itself.
    Type,
}

/// One search result.
///
/// Hits are folded so that a short list shows many different things: one hit stands for the same
/// name of the same kind wherever it matches (the other owners are in `also_in`), for the
/// operator family of a filter key (`clientCountryName`, `clientCountryName_in`, … are one hit,
/// the other keys in `variants`), for the `_ASC`/`_DESC` pair of an order-by value, and for the
/// `Zone…`/`Account…` twins of a type. Types and descriptions are those of the shown owner; the
/// others may differ slightly (describe them to see).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SchemaHit {
    pub kind: HitKind,
    /// The type the hit belongs to (`Type.field` for an argument); `""` for a type hit.
    pub owner: String,
    /// A real name: the member, argument or type name (for a folded family, its plain member).
    pub name: String,
    /// The type as GraphQL writes it (`[ZoneHttpRequestsAdaptiveGroups!]!`); for a type hit its
    /// kind (`OBJECT`, `INPUT_OBJECT`, …); `""` for an enum value.
    pub type_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// For a dataset: every scope it can be queried in (zone first); empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<Scope>,
    /// The other owners where the same name matched, best first. Can be long: shorten it for
    /// display.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_in: Vec<String>,
    /// The other real names folded into this hit (filter operators, `_DESC`, the twin type).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<String>,
}

/// One type, as [`SchemaIndex::describe`] shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TypeDescription {
    pub name: String,
    pub kind: TypeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Fields of an object or interface type, in schema order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldDescription>,
    /// Input fields of an input object type (filter keys for a `…Filter_InputObject`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub input_fields: Vec<ValueDescription>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub enum_values: Vec<EnumValueDescription>,
}

/// A field of an object type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldDescription {
    pub name: String,
    /// The type as GraphQL writes it, e.g. `string!`.
    pub type_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<ValueDescription>,
}

/// An argument or an input field.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ValueDescription {
    pub name: String,
    pub type_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A value of an enum type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnumValueDescription {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The schema, compact and searchable. Built once per plugin instance by
/// [`SchemaIndex::from_response`].
#[derive(Debug)]
pub struct SchemaIndex {
    /// Every distinct string, once.
    text: String,
    types: Vec<TypeEntry>,
    members: Vec<Member>,
    args: Vec<Arg>,
}

/// A string in [`SchemaIndex::text`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

#[derive(Debug)]
struct TypeEntry {
    name: Span,
    description: Option<Span>,
    kind: TypeKind,
    role: Role,
    /// `members[start..end]`.
    members: (u32, u32),
    /// The best dataset this type is part of, if any (see [`Affinity`]).
    affinity: Option<Affinity>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Plain,
    /// `zone` or `account`: its list fields are datasets.
    Scope(Scope),
    /// An input object named `…Filter_InputObject`: its input fields are filter keys.
    Filter,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MemberKind {
    Field,
    InputField,
    EnumValue,
}

#[derive(Debug)]
struct Member {
    kind: MemberKind,
    /// A field of `zone` or `account` that is a dataset (set once every type is read).
    dataset: bool,
    name: Span,
    /// Length of the family name (`clientCountryName` for `clientCountryName_in`); the whole
    /// name when the member belongs to no family.
    base_len: u32,
    description: Option<Span>,
    /// `None` for an enum value.
    type_ref: Option<Span>,
    /// `args[start..end]`.
    args: (u32, u32),
}

#[derive(Debug)]
struct Arg {
    name: Span,
    description: Option<Span>,
    type_ref: Span,
}

/// How close a type is to a dataset; the derived order is the order of preference when one hit
/// has several owners: zone before account, aggregated datasets (`…Groups`) before raw ones,
/// the dataset's own types before types nested deeper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Affinity {
    scope: Scope,
    raw: bool,
    depth: u8,
}

impl SchemaIndex {
    /// How many types the schema has (built-in scalars and `__` introspection types included).
    pub fn type_count(&self) -> usize {
        self.types.len()
    }

    /// Roughly how many heap bytes the index holds.
    pub fn heap_size(&self) -> usize {
        self.text.capacity()
            + self.types.capacity() * size_of::<TypeEntry>()
            + self.members.capacity() * size_of::<Member>()
            + self.args.capacity() * size_of::<Arg>()
    }

    /// One type with its fields, input fields and enum values. The name is looked up
    /// case-insensitively (an exact match wins); `None` if there is no such type (see
    /// [`SchemaIndex::suggest`] for the error message).
    pub fn describe(&self, type_name: &str) -> Option<TypeDescription> {
        let t = self
            .types
            .iter()
            .find(|t| self.str(t.name) == type_name)
            .or_else(|| {
                self.types
                    .iter()
                    .find(|t| self.str(t.name).eq_ignore_ascii_case(type_name))
            })?;
        let mut d = TypeDescription {
            name: self.str(t.name).to_owned(),
            kind: t.kind,
            description: self.opt(t.description).map(str::to_owned),
            fields: Vec::new(),
            input_fields: Vec::new(),
            enum_values: Vec::new(),
        };
        for m in &self.members[t.members.0 as usize..t.members.1 as usize] {
            let name = self.str(m.name).to_owned();
            let description = self.opt(m.description).map(str::to_owned);
            let type_ref = m
                .type_ref
                .map(|s| self.str(s).to_owned())
                .unwrap_or_default();
            match m.kind {
                MemberKind::Field => d.fields.push(FieldDescription {
                    name,
                    type_ref,
                    description,
                    args: self.args[m.args.0 as usize..m.args.1 as usize]
                        .iter()
                        .map(|a| ValueDescription {
                            name: self.str(a.name).to_owned(),
                            type_ref: self.str(a.type_ref).to_owned(),
                            description: self.opt(a.description).map(str::to_owned),
                        })
                        .collect(),
                }),
                MemberKind::InputField => d.input_fields.push(ValueDescription {
                    name,
                    type_ref,
                    description,
                }),
                MemberKind::EnumValue => d
                    .enum_values
                    .push(EnumValueDescription { name, description }),
            }
        }
        Some(d)
    }

    /// Up to `n` type names closest to `type_name`, for an "unknown type" message: by
    /// case-insensitive edit distance, keeping only names within a third of the longer name's
    /// length (at least 2 edits) or that contain the given name.
    pub fn suggest(&self, type_name: &str, n: usize) -> Vec<String> {
        let wanted = type_name.to_lowercase();
        let wanted_chars: Vec<char> = wanted.chars().collect();
        let mut close: Vec<(usize, &str)> = self
            .types
            .iter()
            .map(|t| self.str(t.name))
            .filter(|name| !name.starts_with("__"))
            .filter_map(|name| {
                let lower = name.to_lowercase();
                let candidate: Vec<char> = lower.chars().collect();
                let distance = levenshtein(&wanted_chars, &candidate);
                let limit = (wanted_chars.len().max(candidate.len()) / 3).max(2);
                (distance <= limit || (!wanted.is_empty() && lower.contains(&wanted)))
                    .then_some((distance, name))
            })
            .collect();
        close.sort_unstable();
        close
            .into_iter()
            .take(n)
            .map(|(_, name)| name.to_owned())
            .collect()
    }

    fn str(&self, s: Span) -> &str {
        &self.text[s.start as usize..(s.start + s.len) as usize]
    }

    fn opt(&self, s: Option<Span>) -> Option<&str> {
        s.map(|s| self.str(s))
    }
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The named type inside a reference: `[Foo!]!` → `Foo`.
fn named(type_ref: &str) -> &str {
    type_ref.trim_matches(|c| matches!(c, '[' | ']' | '!'))
}

#[cfg(test)]
mod tests;
