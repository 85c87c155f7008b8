//! Search and describe over the whole schema, introspected by apollo-compiler.

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
    let exact =
        position(&hits, HitKind::Field, "cacheStatus").unwrap_or_else(|| panic!("{}", show(&hits)));
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
