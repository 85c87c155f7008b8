//! The `graphql-analytics` exports.

use crate::cloudflare::graphql_analytics::{self as analytics, AnalyticsCache};
use crate::cloudflare::schema_index::{self, SchemaIndex};
use crate::error::invalid;
use crate::exports::service;
use crate::http::WasiTransport;
use crate::input::{self, Text};
use crate::time;
use crate::wit_analytics::{
    FirewallReport, FirewallRequest, Guest, HitKind, Limits, QueryRequest, QueryResult, SchemaHit,
    SchemaSearchResult, TopReport, TopRequest, TrafficRequest, TrafficSummary, TypeDescription,
    TypeField,
};
use crate::wit_types::Error;
use crate::wit_types::Service;
use crate::{Component, cloudflare};
use std::sync::{LazyLock, Mutex};

/// What this instance keeps for the service: zones, limits, and the schema once fetched.
#[derive(Default)]
struct State {
    cache: AnalyticsCache,
    schema: Option<SchemaIndex>,
}

static STATE: LazyLock<Mutex<(String, State)>> = LazyLock::new(Mutex::default);

fn with_service<T>(
    run: impl FnOnce(&WasiTransport, &mut State, &str) -> Result<T, Error>,
) -> Result<T, Error> {
    service::with_state(Service::GraphqlAnalytics, &STATE, run)
}

/// The schema index, fetched by introspection on first use and kept.
fn schema<'a>(
    transport: &WasiTransport,
    state: &'a mut State,
) -> Result<(&'a SchemaIndex, bool), Error> {
    let from_cache = state.schema.is_some();
    if state.schema.is_none() {
        state.schema = Some(cloudflare::graphql_analytics::fetch_schema(transport)?);
    }
    match &state.schema {
        Some(index) => Ok((index, from_cache)),
        None => Err(Error::Internal("schema index missing after fetch".into())),
    }
}

impl Guest for Component {
    fn query(request: QueryRequest) -> Result<QueryResult, Error> {
        with_service(|t, s, account| {
            input::within("query", &request.query, Text::Query)?;
            input::within_opt("variables", &request.variables, Text::Variables)?;
            input::within_opt("operation-name", &request.operation_name, Text::Identifier)?;
            input::within_opt("zone", &request.zone, Text::Name)?;
            analytics::query(t, &mut s.cache, account, &request, time::now_unix())
        })
    }

    fn dataset_limits(dataset: String, zone: Option<String>) -> Result<Limits, Error> {
        with_service(|t, s, account| {
            input::within("dataset", &dataset, Text::Identifier)?;
            input::within_opt("zone", &zone, Text::Name)?;
            analytics::dataset_limits(t, &mut s.cache, account, &dataset, zone.as_deref())
        })
    }

    fn schema_search(words: String, limit: Option<u32>) -> Result<SchemaSearchResult, Error> {
        if words.trim().is_empty() {
            return Err(invalid(
                "words",
                "give a word, for example country, cache or firewall",
            ));
        }
        input::within("words", &words, Text::Words)?;
        let limit = limit.unwrap_or(20);
        if !(1..=200).contains(&limit) {
            return Err(invalid("limit", "must be between 1 and 200"));
        }
        with_service(|t, s, _| {
            let (index, from_cache) = schema(t, s)?;
            Ok(SchemaSearchResult {
                hits: index
                    .search(&words, limit as usize)
                    .into_iter()
                    .map(hit)
                    .collect(),
                types_indexed: index.type_count() as u32,
                from_cache,
            })
        })
    }

    fn describe_type(name: String) -> Result<TypeDescription, Error> {
        input::within("name", &name, Text::Identifier)?;
        with_service(|t, s, _| {
            let (index, from_cache) = schema(t, s)?;
            let Some(found) = index.describe(name.trim()) else {
                let close = index.suggest(name.trim(), 5);
                return Err(invalid(
                    "name",
                    format!(
                        "no type {} in the schema{}",
                        input::quote(&name),
                        if close.is_empty() {
                            String::new()
                        } else {
                            format!("; close names: {}", close.join(", "))
                        }
                    ),
                ));
            };
            Ok(describe(found, from_cache))
        })
    }

    fn http_traffic(request: TrafficRequest) -> Result<TrafficSummary, Error> {
        with_service(|t, s, account| {
            input::within_opt("zone", &request.zone, Text::Name)?;
            input::range_within(&request.range)?;
            analytics::http_traffic(t, &mut s.cache, account, &request, time::now_unix())
        })
    }

    fn top_http(request: TopRequest) -> Result<TopReport, Error> {
        with_service(|t, s, account| {
            input::within_opt("zone", &request.zone, Text::Name)?;
            input::range_within(&request.range)?;
            input::within_opt("host", &request.host, Text::Name)?;
            analytics::top_http(t, &mut s.cache, account, &request, time::now_unix())
        })
    }

    fn firewall_events(request: FirewallRequest) -> Result<FirewallReport, Error> {
        with_service(|t, s, account| {
            input::within_opt("zone", &request.zone, Text::Name)?;
            input::range_within(&request.range)?;
            input::within_opt("action", &request.action, Text::Identifier)?;
            analytics::firewall_events(t, &mut s.cache, account, &request, time::now_unix())
        })
    }
}

fn hit(h: schema_index::SchemaHit) -> SchemaHit {
    SchemaHit {
        kind: match h.kind {
            schema_index::HitKind::Dataset => HitKind::Dataset,
            schema_index::HitKind::Field => HitKind::Field,
            schema_index::HitKind::Argument => HitKind::Argument,
            schema_index::HitKind::FilterKey => HitKind::FilterKey,
            schema_index::HitKind::EnumValue => HitKind::EnumValue,
            schema_index::HitKind::Type => HitKind::Type,
        },
        owner: h.owner,
        name: h.name,
        type_ref: h.type_ref,
        description: h.description,
        levels: h
            .scopes
            .into_iter()
            .map(|s| match s {
                schema_index::Scope::Zone => crate::wit_analytics::Level::Zone,
                schema_index::Scope::Account => crate::wit_analytics::Level::Account,
            })
            .collect(),
        also_in: h.also_in.into_iter().take(5).collect(),
        variants: h.variants,
    }
}

fn describe(t: schema_index::TypeDescription, from_cache: bool) -> TypeDescription {
    let value = |v: schema_index::ValueDescription| TypeField {
        name: v.name,
        type_ref: v.type_ref,
        description: v.description,
        arguments: Vec::new(),
    };
    TypeDescription {
        name: t.name,
        kind: t.kind.as_str().to_string(),
        description: t.description,
        fields: t
            .fields
            .into_iter()
            .map(|f| TypeField {
                name: f.name,
                type_ref: f.type_ref,
                description: f.description,
                arguments: f
                    .args
                    .into_iter()
                    .map(|a| format!("{}: {}", a.name, a.type_ref))
                    .collect(),
            })
            .collect(),
        input_fields: t.input_fields.into_iter().map(value).collect(),
        enum_values: t.enum_values.into_iter().map(|v| v.name).collect(),
        from_cache,
    }
}
