//! The GraphQL Analytics tools' results as JSON.
use crate::json::{self as common_json, ToJson, object, owned};
use crate::names::name;
use crate::wit_analytics::{
    FirewallReport, Limits, QueryResult, SchemaSearchResult, StatusClasses, TopReport,
    TrafficSummary, TypeDescription, TypeField,
};
use serde_json::{Map, Value};

pub fn query_json(r: &QueryResult) -> Value {
    let cuts = r.cuts.iter().map(|c| {
        object(&[
            ("path", &c.path),
            ("rows_returned", &c.rows_returned),
            ("rows_received", &c.rows_received),
            ("advice", &c.advice),
        ])
    });
    let problems = r.problems.iter().map(common_json::graphql_problem);
    object(&[
        (
            "data",
            &owned(serde_json::from_str::<Value>(&r.data).unwrap_or(Value::Null)),
        ),
        ("problems", &owned(problems.collect::<Value>())),
        ("filled", &r.filled),
        ("datasets", &r.datasets),
        ("cuts", &owned(cuts.collect::<Value>())),
        ("notes", &r.notes),
    ])
}

pub fn limits_json(l: &Limits) -> Value {
    let zone = l
        .zone
        .as_ref()
        .map(|z| object(&[("id", &z.id), ("name", &z.name), ("plan", &z.plan)]));
    object(&[
        ("dataset", &l.dataset),
        ("level", &name(l.level)),
        ("zone", &owned(zone)),
        ("enabled", &l.enabled),
        ("max_duration_seconds", &l.max_duration_seconds),
        ("not_older_than_seconds", &l.not_older_than_seconds),
        ("max_page_size", &l.max_page_size),
        ("max_number_of_fields", &l.max_number_of_fields),
        ("available_fields", &l.available_fields),
    ])
}

pub fn search_json(r: &SchemaSearchResult) -> Value {
    let hits = r.hits.iter().map(|h| {
        let levels: Vec<&str> = h.levels.iter().map(|l| name(*l)).collect();
        object(&[
            ("kind", &name(h.kind)),
            ("owner", &h.owner),
            ("name", &h.name),
            ("type", &h.type_ref),
            ("description", &h.description),
            ("levels", &levels),
            ("also_in", &h.also_in),
            ("variants", &h.variants),
        ])
    });
    object(&[
        ("hits", &owned(hits.collect::<Value>())),
        ("types_indexed", &r.types_indexed),
        ("from_cache", &r.from_cache),
    ])
}

pub fn type_json(t: &TypeDescription) -> Value {
    let fields = |list: &[TypeField]| {
        list.iter()
            .map(|f| {
                object(&[
                    ("name", &f.name),
                    ("type", &f.type_ref),
                    ("description", &f.description),
                    ("arguments", &f.arguments),
                ])
            })
            .collect::<Value>()
    };
    object(&[
        ("name", &t.name),
        ("kind", &t.kind),
        ("description", &t.description),
        ("fields", &owned(fields(&t.fields))),
        ("input_fields", &owned(fields(&t.input_fields))),
        ("enum_values", &t.enum_values),
        ("from_cache", &t.from_cache),
    ])
}

fn statuses_json(s: &StatusClasses) -> Value {
    object(&[
        ("1xx", &s.informational),
        ("2xx", &s.success),
        ("3xx", &s.redirection),
        ("4xx", &s.client_error),
        ("5xx", &s.server_error),
    ])
}

pub fn traffic_json(t: &TrafficSummary) -> Value {
    let points = t.points.iter().map(|p| {
        object(&[
            ("time", &p.time),
            ("requests", &p.requests),
            ("bytes", &p.bytes),
            ("cached_requests", &p.cached_requests),
            ("cached_bytes", &p.cached_bytes),
            ("statuses", &owned(statuses_json(&p.statuses))),
        ])
    });
    object(&[
        ("scope", &owned(common_json::report_scope(&t.scope))),
        ("requests", &t.requests),
        ("bytes", &t.bytes),
        ("cached_requests", &t.cached_requests),
        ("cached_bytes", &t.cached_bytes),
        ("cached_share", &t.cached_share),
        ("statuses", &owned(statuses_json(&t.statuses))),
        ("points", &owned(points.collect::<Value>())),
        ("notes", &t.notes),
    ])
}

pub fn top_json(t: &TopReport) -> Value {
    let rows = t.rows.iter().map(|r| {
        object(&[
            ("value", &r.value),
            ("requests", &r.requests),
            ("bytes", &r.bytes),
            ("share", &r.share),
        ])
    });
    object(&[
        ("scope", &owned(common_json::report_scope(&t.scope))),
        ("by", &name(t.by)),
        ("rows", &owned(rows.collect::<Value>())),
        ("total_requests", &t.total_requests),
        ("truncated", &t.truncated),
        ("notes", &t.notes),
    ])
}

pub fn firewall_json(f: &FirewallReport) -> Value {
    let names: Vec<&str> = f.by.iter().map(|d| name(*d)).collect();
    let rows = f.rows.iter().map(|r| {
        let mut row: Map<String, Value> = names
            .iter()
            .zip(&r.values)
            .map(|(n, v)| (n.to_string(), v.to_json()))
            .collect();
        row.insert("events".into(), r.events.to_json());
        Value::Object(row)
    });
    object(&[
        ("scope", &owned(common_json::report_scope(&f.scope))),
        ("by", &names),
        ("rows", &owned(rows.collect::<Value>())),
        ("total_events", &f.total_events),
        ("truncated", &f.truncated),
        ("notes", &f.notes),
    ])
}
