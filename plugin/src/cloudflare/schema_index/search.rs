//! Ranking schema names for a query, and folding the hits so a short list shows many things.

use super::{Affinity, HitKind, Member, MemberKind, Role, SchemaHit, SchemaIndex, TypeEntry};
use crate::cloudflare::text::stem;
use std::cmp::Reverse;
use std::collections::HashMap;

/// Most words of one search query that are used; the rest are ignored.
const MAX_WORDS: usize = 8;

impl SchemaIndex {
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
