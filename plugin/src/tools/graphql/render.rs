//! The GraphQL Analytics tools' results.

use crate::json::{graphql_problem, report_scope, zone_ref};
use crate::names::name;
use crate::wit_analytics::{
    FirewallReport, Limits, QueryResult, SchemaSearchResult, StatusClasses, TopReport,
    TrafficSummary, TypeDescription, TypeField,
};
use tool_output::{self as out, Cell, Row};

pub fn query(r: &QueryResult) -> out::QueryResult<'_> {
    out::QueryResult {
        // The text Cloudflare sent goes out as it is: no tree of a large answer is built.
        data: serde_json::from_str(&r.data).ok(),
        problems: r.problems.iter().map(graphql_problem).collect(),
        filled: &r.filled,
        datasets: &r.datasets,
        cuts: r
            .cuts
            .iter()
            .map(|c| out::Cut {
                path: &c.path,
                rows_returned: c.rows_returned,
                rows_received: c.rows_received,
                advice: &c.advice,
            })
            .collect(),
        notes: &r.notes,
    }
}

pub fn limits(l: &Limits) -> out::Limits<'_> {
    out::Limits {
        dataset: &l.dataset,
        level: name(l.level),
        zone: l.zone.as_ref().map(zone_ref),
        enabled: l.enabled,
        max_duration_seconds: l.max_duration_seconds,
        not_older_than_seconds: l.not_older_than_seconds,
        max_page_size: l.max_page_size,
        max_number_of_fields: l.max_number_of_fields,
        available_fields: &l.available_fields,
    }
}

pub fn search(r: &SchemaSearchResult) -> out::SchemaSearch<'_> {
    let hits = r.hits.iter().map(|h| out::SchemaHit {
        kind: name(h.kind),
        owner: &h.owner,
        name: &h.name,
        type_ref: &h.type_ref,
        description: h.description.as_deref(),
        levels: h.levels.iter().map(|l| name(*l)).collect(),
        also_in: &h.also_in,
        variants: &h.variants,
    });
    out::SchemaSearch {
        hits: hits.collect(),
        types_indexed: r.types_indexed,
        from_cache: r.from_cache,
    }
}

fn fields(list: &[TypeField]) -> Vec<out::TypeField<'_>> {
    list.iter()
        .map(|f| out::TypeField {
            name: &f.name,
            type_ref: &f.type_ref,
            description: f.description.as_deref(),
            arguments: &f.arguments,
        })
        .collect()
}

pub fn type_description(t: &TypeDescription) -> out::TypeDescription<'_> {
    out::TypeDescription {
        name: &t.name,
        kind: &t.kind,
        description: t.description.as_deref(),
        fields: fields(&t.fields),
        input_fields: fields(&t.input_fields),
        enum_values: &t.enum_values,
        from_cache: t.from_cache,
    }
}

fn statuses(s: &StatusClasses) -> out::StatusClasses {
    out::StatusClasses {
        informational: s.informational,
        success: s.success,
        redirection: s.redirection,
        client_error: s.client_error,
        server_error: s.server_error,
    }
}

pub fn traffic(t: &TrafficSummary) -> out::TrafficSummary<'_> {
    let points = t.points.iter().map(|p| out::TrafficPoint {
        time: &p.time,
        requests: p.requests,
        bytes: p.bytes,
        cached_requests: p.cached_requests,
        cached_bytes: p.cached_bytes,
        statuses: statuses(&p.statuses),
    });
    out::TrafficSummary {
        scope: report_scope(&t.scope),
        requests: t.requests,
        bytes: t.bytes,
        cached_requests: t.cached_requests,
        cached_bytes: t.cached_bytes,
        cached_share: t.cached_share,
        statuses: statuses(&t.statuses),
        points: points.collect(),
        notes: &t.notes,
    }
}

pub fn top(t: &TopReport) -> out::TopReport<'_> {
    let rows = t.rows.iter().map(|r| out::TopRow {
        value: &r.value,
        requests: r.requests,
        bytes: r.bytes,
        share: r.share,
    });
    out::TopReport {
        scope: report_scope(&t.scope),
        by: name(t.by),
        rows: rows.collect(),
        total_requests: t.total_requests,
        truncated: t.truncated,
        notes: &t.notes,
    }
}

pub fn firewall(f: &FirewallReport) -> out::FirewallReport<'_> {
    let by: Vec<&'static str> = f.by.iter().map(|d| name(*d)).collect();
    let rows = f.rows.iter().map(|r| {
        let mut row = Row::new();
        for (dimension, value) in by.iter().zip(&r.values) {
            row.push(*dimension, Cell::Text(value));
        }
        row.push("events", Cell::Count(r.events));
        row
    });
    out::FirewallReport {
        scope: report_scope(&f.scope),
        rows: rows.collect(),
        by,
        total_events: f.total_events,
        truncated: f.truncated,
        notes: &f.notes,
    }
}
