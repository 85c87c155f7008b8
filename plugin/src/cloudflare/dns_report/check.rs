//! Checking a report request before anything is sent: dimensions, metrics, filters (their
//! values written the way the schema wants), range, sort and limit.

use super::{Checked, MAX_FILTER_VALUES, legacy::legacy_filter, legacy_field};
use crate::error::invalid;
use crate::names::{VariantArray, name};
use crate::time;
use crate::wit_dns::{
    Dimension, DimensionFilter, FilterOperator, Metric, ReportRequest, ReportSource, Sort, SortKey,
    SortOrder,
};
use crate::wit_types::Error;

pub(super) fn check_request(
    request: &ReportRequest,
    now: i64,
    default_limit: u32,
    max_limit: u32,
) -> Result<Checked, Error> {
    let account_level = request.zone.as_deref().is_none_or(|z| z.trim().is_empty());
    let source = request.source.unwrap_or(ReportSource::Graphql);
    let mut dimensions = Vec::new();
    for &d in &request.dimensions {
        if d == Dimension::ZoneTag && !account_level {
            return Err(invalid(
                "dimensions",
                "zone-tag groups an account-level report by zone; leave out `zone` to use it",
            ));
        }
        if !dimensions.contains(&d) {
            dimensions.push(d);
        }
    }
    let mut metrics = Vec::new();
    for &m in &request.metrics {
        if !metrics.contains(&m) {
            metrics.push(m);
        }
    }
    if metrics.is_empty() {
        metrics.push(Metric::QueryCount);
    }
    let mut filters = Vec::new();
    for f in &request.filters {
        filters.push(check_filter(f, account_level)?);
    }
    let range = time::resolve_range(
        request.range.since.as_deref(),
        request.range.until.as_deref(),
        now,
    )
    .map_err(|p| invalid(p.field, p.message))?;
    let sort = request.sort.unwrap_or(Sort {
        key: SortKey::Metric(Metric::QueryCount),
        order: SortOrder::Descending,
    });
    if let SortKey::Dimension(d) = sort.key
        && !dimensions.contains(&d)
    {
        return Err(invalid(
            "sort",
            format!(
                "sort by {} needs it among the dimensions, or sort by a metric",
                name(d)
            ),
        ));
    }
    let limit = request.limit.unwrap_or(default_limit);
    if !(1..=max_limit).contains(&limit) {
        return Err(invalid(
            "limit",
            format!("must be between 1 and {max_limit}"),
        ));
    }
    if source == ReportSource::LegacyRest {
        if account_level {
            return Err(invalid(
                "source",
                "the legacy REST report is per zone: give a zone, or use the graphql source",
            ));
        }
        let unsupported: Vec<&str> = dimensions
            .iter()
            .chain(filters.iter().map(|f| &f.dimension))
            .filter(|d| legacy_field(**d).is_none())
            .map(|d| name(*d))
            .collect();
        if !unsupported.is_empty() {
            return Err(invalid(
                "dimensions",
                format!(
                    "the legacy REST report has no {}; it has {}",
                    unsupported.join(", "),
                    Dimension::VARIANTS
                        .iter()
                        .filter(|d| legacy_field(**d).is_some())
                        .map(|d| name(*d))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        for f in &filters {
            legacy_filter(f, filters.len() == 1)?;
        }
    }
    Ok(Checked {
        dimensions,
        metrics,
        filters,
        range,
        sort,
        limit,
        source,
    })
}

/// Checks a filter's values and writes numeric dimensions' values the way the schema wants.
pub(super) fn check_filter(
    f: &DimensionFilter,
    account_level: bool,
) -> Result<DimensionFilter, Error> {
    let name = name(f.dimension);
    if f.dimension == Dimension::ZoneTag && !account_level {
        return Err(invalid(
            "filters",
            "a zone-tag filter only applies to an account-level report",
        ));
    }
    let single = matches!(
        f.operator,
        FilterOperator::Equals | FilterOperator::NotEquals
    );
    if f.values.is_empty() || (single && f.values.len() != 1) {
        return Err(invalid(
            "filters",
            format!(
                "the filter on {name} needs {}",
                if single {
                    "exactly one value"
                } else {
                    "at least one value"
                }
            ),
        ));
    }
    if f.values.len() > MAX_FILTER_VALUES {
        return Err(invalid(
            "filters",
            format!("at most {MAX_FILTER_VALUES} values per filter"),
        ));
    }
    let mut values = Vec::new();
    for raw in &f.values {
        let value = raw.trim();
        let normalized = match f.dimension {
            Dimension::ResponseCached | Dimension::ResponseStale => {
                match value.to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "cached" | "stale" => "1".to_string(),
                    "0" | "false" | "no" | "uncached" => "0".to_string(),
                    _ => {
                        return Err(invalid(
                            "filters",
                            format!(
                                "{name} is 1 (yes) or 0 (no), not {}",
                                crate::input::quote(value)
                            ),
                        ));
                    }
                }
            }
            Dimension::IpVersion => match value {
                "4" | "ipv4" | "IPv4" => "4".to_string(),
                "6" | "ipv6" | "IPv6" => "6".to_string(),
                _ => {
                    return Err(invalid(
                        "filters",
                        format!("ip-version is 4 or 6, not {}", crate::input::quote(value)),
                    ));
                }
            },
            Dimension::Protocol => match value.to_ascii_uppercase().as_str() {
                p @ ("UDP" | "TCP") => p.to_string(),
                _ => {
                    return Err(invalid(
                        "filters",
                        format!("protocol is UDP or TCP, not {}", crate::input::quote(value)),
                    ));
                }
            },
            // Cloudflare stores these upper-case (NXDOMAIN, AAAA).
            Dimension::ResponseCode | Dimension::QueryType => value.to_ascii_uppercase(),
            // Cloudflare counts names as DNS carries them: internationalized ones in ASCII.
            Dimension::QueryName => crate::punycode::to_ascii(value.trim_end_matches('.'))
                .ok_or_else(|| {
                    invalid(
                        "filters",
                        format!("{} is not a valid name", crate::input::quote(value)),
                    )
                })?,
            _ => value.to_string(),
        };
        if normalized.is_empty() {
            return Err(invalid(
                "filters",
                format!("the filter on {name} has an empty value"),
            ));
        }
        values.push(normalized);
    }
    Ok(DimensionFilter {
        dimension: f.dimension,
        operator: f.operator,
        values,
    })
}
