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

use crate::cloudflare::text::stem;
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::HashMap;
use std::collections::VecDeque;
use std::fmt;
use std::hash::{BuildHasher, RandomState};

/// The trimmed introspection query the plugin sends (no directives, no interfaces/possibleTypes).
///
/// Type references are read four levels deep, enough for `[T!]!`; a deeper reference is shown
/// with `?` where the name was cut off.
pub const INTROSPECTION_QUERY: &str = "query Schema { __schema { types { kind name description fields(includeDeprecated: true) { name description args { name description type { ...TypeRef } } type { ...TypeRef } } inputFields { name description type { ...TypeRef } } enumValues(includeDeprecated: true) { name description } } } } fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// Most words of one search query that are used; the rest are ignored.
const MAX_WORDS: usize = 8;

/// Operator suffixes of Cloudflare filter keys (`clientCountryName_in`, `datetime_geq`, …).
const FILTER_OPERATORS: [&str; 13] = [
    "geq", "gt", "has", "hasall", "hasany", "in", "leq", "like", "lt", "neq", "nothas", "notin",
    "notlike",
];

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

    /// Ranked hits for one or more words, at most `limit` of them.
    ///
    /// Matching is case-insensitive; a word is folded (`countries` → `country`, `requests` →
    /// `request`, `caching`/`cached` → `cach`) and then looked for as a substring. With several
    /// words, each must match the hit's name, its owner's name or its description. Types of
    /// GraphQL introspection itself (`__Type`, …) are never hits.
    ///
    /// Ranks, best first:
    /// 0. datasets whose name holds every word, and names equal to the query;
    /// 1. other names that hold every word;
    /// 2. datasets matched partly by owner or description;
    /// 3. everything else.
    ///
    /// Within a rank: more words in the name first; then datasets, then fields and filter keys,
    /// then types, arguments and enum values (so datasets come before their sub-types); then
    /// exact names, then words at a camelCase boundary (`Country` in `clientCountryName`)
    /// before words inside another (`rate` in `separated`); then aggregated datasets
    /// (`…Groups`) before raw ones; then names found in more owners (a dimension shared by many
    /// datasets is the one to learn first); then shorter names.
    ///
    /// Folding (see [`SchemaHit`]) keeps the list varied: the ten `clientCountryName…` keys of
    /// every filter type that has them are one hit, not a hundred. The owner shown is the best one: zone before
    /// account, aggregated datasets before raw ones, the dataset's own types (its dimensions)
    /// before deeper ones, shorter names first.
    pub fn search(&self, query: &str, limit: usize) -> Vec<SchemaHit> {
        let raw: Vec<String> = query
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .take(MAX_WORDS)
            .collect();
        let words: Vec<String> = raw
            .iter()
            .map(|w| stem(w))
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() || limit == 0 {
            return Vec::new();
        }
        let matcher = Matcher {
            joined: words.concat(),
            joined_whole: stem(&raw.concat()),
            words,
        };
        let mut groups: HashMap<(HitKind, &str), Vec<Candidate>> = HashMap::new();
        let mut name_l = String::new();
        for (ti, t) in self.types.iter().enumerate() {
            let type_name = self.str(t.name);
            if type_name.starts_with("__") {
                continue;
            }
            let ti = ti as u32;
            let owner_l = type_name.to_ascii_lowercase();
            if let Some(score) =
                matcher.score(type_name, "", self.opt(t.description), false, &mut name_l)
            {
                groups
                    .entry((HitKind::Type, twin_key(type_name)))
                    .or_default()
                    .push(Candidate::new(ti, None, None, score));
            }
            for mi in t.members.0..t.members.1 {
                let m = &self.members[mi as usize];
                let name = self.str(m.name);
                let base = &name[..m.base_len as usize];
                let kind = Self::hit_kind(t, m);
                let description = self.opt(m.description);
                if let Some(score) = matcher.score(
                    base,
                    &owner_l,
                    description,
                    kind == HitKind::Dataset,
                    &mut name_l,
                ) {
                    groups.entry((kind, base)).or_default().push(Candidate::new(
                        ti,
                        Some(mi),
                        None,
                        score,
                    ));
                }
                if m.args.0 == m.args.1 {
                    continue;
                }
                let field_owner_l = format!("{owner_l}.{}", name.to_ascii_lowercase());
                for ai in m.args.0..m.args.1 {
                    let a = &self.args[ai as usize];
                    let arg_name = self.str(a.name);
                    let description = self.opt(a.description);
                    if let Some(score) =
                        matcher.score(arg_name, &field_owner_l, description, false, &mut name_l)
                    {
                        groups
                            .entry((HitKind::Argument, arg_name))
                            .or_default()
                            .push(Candidate::new(ti, Some(mi), Some(ai), score));
                    }
                }
            }
        }

        let mut ranked: Vec<Group> = groups
            .into_iter()
            .map(|((kind, base), mut cands)| {
                cands.sort_by_cached_key(|c| {
                    (
                        c.score.key(),
                        self.owner_preference(c),
                        self.candidate_name(c).len() != base.len(),
                        c.member,
                        c.arg,
                    )
                });
                let mut owners: Vec<(u32, Option<u32>)> = cands.iter().map(|c| c.owner()).collect();
                owners.sort_unstable();
                owners.dedup();
                Group {
                    kind,
                    base,
                    owners: owners.len(),
                    cands,
                }
            })
            .collect();
        ranked.sort_by_cached_key(|g| {
            let best = &g.cands[0];
            (
                best.score.rank,
                Reverse(best.score.in_name),
                kind_group(g.kind),
                Reverse(best.score.quality),
                g.kind == HitKind::Dataset && !g.base.ends_with("Groups"),
                Reverse(g.owners),
                g.base.len(),
                g.base,
                g.kind == HitKind::FilterKey,
                self.owner_preference(best),
            )
        });
        ranked.truncate(limit);
        ranked.iter().map(|g| self.hit(g)).collect()
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

    fn hit_kind(t: &TypeEntry, m: &Member) -> HitKind {
        match (m.kind, t.role) {
            (MemberKind::Field, _) if m.dataset => HitKind::Dataset,
            (MemberKind::Field, _) => HitKind::Field,
            (MemberKind::InputField, Role::Filter) => HitKind::FilterKey,
            (MemberKind::InputField, _) => HitKind::Field,
            (MemberKind::EnumValue, _) => HitKind::EnumValue,
        }
    }

    fn candidate_name(&self, c: &Candidate) -> &str {
        match (c.member, c.arg) {
            (_, Some(a)) => self.str(self.args[a as usize].name),
            (Some(m), None) => self.str(self.members[m as usize].name),
            (None, None) => self.str(self.types[c.ty as usize].name),
        }
    }

    /// Lower is better: see [`Affinity`]; types outside every dataset last; then shorter names.
    fn owner_preference(&self, c: &Candidate) -> (bool, Option<Affinity>, usize, &str) {
        let t = &self.types[c.ty as usize];
        let name = self.str(t.name);
        (t.affinity.is_none(), t.affinity, name.len(), name)
    }

    fn owner_label(&self, c: &Candidate) -> String {
        let type_name = self.str(self.types[c.ty as usize].name);
        match (c.member, c.arg) {
            (None, _) => String::new(),
            (Some(m), Some(_)) => {
                format!("{type_name}.{}", self.str(self.members[m as usize].name))
            }
            (Some(_), None) => type_name.to_owned(),
        }
    }

    fn hit(&self, g: &Group) -> SchemaHit {
        let best = &g.cands[0];
        let t = &self.types[best.ty as usize];
        let (type_ref, description) = match (best.member, best.arg) {
            (None, _) => (t.kind.as_str().to_owned(), self.opt(t.description)),
            (Some(m), None) => {
                let m = &self.members[m as usize];
                (
                    m.type_ref
                        .map(|s| self.str(s).to_owned())
                        .unwrap_or_default(),
                    self.opt(m.description),
                )
            }
            (Some(_), Some(a)) => {
                let a = &self.args[a as usize];
                (self.str(a.type_ref).to_owned(), self.opt(a.description))
            }
        };
        let name = self.candidate_name(best);
        let owner = self.owner_label(best);
        let mut scopes = Vec::new();
        let mut also_in: Vec<String> = Vec::new();
        let mut variants: Vec<String> = Vec::new();
        for c in &g.cands {
            if g.kind == HitKind::Dataset
                && let Role::Scope(scope) = self.types[c.ty as usize].role
                && !scopes.contains(&scope)
            {
                scopes.push(scope);
            }
            let label = self.owner_label(c);
            if g.kind != HitKind::Type && label != owner && !also_in.contains(&label) {
                also_in.push(label);
            }
            let other = self.candidate_name(c);
            if other != name && !variants.iter().any(|v| v == other) {
                variants.push(other.to_owned());
            }
        }
        scopes.sort_unstable();
        SchemaHit {
            kind: g.kind,
            owner,
            name: name.to_owned(),
            type_ref,
            description: description.map(str::to_owned),
            scopes,
            also_in,
            variants,
        }
    }
}

/// One matching name in one owner, before folding.
struct Candidate {
    ty: u32,
    member: Option<u32>,
    arg: Option<u32>,
    score: Score,
}

impl Candidate {
    fn new(ty: u32, member: Option<u32>, arg: Option<u32>, score: Score) -> Candidate {
        Candidate {
            ty,
            member,
            arg,
            score,
        }
    }

    /// The owner's identity: the type, or the field for an argument.
    fn owner(&self) -> (u32, Option<u32>) {
        (self.ty, self.arg.and(self.member))
    }
}

/// Every candidate of one folded hit, best first.
struct Group<'a> {
    kind: HitKind,
    base: &'a str,
    owners: usize,
    cands: Vec<Candidate>,
}

#[derive(Clone, Copy, Debug)]
struct Score {
    /// 0 to 3, see [`SchemaIndex::search`].
    rank: u8,
    /// How many words are in the name.
    in_name: u8,
    /// 2 per word at a camelCase boundary, 1 per word inside another; `u8::MAX` for an exact
    /// name.
    quality: u8,
}

impl Score {
    /// Lower is better.
    fn key(&self) -> (u8, Reverse<u8>, Reverse<u8>) {
        (self.rank, Reverse(self.in_name), Reverse(self.quality))
    }
}

struct Matcher {
    /// Lowercase, folded.
    words: Vec<String>,
    /// The words run together, for exact name matches (`http requests` = `httpRequests`).
    joined: String,
    /// The words run together, then folded as one name is (`cache status` = `cacheStatus`:
    /// folding drops the `e` of a lone `cache`, not of `cachestatus`).
    joined_whole: String,
}

impl Matcher {
    /// How `name` (owned by `owner_l`, already lowercase) matches every word, or `None`.
    fn score(
        &self,
        name: &str,
        owner_l: &str,
        description: Option<&str>,
        dataset: bool,
        name_l: &mut String,
    ) -> Option<Score> {
        name_l.clear();
        name_l.extend(name.chars().map(|c| c.to_ascii_lowercase()));
        let mut description_l: Option<String> = None;
        let (mut in_name, mut quality) = (0u8, 0u8);
        for word in &self.words {
            let q = name_quality(name, name_l, word);
            if q > 0 {
                in_name += 1;
                quality += q;
                continue;
            }
            if owner_l.contains(word.as_str()) {
                continue;
            }
            let description_l =
                description_l.get_or_insert_with(|| description.unwrap_or("").to_lowercase());
            if !description_l.contains(word.as_str()) {
                return None;
            }
        }
        let folded = stem(name_l);
        let exact = folded == self.joined || folded == self.joined_whole;
        if exact {
            quality = u8::MAX;
        }
        let all_in_name = usize::from(in_name) == self.words.len();
        let rank = match (all_in_name, dataset || exact) {
            (true, true) => 0,
            (true, false) => 1,
            (false, true) if dataset => 2,
            _ => 3,
        };
        Some(Score {
            rank,
            in_name,
            quality,
        })
    }
}

/// 2 if `word` starts at a camelCase, `_` or digit boundary of `name`, 1 if it is only inside
/// another word, 0 if absent. `name_l` is `name` in ASCII lowercase (same byte offsets).
fn name_quality(name: &str, name_l: &str, word: &str) -> u8 {
    let bytes = name.as_bytes();
    let mut found = 0;
    for (i, _) in name_l.match_indices(word) {
        let boundary = i == 0
            || bytes[i].is_ascii_uppercase()
            || bytes[i - 1] == b'_'
            || bytes[i].is_ascii_digit() != bytes[i - 1].is_ascii_digit();
        if boundary {
            return 2;
        }
        found = 1;
    }
    found
}

/// `Zone…` and `Account…` twins of a type share this key.
fn twin_key(type_name: &str) -> &str {
    for prefix in ["Zone", "Account"] {
        if let Some(rest) = type_name.strip_prefix(prefix)
            && rest.starts_with(|c: char| c.is_ascii_uppercase())
        {
            return rest;
        }
    }
    type_name
}

fn kind_group(kind: HitKind) -> u8 {
    match kind {
        HitKind::Dataset => 0,
        HitKind::Field | HitKind::FilterKey => 1,
        HitKind::Type => 2,
        HitKind::Argument => 3,
        HitKind::EnumValue => 4,
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

// ---- Reading the introspection answer ----

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudflare::schema_check::schema;
    use apollo_compiler::ExecutableDocument;
    use std::sync::OnceLock;
    use std::time::Instant;

    /// The answer Cloudflare would give to [`INTROSPECTION_QUERY`], executed by apollo-compiler
    /// against the schema files (which also validates the query).
    fn introspection() -> &'static [u8] {
        static BODY: OnceLock<Vec<u8>> = OnceLock::new();
        BODY.get_or_init(|| {
            let schema = schema();
            let doc = ExecutableDocument::parse_and_validate(
                schema,
                INTROSPECTION_QUERY,
                "introspection.graphql",
            )
            .unwrap_or_else(|e| panic!("{}", e.errors));
            let operation = doc.operations.get(None).expect("one operation");
            let variables = apollo_compiler::request::coerce_variable_values(
                schema,
                operation,
                &apollo_compiler::response::JsonMap::new(),
            )
            .expect("no variables");
            let response = apollo_compiler::introspection::partial_execute(
                schema,
                &schema.implementers_map(),
                &doc,
                operation,
                &variables,
            )
            .expect("introspection runs");
            assert!(response.errors.is_empty(), "{:?}", response.errors);
            serde_json::to_vec(&response).expect("json")
        })
    }

    fn index() -> &'static SchemaIndex {
        static INDEX: OnceLock<SchemaIndex> = OnceLock::new();
        INDEX.get_or_init(|| SchemaIndex::from_response(introspection()).expect("an index"))
    }

    fn position(hits: &[SchemaHit], kind: HitKind, name: &str) -> Option<usize> {
        hits.iter().position(|h| h.kind == kind && h.name == name)
    }

    fn show(hits: &[SchemaHit]) -> String {
        hits.iter()
            .map(|h| format!("{:?} {}.{}: {}\n", h.kind, h.owner, h.name, h.type_ref))
            .collect()
    }

    #[test]
    fn counts_every_type() {
        assert_eq!(index().type_count(), schema().types.len());
        assert!(index().type_count() > 750);
    }

    #[test]
    fn country_finds_the_dimension_and_the_filter_key() {
        let hits = index().search("country", 10);
        let dimension = position(&hits, HitKind::Field, "clientCountryName")
            .unwrap_or_else(|| panic!("{}", show(&hits)));
        assert_eq!(
            hits[dimension].owner,
            "ZoneHttpRequestsAdaptiveGroupsDimensions"
        );
        assert_eq!(hits[dimension].type_ref, "string!");
        assert!(
            hits[dimension]
                .also_in
                .iter()
                .any(|o| o == "AccountHttpRequestsAdaptiveGroupsDimensions")
        );
        let key = position(&hits, HitKind::FilterKey, "clientCountryName")
            .unwrap_or_else(|| panic!("{}", show(&hits)));
        assert_eq!(
            hits[key].owner,
            "ZoneHttpRequestsAdaptiveGroupsFilter_InputObject"
        );
        assert!(
            hits[key]
                .variants
                .iter()
                .any(|v| v == "clientCountryName_in")
        );
        assert!(
            hits[key]
                .variants
                .iter()
                .any(|v| v == "clientCountryName_notin")
        );
        // Folding keeps the list varied: no name twice with the same kind.
        for (i, h) in hits.iter().enumerate() {
            assert_eq!(position(&hits, h.kind, &h.name), Some(i), "{}", show(&hits));
        }
        // Plurals fold to the same hits.
        assert_eq!(index().search("Countries", 10), hits);
    }

    #[test]
    fn firewall_starts_with_the_aggregated_dataset() {
        let hits = index().search("firewall", 20);
        let first = &hits[0];
        assert_eq!(
            (first.kind, first.name.as_str(), first.owner.as_str()),
            (HitKind::Dataset, "firewallEventsAdaptiveGroups", "zone"),
            "{}",
            show(&hits)
        );
        assert_eq!(first.scopes, [Scope::Zone, Scope::Account]);
        assert_eq!(first.also_in, ["account"]);
        assert_eq!(first.type_ref, "[ZoneFirewallEventsAdaptiveGroups!]!");
        assert!(
            first
                .description
                .as_deref()
                .is_some_and(|d| d.contains("Firewall"))
        );
        let raw = position(&hits, HitKind::Dataset, "firewallEventsAdaptive").expect("raw");
        assert!(hits[..raw].iter().all(|h| h.kind == HitKind::Dataset));
    }

    #[test]
    fn cache_finds_cache_status() {
        let hits = index().search("cache", 20);
        assert!(
            position(&hits, HitKind::Field, "cacheStatus").is_some(),
            "{}",
            show(&hits)
        );
        assert_eq!(hits[0].kind, HitKind::Dataset, "{}", show(&hits));
        // Written as two words, the name is still exact: the shared stemmer folds `cache`
        // alone to `cach`, but the words are also compared run together.
        let hits = index().search("cache status", 20);
        let exact = position(&hits, HitKind::Field, "cacheStatus")
            .unwrap_or_else(|| panic!("{}", show(&hits)));
        assert_eq!(hits[exact].kind, HitKind::Field);
    }

    #[test]
    fn two_words_must_both_match() {
        let hits = index().search("firewall country", 10);
        assert!(!hits.is_empty());
        let dimension = position(&hits, HitKind::Field, "clientCountryName")
            .unwrap_or_else(|| panic!("{}", show(&hits)));
        assert!(
            hits[dimension].owner.contains("Firewall"),
            "{}",
            show(&hits)
        );
        assert!(
            hits[dimension]
                .also_in
                .iter()
                .all(|o| o.contains("Firewall")),
            "{:?}",
            hits[dimension].also_in
        );
        for h in &hits {
            let text = format!("{} {} {:?}", h.owner, h.name, h.description).to_lowercase();
            assert!(
                text.contains("firewall") && text.contains("countr"),
                "{h:?}"
            );
        }
        // An exact name written as two words.
        let hits = index().search("http requests adaptive groups", 3);
        assert_eq!(
            hits[0].name,
            "httpRequestsAdaptiveGroups",
            "{}",
            show(&hits)
        );
    }

    #[test]
    fn empty_queries_and_limits() {
        assert!(index().search("", 10).is_empty());
        assert!(index().search("  , ", 10).is_empty());
        assert!(index().search("country", 0).is_empty());
        assert!(index().search("zzqqxx", 10).is_empty());
        assert_eq!(index().search("a", 7).len(), 7);
    }

    #[test]
    fn lists_of_zones_are_not_datasets() {
        let hits = index().search("zones", 10);
        let zones =
            position(&hits, HitKind::Field, "zones").unwrap_or_else(|| panic!("{}", show(&hits)));
        assert_eq!(hits[zones].owner, "account");
        assert_eq!(hits[zones].also_in, ["viewer"]);
        assert!(position(&hits, HitKind::Dataset, "zones").is_none());
    }

    #[test]
    fn arguments_and_enum_values_are_found() {
        let hits = index().search("orderBy", 50);
        let arg = position(&hits, HitKind::Argument, "orderBy").expect("argument");
        assert!(hits[arg].owner.contains('.'), "{:?}", hits[arg]);
        let hits = index().search("clientCountryName", 30);
        let value = position(&hits, HitKind::EnumValue, "clientCountryName_ASC")
            .unwrap_or_else(|| panic!("{}", show(&hits)));
        assert_eq!(hits[value].variants, ["clientCountryName_DESC"]);
    }

    #[test]
    fn describes_the_dimensions() {
        let d = index()
            .describe("ZoneHttpRequestsAdaptiveGroupsDimensions")
            .expect("known");
        assert_eq!(d.kind, TypeKind::Object);
        let f = d
            .fields
            .iter()
            .find(|f| f.name == "clientCountryName")
            .expect("field");
        assert_eq!(f.type_ref, "string!");
        assert_eq!(
            f.description.as_deref(),
            Some("Country from which request originated")
        );
        assert_eq!(
            index().describe("zonehttprequestsadaptivegroupsdimensions"),
            Some(d)
        );
    }

    #[test]
    fn describes_datasets_filters_and_enums() {
        let zone = index().describe("zone").expect("zone");
        let dataset = zone
            .fields
            .iter()
            .find(|f| f.name == "httpRequestsAdaptiveGroups")
            .expect("dataset");
        assert_eq!(dataset.type_ref, "[ZoneHttpRequestsAdaptiveGroups!]!");
        let args: Vec<(&str, &str)> = dataset
            .args
            .iter()
            .map(|a| (a.name.as_str(), a.type_ref.as_str()))
            .collect();
        assert_eq!(
            args,
            [
                (
                    "filter",
                    "ZoneHttpRequestsAdaptiveGroupsFilter_InputObject!"
                ),
                ("limit", "uint64!"),
                ("orderBy", "[ZoneHttpRequestsAdaptiveGroupsOrderBy!]"),
            ]
        );
        let filter = index()
            .describe("ZoneHttpRequestsAdaptiveGroupsFilter_InputObject")
            .expect("filter");
        assert_eq!(filter.kind, TypeKind::InputObject);
        assert!(
            filter
                .input_fields
                .iter()
                .any(|v| v.name == "clientCountryName_in" && v.type_ref == "[string!]")
        );
        let order = index()
            .describe("ZoneHttpRequestsAdaptiveGroupsOrderBy")
            .expect("enum");
        assert_eq!(order.kind, TypeKind::Enum);
        assert!(order.enum_values.iter().any(|v| v.name == "datetime_ASC"));
    }

    #[test]
    fn unknown_types_get_suggestions() {
        assert_eq!(
            index().describe("ZoneHttpRequestsAdaptiveGroupDimensions"),
            None
        );
        let s = index().suggest("ZoneHttpRequestsAdaptiveGroupDimensions", 3);
        assert_eq!(s[0], "ZoneHttpRequestsAdaptiveGroupsDimensions", "{s:?}");
        let s = index().suggest("HttpRequestsAdaptiveGroupsDimensions", 2);
        assert_eq!(
            s,
            [
                "ZoneHttpRequestsAdaptiveGroupsDimensions",
                "AccountHttpRequestsAdaptiveGroupsDimensions"
            ]
        );
        assert!(index().suggest("qqqqqqqqqqqqqqqqqqqq", 3).is_empty());
    }

    #[test]
    fn malformed_bodies_are_errors() {
        let body = introspection();
        let bodies: [&[u8]; 10] = [
            b"",
            b"not json",
            b"{}",
            b"[]",
            br#"{"data":null,"errors":[{"message":"introspection disabled"}]}"#,
            br#"{"data":{"__schema":null}}"#,
            br#"{"data":{"__schema":{"types":{}}}}"#,
            br#"{"data":{"__schema":{"types":[{"kind":"OBJECT"}]}}}"#,
            br#"{"data":{"__schema":{"types":[{"kind":"THING","name":"x"}]}}}"#,
            &body[..body.len() / 2],
        ];
        for b in bodies {
            let e = SchemaIndex::from_response(b).expect_err(&String::from_utf8_lossy(b));
            assert!(!e.is_empty());
        }
    }

    #[test]
    fn reads_escapes_and_deep_type_references() {
        let body = br#"{"errors":[],"data":{"__schema":{"types":[
            {"kind":"OBJECT","name":"zone","description":"Caf\u00e9 \"zone\"\n",
             "fields":[{"name":"deepGroups","description":"","args":[],
               "type":{"kind":"NON_NULL","name":null,"ofType":{"kind":"LIST","name":null,
                 "ofType":{"kind":"LIST","name":null,"ofType":{"kind":"NON_NULL","name":null}}}}}],
             "inputFields":null,"enumValues":null}]}}}"#;
        let index = SchemaIndex::from_response(body).expect("index");
        let zone = index.describe("ZONE").expect("zone");
        assert_eq!(zone.description.as_deref(), Some("Café \"zone\""));
        assert_eq!(zone.fields[0].type_ref, "[[?!]]!");
        assert_eq!(zone.fields[0].description, None);
        let hits = index.search("deep", 5);
        assert_eq!(hits[0].kind, HitKind::Dataset);
        assert_eq!(hits[0].scopes, [Scope::Zone]);
    }

    /// `cargo test -p plugin --lib schema_index::tests::whole_schema_size -- --nocapture`
    /// prints what the plugin downloads and keeps (`--release` for a realistic parse time).
    #[test]
    fn whole_schema_size() {
        let body = introspection();
        let started = Instant::now();
        let index = SchemaIndex::from_response(body).expect("index");
        let parse = started.elapsed();
        let started = Instant::now();
        let hits = index.search("country", 10);
        let search = started.elapsed();
        println!(
            "introspection JSON: {} bytes ({:.1} MiB) for {} types; from_response: {parse:?}; \
             index: {} bytes ({} members, {} arguments, {} bytes of text); search: {search:?}",
            body.len(),
            body.len() as f64 / 1048576.0,
            index.type_count(),
            index.heap_size(),
            index.members.len(),
            index.args.len(),
            index.text.len(),
        );
        println!("{}", show(&hits));
        assert!(index.heap_size() < body.len() / 2);
    }
}
