//! The DNS tools' results as JSON: rows are flat objects keyed by snake_case dimension and
//! metric names.

use crate::names::{self, name};

use crate::json::{self, ToJson, object, owned};
use crate::wit_dns::{
    DimensionValue, DnsRecord, Metric, MetricValue, PageInfo, RecordPage, Report, Timeseries, Zone,
    ZonePage,
};
use serde_json::{Map, Value};

fn key(name: &str) -> String {
    name.replace('-', "_")
}

fn page_json(p: &PageInfo) -> Value {
    object(&[
        ("page", &p.page),
        ("per_page", &p.per_page),
        ("count", &p.count),
        ("total_pages", &p.total_pages),
        ("total_count", &p.total_count),
        ("more", &(p.page < p.total_pages)),
    ])
}

pub fn zone_json(z: &Zone) -> Value {
    object(&[
        ("id", &z.id),
        ("name", &z.name),
        ("status", &z.status),
        ("plan", &z.plan),
        ("name_servers", &z.name_servers),
        ("paused", &z.paused),
        ("type", &z.zone_type),
    ])
}

pub fn zone_page_json(p: &ZonePage) -> Value {
    object(&[
        (
            "zones",
            &owned(p.zones.iter().map(zone_json).collect::<Value>()),
        ),
        ("page", &owned(page_json(&p.page_info))),
    ])
}

fn record_json(r: &DnsRecord) -> Value {
    object(&[
        ("id", &r.id),
        ("type", &r.record_type),
        ("name", &r.name),
        ("content", &r.content),
        ("proxied", &r.proxied),
        ("proxiable", &r.proxiable),
        ("ttl", &r.ttl),
        ("ttl_automatic", &(r.ttl == 1)),
    ])
}

pub fn record_page_json(p: &RecordPage) -> Value {
    let zone = object(&[
        ("id", &p.zone.id),
        ("name", &p.zone.name),
        ("plan", &p.zone.plan),
    ]);
    object(&[
        ("zone", &owned(zone)),
        (
            "records",
            &owned(p.records.iter().map(record_json).collect::<Value>()),
        ),
        ("page", &owned(page_json(&p.page_info))),
    ])
}

fn metric_number(m: &MetricValue) -> Value {
    if m.metric == Metric::QueryCount {
        Value::from(m.value as u64)
    } else {
        Value::from(m.value)
    }
}

fn flat(dimensions: &[DimensionValue], metrics: &[MetricValue]) -> Value {
    let mut row = Map::new();
    for d in dimensions {
        row.insert(key(name(d.dimension)), d.value.to_json());
    }
    for m in metrics {
        row.insert(key(name(m.metric)), metric_number(m));
    }
    Value::Object(row)
}

fn dropped_json(items: &[crate::wit_dns::DroppedItem]) -> Value {
    items
        .iter()
        .map(|d| object(&[("item", &d.item), ("reason", &d.reason)]))
        .collect()
}

pub fn report_json(r: &Report) -> Value {
    let rows = r.rows.iter().map(|row| flat(&row.dimensions, &row.metrics));
    object(&[
        ("scope", &owned(json::report_scope(&r.scope))),
        ("dimensions", &names::of(&r.dimensions)),
        ("metrics", &names::of(&r.metrics)),
        ("rows", &owned(rows.collect::<Value>())),
        ("totals", &owned(flat(&[], &r.totals))),
        ("truncated", &r.truncated),
        ("dropped", &owned(dropped_json(&r.dropped))),
        ("notes", &r.notes),
    ])
}

pub fn timeseries_json(t: &Timeseries) -> Value {
    let series = t.series.iter().map(|s| {
        let points = s.points.iter().map(|p| {
            let mut point = flat(&[], &p.metrics);
            point["time"] = p.time.to_json();
            point
        });
        object(&[
            ("key", &owned(flat(&s.key, &[]))),
            ("query_count", &s.query_count),
            ("points", &owned(points.collect::<Value>())),
        ])
    });
    object(&[
        ("scope", &owned(json::report_scope(&t.scope))),
        ("bucket", &name(t.bucket)),
        ("dimensions", &names::of(&t.dimensions)),
        ("metrics", &names::of(&t.metrics)),
        ("series", &owned(series.collect::<Value>())),
        ("totals", &owned(flat(&[], &t.totals))),
        ("truncated", &t.truncated),
        ("dropped", &owned(dropped_json(&t.dropped))),
        ("notes", &t.notes),
    ])
}
