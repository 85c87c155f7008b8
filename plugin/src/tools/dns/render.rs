//! The DNS tools' results: rows are flat objects keyed by snake_case dimension and metric
//! names.

use crate::json::{report_scope, zone_ref};
use crate::names::{self, name};
use crate::wit_dns::{
    DimensionValue, DnsRecord, DroppedItem, Metric, MetricValue, PageInfo, RecordPage, Report,
    Timeseries, Zone, ZonePage,
};
use tool_output::{self as out, Cell, Row};

fn key(name: &str) -> String {
    name.replace('-', "_")
}

fn page(p: &PageInfo) -> out::PageInfo {
    out::PageInfo {
        page: p.page,
        per_page: p.per_page,
        count: p.count,
        total_pages: p.total_pages,
        total_count: p.total_count,
        more: p.page < p.total_pages,
    }
}

pub fn zone(z: &Zone) -> out::Zone<'_> {
    out::Zone {
        id: &z.id,
        name: &z.name,
        status: &z.status,
        plan: z.plan.as_deref(),
        name_servers: &z.name_servers,
        paused: z.paused,
        zone_type: &z.zone_type,
    }
}

pub fn zone_page(p: &ZonePage) -> out::ZonePage<'_> {
    out::ZonePage {
        zones: p.zones.iter().map(zone).collect(),
        page: page(&p.page_info),
    }
}

fn record(r: &DnsRecord) -> out::DnsRecord<'_> {
    out::DnsRecord {
        id: &r.id,
        record_type: &r.record_type,
        name: &r.name,
        content: &r.content,
        proxied: r.proxied,
        proxiable: r.proxiable,
        ttl: r.ttl,
        ttl_automatic: r.ttl == 1,
    }
}

pub fn record_page(p: &RecordPage) -> out::RecordPage<'_> {
    out::RecordPage {
        zone: zone_ref(&p.zone),
        records: p.records.iter().map(record).collect(),
        page: page(&p.page_info),
    }
}

fn metric_cell(m: &MetricValue) -> Cell<'static> {
    if m.metric == Metric::QueryCount {
        Cell::Count(m.value as u64)
    } else {
        Cell::Number(m.value)
    }
}

fn flat<'a>(dimensions: &'a [DimensionValue], metrics: &[MetricValue]) -> Row<'a> {
    let mut row = Row::new();
    for d in dimensions {
        row.push(key(name(d.dimension)), Cell::Text(&d.value));
    }
    for m in metrics {
        row.push(key(name(m.metric)), metric_cell(m));
    }
    row
}

fn dropped(items: &[DroppedItem]) -> Vec<out::Dropped<'_>> {
    items
        .iter()
        .map(|d| out::Dropped {
            item: &d.item,
            reason: &d.reason,
        })
        .collect()
}

pub fn report(r: &Report) -> out::Report<'_> {
    out::Report {
        scope: report_scope(&r.scope),
        dimensions: names::of(&r.dimensions),
        metrics: names::of(&r.metrics),
        rows: r
            .rows
            .iter()
            .map(|row| flat(&row.dimensions, &row.metrics))
            .collect(),
        totals: flat(&[], &r.totals),
        truncated: r.truncated,
        dropped: dropped(&r.dropped),
        notes: &r.notes,
    }
}

pub fn timeseries(t: &Timeseries) -> out::Timeseries<'_> {
    let series = t.series.iter().map(|s| out::Series {
        key: flat(&s.key, &[]),
        query_count: s.query_count,
        points: s
            .points
            .iter()
            .map(|p| {
                let mut point = flat(&[], &p.metrics);
                point.push("time", Cell::Text(&p.time));
                point
            })
            .collect(),
    });
    out::Timeseries {
        scope: report_scope(&t.scope),
        bucket: name(t.bucket),
        dimensions: names::of(&t.dimensions),
        metrics: names::of(&t.metrics),
        series: series.collect(),
        totals: flat(&[], &t.totals),
        truncated: t.truncated,
        dropped: dropped(&t.dropped),
        notes: &t.notes,
    }
}
