//! How much a GraphQL document may ask for, checked before it is sent: by the plugin (so the
//! user hears why at once) and again by the host's GraphQL guard (so a plugin that skips its own
//! check cannot forward a query bomb). One definition of each bound, one walk.
//!
//! The bounds, per operation:
//! - **size**: the document's length in bytes, checked before it is parsed;
//! - **depth**: how deep selection sets nest, through fragments (`{ viewer { zones { x } } }`
//!   is 3);
//! - **selections**: every field, fragment spread and inline fragment the operation selects once
//!   its fragments are expanded; counting stops at the first one past the bound, so twenty
//!   fragments that each spread the one before ten times cost two thousand steps, not 10²⁰;
//! - **aliases**: aliased fields once fragments are expanded (each alias is one more query of a
//!   dataset for Cloudflare).
//!
//! A spread of a fragment that is not defined, defined twice, or spread inside itself is refused
//! too: a server would refuse it as well, and the walk must end.

use apollo_parser::{Parser, SyntaxTree, cst};
use std::fmt;

/// One bound on a document, with its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    Size,
    Depth,
    Selections,
    Aliases,
}

impl Bound {
    pub const ALL: [Bound; 4] = [Bound::Size, Bound::Depth, Bound::Selections, Bound::Aliases];

    /// The largest value allowed. A query Cloudflare's analytics answer reads a few datasets of
    /// a few dozen fields, about five levels deep; the full introspection query nests 13 deep.
    pub const fn limit(self) -> usize {
        match self {
            Bound::Size => 64 * 1024,
            Bound::Depth => 16,
            Bound::Selections => 2_000,
            Bound::Aliases => 100,
        }
    }

    /// The bound's name in messages and documentation.
    pub const fn name(self) -> &'static str {
        match self {
            Bound::Size => "size",
            Bound::Depth => "depth",
            Bound::Selections => "selections",
            Bound::Aliases => "aliases",
        }
    }
}

/// How deep the parser itself may recurse (argument values nest as well as selections): far
/// past [`Bound::Depth`], and shallow enough for a wasm guest's or a runtime worker's stack.
pub const PARSER_RECURSION_LIMIT: usize = 128;

/// Why a document was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A bound was passed. `value` is the size or depth found, or for a count the value at
    /// which counting stopped (one past the limit).
    Exceeded { bound: Bound, value: usize },
    /// A spread names a fragment the document does not define.
    UnknownFragment(String),
    /// A fragment is defined more than once.
    DuplicateFragment(String),
    /// A fragment spreads itself, directly or through others.
    FragmentCycle(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Refusal::Exceeded { bound, value } => {
                let limit = bound.limit();
                let name = bound.name();
                match bound {
                    Bound::Size => write!(
                        f,
                        "the query is {value} bytes, more than the {limit} allowed ({name}): \
                         send a shorter document"
                    ),
                    Bound::Depth => write!(
                        f,
                        "the query nests selections {value} levels deep, more than the {limit} \
                         allowed ({name})"
                    ),
                    Bound::Selections => write!(
                        f,
                        "the query selects more than {limit} fields and fragments once its \
                         fragments are expanded ({name}; counting stopped at {value}): ask for \
                         fewer fields, or split it into several queries"
                    ),
                    Bound::Aliases => write!(
                        f,
                        "the query uses more than {limit} aliases once its fragments are \
                         expanded ({name}; counting stopped at {value}): split it into several \
                         queries"
                    ),
                }
            }
            Refusal::UnknownFragment(ref name) => {
                write!(
                    f,
                    "the query spreads fragment {name:?}, which it does not define"
                )
            }
            Refusal::DuplicateFragment(ref name) => {
                write!(f, "the query defines fragment {name:?} more than once")
            }
            Refusal::FragmentCycle(ref name) => {
                write!(
                    f,
                    "fragment {name:?} spreads itself, directly or through others"
                )
            }
        }
    }
}

impl std::error::Error for Refusal {}

/// Parses a document after checking its size, with the parser's recursion limit. Syntax errors
/// are in the tree's `errors()`, as apollo-parser gives them.
pub fn parse(query: &str) -> Result<SyntaxTree, Refusal> {
    if query.len() > Bound::Size.limit() {
        return Err(Refusal::Exceeded {
            bound: Bound::Size,
            value: query.len(),
        });
    }
    Ok(Parser::new(query)
        .recursion_limit(PARSER_RECURSION_LIMIT)
        .parse())
}

/// Checks every operation of a parsed document against the bounds (each operation has its own
/// budget: a server runs one).
pub fn check(document: &cst::Document) -> Result<(), Refusal> {
    // A list, not a map: the size bound keeps it to a few thousand, and a map's code would
    // cost the component kilobytes.
    let mut fragments: Fragments = Vec::new();
    for definition in document.definitions() {
        if let cst::Definition::FragmentDefinition(fragment) = definition {
            let name = fragment_name(fragment.fragment_name());
            if find(&fragments, &name).is_some() {
                return Err(Refusal::DuplicateFragment(name));
            }
            fragments.push((name, fragment.selection_set()));
        }
    }
    for definition in document.definitions() {
        if let cst::Definition::OperationDefinition(operation) = definition {
            check_operation(operation.selection_set(), &fragments)?;
        }
    }
    Ok(())
}

/// The document's fragments: name and selection set.
type Fragments = Vec<(String, Option<cst::SelectionSet>)>;

fn find<'a>(fragments: &'a Fragments, name: &str) -> Option<&'a Option<cst::SelectionSet>> {
    fragments
        .iter()
        .find_map(|(defined, set)| (defined == name).then_some(set))
}

fn fragment_name(name: Option<cst::FragmentName>) -> String {
    name.and_then(|n| n.name())
        .map(|n| n.text().to_string())
        .unwrap_or_default()
}

/// A selection set being walked: what is left of it, its depth, and whether it is a fragment's
/// (whose name leaves the path when it is done).
struct Frame {
    selections: cst::CstChildren<cst::Selection>,
    depth: usize,
    from_fragment: bool,
}

impl Frame {
    fn of(set: &cst::SelectionSet, depth: usize, from_fragment: bool) -> Frame {
        Frame {
            selections: set.selections(),
            depth,
            from_fragment,
        }
    }
}

/// Walks one operation with an explicit stack (a long chain of fragments must not exhaust the
/// call stack), counting against the budget as it goes.
fn check_operation(set: Option<cst::SelectionSet>, fragments: &Fragments) -> Result<(), Refusal> {
    let Some(set) = set else { return Ok(()) };
    let mut stack = vec![Frame::of(&set, 1, false)];
    // The fragments being expanded on the current path, innermost last.
    let mut path: Vec<String> = Vec::new();
    let mut selections = 0;
    let mut aliases = 0;
    let over = |bound: Bound, value: usize| Refusal::Exceeded { bound, value };
    while let Some(top) = stack.last_mut() {
        let depth = top.depth;
        let Some(selection) = top.selections.next() else {
            if stack.pop().is_some_and(|done| done.from_fragment) {
                path.pop();
            }
            continue;
        };
        selections += 1;
        if selections > Bound::Selections.limit() {
            return Err(over(Bound::Selections, selections));
        }
        match selection {
            cst::Selection::Field(field) => {
                if field.alias().is_some() {
                    aliases += 1;
                    if aliases > Bound::Aliases.limit() {
                        return Err(over(Bound::Aliases, aliases));
                    }
                }
                if let Some(inner) = field.selection_set() {
                    if depth + 1 > Bound::Depth.limit() {
                        return Err(over(Bound::Depth, depth + 1));
                    }
                    stack.push(Frame::of(&inner, depth + 1, false));
                }
            }
            cst::Selection::InlineFragment(inline) => {
                if let Some(inner) = inline.selection_set() {
                    stack.push(Frame::of(&inner, depth, false));
                }
            }
            cst::Selection::FragmentSpread(spread) => {
                let name = fragment_name(spread.fragment_name());
                let Some(definition) = find(fragments, &name) else {
                    return Err(Refusal::UnknownFragment(name));
                };
                if path.contains(&name) {
                    return Err(Refusal::FragmentCycle(name));
                }
                if let Some(inner) = definition {
                    stack.push(Frame::of(inner, depth, true));
                    path.push(name);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(query: &str) -> Result<(), Refusal> {
        let tree = parse(query)?;
        assert_eq!(tree.errors().count(), 0, "{query} must parse");
        check(&tree.document())
    }

    fn exceeded(result: Result<(), Refusal>) -> Option<(Bound, usize)> {
        match result {
            Err(Refusal::Exceeded { bound, value }) => Some((bound, value)),
            _ => None,
        }
    }

    /// `levels` nested fields, the innermost a leaf: depth `levels`.
    fn nested(levels: usize) -> String {
        format!(
            "{{ {}leaf{} }}",
            "a { ".repeat(levels - 1),
            " }".repeat(levels - 1)
        )
    }

    #[test]
    fn a_fragment_expansion_bomb_stops_at_the_selection_budget() {
        let mut query = String::from("query { viewer { ...F19 } }\nfragment F0 on T { a b }\n");
        for i in 1..20 {
            let spreads = format!(" ...F{}", i - 1).repeat(10);
            query.push_str(&format!("fragment F{i} on T {{{spreads} }}\n"));
        }
        assert_eq!(
            exceeded(checked(&query)),
            Some((Bound::Selections, Bound::Selections.limit() + 1))
        );
    }

    #[test]
    fn depth_counts_through_fragments_and_stops_past_its_limit() {
        let limit = Bound::Depth.limit();
        assert_eq!(checked(&nested(limit)), Ok(()));
        assert_eq!(
            exceeded(checked(&nested(limit + 1))),
            Some((Bound::Depth, limit + 1))
        );
        // The same depth split across a fragment and an inline fragment.
        let half = limit / 2;
        let query = format!(
            "{{ {}...F{} }} fragment F on T {{ ... on T {{ {}leaf{} }} }}",
            "a { ".repeat(half),
            " }".repeat(half),
            "b { ".repeat(limit - half),
            " }".repeat(limit - half)
        );
        assert_eq!(exceeded(checked(&query)), Some((Bound::Depth, limit + 1)));
    }

    #[test]
    fn aliases_are_counted_once_fragments_are_expanded() {
        let limit = Bound::Aliases.limit();
        let aliased = |n: usize| (0..n).map(|i| format!("a{i}: x ")).collect::<String>();
        assert_eq!(checked(&format!("{{ {} }}", aliased(limit))), Ok(()));
        assert_eq!(
            exceeded(checked(&format!("{{ {} }}", aliased(limit + 1)))),
            Some((Bound::Aliases, limit + 1))
        );
        // Half the limit in a fragment, spread three times.
        let query = format!(
            "{{ one {{ ...F }} two {{ ...F }} three {{ ...F }} }} fragment F on T {{ {} }}",
            aliased(limit / 2)
        );
        assert_eq!(exceeded(checked(&query)), Some((Bound::Aliases, limit + 1)));
    }

    #[test]
    fn the_size_is_checked_before_parsing() {
        let limit = Bound::Size.limit();
        let padded = |len: usize| format!("{{ a }}{}", " ".repeat(len - 5));
        assert_eq!(checked(&padded(limit)), Ok(()));
        assert_eq!(
            parse(&padded(limit + 1)).err(),
            Some(Refusal::Exceeded {
                bound: Bound::Size,
                value: limit + 1
            })
        );
    }

    #[test]
    fn fragments_that_are_missing_repeated_or_circular_are_refused() {
        assert_eq!(
            checked("{ ...Missing }"),
            Err(Refusal::UnknownFragment("Missing".into()))
        );
        assert_eq!(
            checked("{ ...F } fragment F on T { a } fragment F on T { b }"),
            Err(Refusal::DuplicateFragment("F".into()))
        );
        assert_eq!(
            checked("{ ...F } fragment F on T { a ...F }"),
            Err(Refusal::FragmentCycle("F".into()))
        );
        assert_eq!(
            checked("{ ...A } fragment A on T { ...B } fragment B on T { x { ...A } }"),
            Err(Refusal::FragmentCycle("A".into()))
        );
        // The same fragment twice side by side is not a cycle.
        assert_eq!(
            checked("{ a { ...F } b { ...F } } fragment F on T { x }"),
            Ok(())
        );
    }

    #[test]
    fn a_long_chain_of_fragments_ends_without_exhausting_the_stack() {
        // As many links as fit the size bound, more than the selection budget.
        let links = 2_100;
        let mut query = String::from("{ ...F0 }\n");
        for i in 0..links {
            query.push_str(&format!("fragment F{i} on T{{...F{}}}\n", i + 1));
        }
        query.push_str(&format!("fragment F{links} on T {{ a }}\n"));
        assert_eq!(
            exceeded(checked(&query)),
            Some((Bound::Selections, Bound::Selections.limit() + 1))
        );
    }

    #[test]
    fn the_introspection_query_and_each_operation_fit() {
        assert_eq!(checked(INTROSPECTION), Ok(()));
        // Each operation has its own budget.
        let half = |name: &str| {
            format!(
                "query {name} {{ {} }} ",
                "x ".repeat(Bound::Selections.limit() / 2 + 1)
            )
        };
        assert_eq!(checked(&format!("{}{}", half("A"), half("B"))), Ok(()));
    }

    #[test]
    fn every_refusal_names_its_bound_and_value() {
        for bound in Bound::ALL {
            let text = Refusal::Exceeded {
                bound,
                value: 123_456,
            }
            .to_string();
            assert!(text.contains(bound.name()), "{text}");
            assert!(text.contains("123456"), "{text}");
            assert!(text.contains(&bound.limit().to_string()), "{text}");
        }
    }

    /// The introspection query GraphQL tools send (graphql-js `getIntrospectionQuery()`).
    const INTROSPECTION: &str = r#"
    query IntrospectionQuery {
      __schema {
        queryType { name }
        mutationType { name }
        subscriptionType { name }
        types { ...FullType }
        directives { name description locations args { ...InputValue } }
      }
    }
    fragment FullType on __Type {
      kind name description
      fields(includeDeprecated: true) {
        name description args { ...InputValue } type { ...TypeRef }
        isDeprecated deprecationReason
      }
      inputFields { ...InputValue }
      interfaces { ...TypeRef }
      enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
      possibleTypes { ...TypeRef }
    }
    fragment InputValue on __InputValue {
      name description type { ...TypeRef } defaultValue
    }
    fragment TypeRef on __Type {
      kind name
      ofType { kind name ofType { kind name ofType { kind name ofType {
        kind name ofType { kind name ofType { kind name ofType { kind name } } }
      } } } }
    }
    "#;
}
