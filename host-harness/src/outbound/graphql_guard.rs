//! The host's own check of GraphQL request bodies: the one `POST` the plugin may send
//! (`/client/v4/graphql` on the API host) must carry a query, never a mutation or a
//! subscription, whatever the plugin (or someone who took it over) put in it.
//!
//! The rules are stricter than a GraphQL server's, so that the host and the server cannot read
//! one body two ways:
//! - the body is one JSON object with a string `query`, and optionally `variables` (an object or
//!   null) and `operationName` (a string or null); no other member (no `extensions`, so no
//!   persisted queries), no member twice, no batch (a JSON array);
//! - it is declared `Content-Type: application/json`, with no `Content-Encoding`;
//! - `query` parses as a GraphQL document of operations and fragments only, every operation is a
//!   query (a document holding a mutation or a subscription is refused even when
//!   `operationName` picks a query), and the operation to run is unambiguous: `operationName`
//!   names one, or the document has exactly one;
//! - the document stays within `graphql_bounds`'s size, depth, selections and aliases, the same
//!   check the plugin makes (so a plugin that skips its own cannot forward a query bomb).

use apollo_parser::cst;
use graphql_bounds::Refusal;
use serde::Deserialize;
use std::fmt;

/// The largest GraphQL request body the host buffers to check; larger ones are refused.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Why a GraphQL request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphqlRefusal {
    /// The body is larger than [`MAX_BODY_BYTES`].
    TooLarge {
        size: usize,
        limit: usize,
    },
    /// `Content-Type` is not `application/json`, or `Content-Encoding` is set.
    NotJsonContent(String),
    /// The body is not a JSON object of `query`, `variables` and `operationName`.
    NotAGraphqlRequest(String),
    /// `query` is not a GraphQL document.
    Unparsable(String),
    /// The document defines types or a schema rather than operations.
    NotExecutable,
    NoOperation,
    /// The document contains a mutation or a subscription.
    NotAQuery {
        kind: &'static str,
    },
    /// The document passes a bound (size, depth, selections, aliases) or its fragments cannot
    /// be expanded.
    OverBounds(Refusal),
    /// Several operations and no `operationName`.
    AmbiguousOperation,
    /// `operationName` names no operation of the document.
    UnknownOperation(String),
}

impl fmt::Display for GraphqlRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphqlRefusal::TooLarge { size, limit } => write!(
                f,
                "the GraphQL request body is {size} bytes, more than the {limit} bytes allowed"
            ),
            GraphqlRefusal::NotJsonContent(what) => {
                write!(
                    f,
                    "a GraphQL request must be plain application/json: {what}"
                )
            }
            GraphqlRefusal::NotAGraphqlRequest(why) => {
                write!(f, "the body is not a GraphQL request object: {why}")
            }
            GraphqlRefusal::Unparsable(why) => write!(f, "the query is not valid GraphQL: {why}"),
            GraphqlRefusal::NotExecutable => {
                f.write_str("the document may hold only operations and fragments")
            }
            GraphqlRefusal::NoOperation => f.write_str("the document has no operation"),
            GraphqlRefusal::NotAQuery { kind } => {
                write!(
                    f,
                    "the document contains a {kind}: only queries are allowed"
                )
            }
            GraphqlRefusal::OverBounds(refusal) => refusal.fmt(f),
            GraphqlRefusal::AmbiguousOperation => {
                f.write_str("the document has several operations and no operationName")
            }
            GraphqlRefusal::UnknownOperation(name) => {
                write!(
                    f,
                    "operationName {name:?} names no operation of the document"
                )
            }
        }
    }
}

impl std::error::Error for GraphqlRefusal {}

/// The members a GraphQL-over-HTTP request may have; a duplicate or any other member fails to
/// deserialize.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestBody {
    query: String,
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
    #[serde(default)]
    #[allow(dead_code)] // only its shape is checked
    variables: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Checks the headers that say how the body is to be read.
pub fn check_headers(headers: &http::HeaderMap) -> Result<(), GraphqlRefusal> {
    if headers.contains_key(http::header::CONTENT_ENCODING) {
        return Err(GraphqlRefusal::NotJsonContent(
            "Content-Encoding is not allowed".into(),
        ));
    }
    let mut types = headers.get_all(http::header::CONTENT_TYPE).iter();
    let (Some(value), None) = (types.next(), types.next()) else {
        return Err(GraphqlRefusal::NotJsonContent(
            "exactly one Content-Type is needed".into(),
        ));
    };
    let essence = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(GraphqlRefusal::NotJsonContent(format!(
            "Content-Type is {essence:?}"
        )));
    }
    Ok(())
}

/// Checks a whole request body (see the module's rules).
pub fn check_body(body: &[u8]) -> Result<(), GraphqlRefusal> {
    if body.len() > MAX_BODY_BYTES {
        return Err(GraphqlRefusal::TooLarge {
            size: body.len(),
            limit: MAX_BODY_BYTES,
        });
    }
    let request: RequestBody = serde_json::from_slice(body)
        .map_err(|e| GraphqlRefusal::NotAGraphqlRequest(e.to_string()))?;
    check_document(&request.query, request.operation_name.as_deref())
}

/// Checks a GraphQL document: operations and fragments only, every operation a query, and the
/// operation to run unambiguous.
pub fn check_document(query: &str, operation_name: Option<&str>) -> Result<(), GraphqlRefusal> {
    let tree = graphql_bounds::parse(query).map_err(GraphqlRefusal::OverBounds)?;
    if let Some(e) = tree.errors().next() {
        return Err(GraphqlRefusal::Unparsable(format!(
            "{} at character {}",
            e.message(),
            e.index()
        )));
    }
    let mut names = Vec::new();
    for definition in tree.document().definitions() {
        match definition {
            cst::Definition::OperationDefinition(op) => {
                if let Some(kind) = op.operation_type()
                    && kind.query_token().is_none()
                {
                    let kind = if kind.mutation_token().is_some() {
                        "mutation"
                    } else {
                        "subscription"
                    };
                    return Err(GraphqlRefusal::NotAQuery { kind });
                }
                names.push(op.name().map(|n| n.text().to_string()));
            }
            cst::Definition::FragmentDefinition(_) => {}
            _ => return Err(GraphqlRefusal::NotExecutable),
        }
    }
    graphql_bounds::check(&tree.document()).map_err(GraphqlRefusal::OverBounds)?;
    match operation_name {
        _ if names.is_empty() => Err(GraphqlRefusal::NoOperation),
        Some(wanted) if names.iter().any(|n| n.as_deref() == Some(wanted)) => Ok(()),
        Some(wanted) => Err(GraphqlRefusal::UnknownOperation(wanted.to_string())),
        None if names.len() == 1 => Ok(()),
        None => Err(GraphqlRefusal::AmbiguousOperation),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: serde_json::Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    #[test]
    fn queries_pass() {
        for (query, name) in [
            ("{ viewer { zones { zoneTag } } }", None),
            ("query { viewer { __typename } }", None),
            (
                "query Q($z: string) { viewer { zones(filter: {zoneTag: $z}) { ...F } } } \
                 fragment F on zone { zoneTag }",
                None,
            ),
            ("query A { a } query B { b }", Some("B")),
        ] {
            let mut request = json!({ "query": query, "variables": { "z": "x" } });
            if let Some(name) = name {
                request["operationName"] = json!(name);
            }
            assert_eq!(check_body(&body(request)), Ok(()), "{query}");
        }
        assert_eq!(
            check_body(&body(
                json!({ "query": "{ a }", "variables": null, "operationName": null })
            )),
            Ok(())
        );
    }

    #[test]
    fn mutations_and_subscriptions_are_refused_wherever_they_are() {
        for (query, name, kind) in [
            ("mutation { deleteZone(id: 1) { id } }", None, "mutation"),
            ("subscription { events { id } }", None, "subscription"),
            ("query A { a } mutation B { b }", Some("A"), "mutation"),
            ("mutation B { b } query A { a }", Some("B"), "mutation"),
            (
                "query A { a } subscription S { s }",
                Some("A"),
                "subscription",
            ),
        ] {
            let mut request = json!({ "query": query });
            if let Some(name) = name {
                request["operationName"] = json!(name);
            }
            assert_eq!(
                check_body(&body(request)),
                Err(GraphqlRefusal::NotAQuery { kind }),
                "{query}"
            );
        }
    }

    #[test]
    fn documents_that_do_not_parse_or_hold_no_single_query_are_refused() {
        assert!(matches!(
            check_document("mutation {", None),
            Err(GraphqlRefusal::Unparsable(_))
        ));
        assert!(matches!(
            check_document("query { a ", None),
            Err(GraphqlRefusal::Unparsable(_))
        ));
        assert!(check_document("", None).is_err());
        assert_eq!(
            check_document("fragment F on T { a }", None),
            Err(GraphqlRefusal::NoOperation)
        );
        assert_eq!(
            check_document("type Query { a: Int }", None),
            Err(GraphqlRefusal::NotExecutable)
        );
        assert_eq!(
            check_document("query A { a } query B { b }", None),
            Err(GraphqlRefusal::AmbiguousOperation)
        );
        assert_eq!(
            check_document("query A { a }", Some("B")),
            Err(GraphqlRefusal::UnknownOperation("B".into()))
        );
        let deep = format!("{}{}", "{ a ".repeat(10_000), "}".repeat(10_000));
        assert!(matches!(
            check_document(&deep, None),
            Err(GraphqlRefusal::Unparsable(_))
        ));
    }

    #[test]
    fn documents_past_the_shared_bounds_are_refused_before_they_are_sent() {
        use graphql_bounds::Bound;
        let mut bomb = String::from("query { viewer { ...F19 } } fragment F0 on T { a }");
        for i in 1..20 {
            bomb.push_str(&format!(
                " fragment F{i} on T {{{} }}",
                format!(" ...F{}", i - 1).repeat(10)
            ));
        }
        let over = |bound: Bound, value: usize| {
            Err(GraphqlRefusal::OverBounds(Refusal::Exceeded {
                bound,
                value,
            }))
        };
        let limit = Bound::Selections.limit();
        assert_eq!(
            check_document(&bomb, None),
            over(Bound::Selections, limit + 1)
        );
        let depth = Bound::Depth.limit() + 1;
        let deep = format!(
            "{{ {}x{} }}",
            "a { ".repeat(depth - 1),
            " }".repeat(depth - 1)
        );
        assert_eq!(check_document(&deep, None), over(Bound::Depth, depth));
        let long = format!("{{ a }}{}", " ".repeat(Bound::Size.limit()));
        assert_eq!(check_document(&long, None), over(Bound::Size, long.len()));
        assert_eq!(
            check_document("{ ...F } fragment F on T { ...F }", None),
            Err(GraphqlRefusal::OverBounds(Refusal::FragmentCycle(
                "F".into()
            )))
        );
    }

    #[test]
    fn bodies_that_could_be_read_another_way_are_refused() {
        for raw in [
            // Not an object, a batch, the wrong types.
            "mutation { a }".to_string(),
            json!([{ "query": "{ a }" }]).to_string(),
            json!({ "query": 1 }).to_string(),
            json!({ "variables": {} }).to_string(),
            json!({ "query": "{ a }", "variables": [] }).to_string(),
            json!({ "query": "{ a }", "operationName": 3 }).to_string(),
            // A member the host does not read (persisted queries live there).
            json!({ "query": "{ a }", "extensions": { "persistedQuery": {} } }).to_string(),
            // The same member twice: servers differ on which one wins.
            r#"{"query":"mutation { a }","query":"{ a }"}"#.to_string(),
            r#"{"query":"{ a }"} trailing"#.to_string(),
        ] {
            assert!(
                matches!(
                    check_body(raw.as_bytes()),
                    Err(GraphqlRefusal::NotAGraphqlRequest(_))
                ),
                "{raw}"
            );
        }
        let padded = body(json!({ "query": format!("{{ a }}{}", " ".repeat(MAX_BODY_BYTES)) }));
        assert_eq!(
            check_body(&padded),
            Err(GraphqlRefusal::TooLarge {
                size: padded.len(),
                limit: MAX_BODY_BYTES
            })
        );
    }

    #[test]
    fn only_plain_json_content_is_read() {
        let headers = |pairs: &[(&str, &str)]| {
            let mut map = http::HeaderMap::new();
            for (name, value) in pairs {
                map.append(
                    http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                    http::HeaderValue::from_str(value).expect("value"),
                );
            }
            map
        };
        assert_eq!(
            check_headers(&headers(&[("content-type", "application/json")])),
            Ok(())
        );
        assert_eq!(
            check_headers(&headers(&[(
                "content-type",
                "Application/JSON; charset=utf-8"
            )])),
            Ok(())
        );
        for pairs in [
            &[][..],
            &[("content-type", "application/x-www-form-urlencoded")][..],
            &[("content-type", "application/graphql")][..],
            &[
                ("content-type", "application/json"),
                ("content-type", "text/plain"),
            ][..],
            &[
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ][..],
        ] {
            assert!(
                matches!(
                    check_headers(&headers(pairs)),
                    Err(GraphqlRefusal::NotJsonContent(_))
                ),
                "{pairs:?}"
            );
        }
    }
}
