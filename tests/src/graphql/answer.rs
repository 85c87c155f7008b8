//! The datasets' answers: arguments, the checks of each query against the dataset's limits,
//! then groups or raw rows over the synthetic events.

use apollo_compiler::executable::Field;
use serde_json::Value;

use super::datasets::{
    Dataset, Limits, PLAN_GATED_FIELD, human_duration, plan_allows_response_cached,
};
use super::exec::{Exec, GqlError, Outcome, Scope};
use crate::analytics::{
    Record, filter_matches, filter_mentions, group_by, order_field, raw_row, sort_groups,
    sort_records, time_bounds,
};
use crate::dns_events::{Aggregate, EVENT_FIELDS, events};
use crate::http_aggregates::{firewall_aggregate, http_adaptive_aggregate, http_rollup_aggregate};
use crate::http_events::{FIREWALL_FIELDS, HTTP_FIELDS, HourRollup, firewall_events, http_events};

/// The arguments of a dataset field.
pub(super) struct DatasetArgs {
    pub(super) filter: Value,
    pub(super) limit: u64,
    pub(super) order_by: Vec<String>,
}

impl Exec<'_> {
    pub(super) fn dataset(
        &self,
        scope: &Scope,
        dataset: Dataset,
        field: &Field,
        path: &[Value],
    ) -> Outcome<Value> {
        let zone_ids = scope.event_zone_ids();
        let now = self.now;
        match dataset {
            Dataset::DnsGroups => {
                self.groups(scope, dataset, field, path, events(now, &zone_ids), |e| {
                    Aggregate::of(e).to_json()
                })
            }
            Dataset::DnsRaw => self.raw(
                scope,
                dataset,
                field,
                path,
                events(now, &zone_ids),
                |e| e.group.count,
                EVENT_FIELDS,
            ),
            Dataset::HttpGroups => self.groups(
                scope,
                dataset,
                field,
                path,
                http_events(now, &zone_ids),
                http_adaptive_aggregate,
            ),
            Dataset::HttpRaw => self.raw(
                scope,
                dataset,
                field,
                path,
                http_events(now, &zone_ids),
                |e| e.group.count,
                HTTP_FIELDS,
            ),
            Dataset::Http1h => {
                let rollups = http_events(now, &zone_ids)
                    .into_iter()
                    .map(HourRollup)
                    .collect();
                self.groups(
                    scope,
                    dataset,
                    field,
                    path,
                    rollups,
                    |rows: &[HourRollup]| http_rollup_aggregate(rows.iter().map(|r| &r.0)),
                )
            }
            Dataset::Http1d => self.groups(
                scope,
                dataset,
                field,
                path,
                http_events(now, &zone_ids),
                |rows| http_rollup_aggregate(rows),
            ),
            Dataset::FirewallGroups => self.groups(
                scope,
                dataset,
                field,
                path,
                firewall_events(now, &zone_ids),
                firewall_aggregate,
            ),
            Dataset::FirewallRaw => self.raw(
                scope,
                dataset,
                field,
                path,
                firewall_events(now, &zone_ids),
                |e| e.group.count,
                FIREWALL_FIELDS,
            ),
        }
    }

    pub(super) fn dataset_args(
        &self,
        field: &Field,
        limits: &Limits,
        path: &[Value],
    ) -> Outcome<DatasetArgs> {
        let filter = self.arg(field, "filter");
        let limit = match self.arg(field, "limit") {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            GqlError::new(
                "limit must be positive number and not greater than 10000",
                path,
                "bad_request",
            )
        })?;
        if limit > limits.max_page_size {
            return Err(GqlError::new(
                format!(
                    "limit must be less than or equal to {}",
                    limits.max_page_size
                ),
                path,
                "bad_request",
            ));
        }
        let order_by = match self.arg(field, "orderBy") {
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Value::String(one) => vec![one],
            _ => Vec::new(),
        };
        Ok(DatasetArgs {
            filter,
            limit,
            order_by,
        })
    }

    /// The checks every dataset query goes through, in this order: number of fields, the plan
    /// (DNS `responseCached`), the time range (a lower bound is required; not older than
    /// `notOlderThan`; not wider than `maxDuration`).
    pub(super) fn check_query(
        &self,
        scope: &Scope,
        dataset: Dataset,
        args: &DatasetArgs,
        selected: &[String],
        field_count: usize,
        path: &[Value],
    ) -> Outcome<()> {
        let limits = dataset.limits(scope);
        if field_count > limits.max_number_of_fields {
            return Err(GqlError::new(
                format!(
                    "number of fields can't be more than {}",
                    limits.max_number_of_fields
                ),
                path,
                "bad_request",
            ));
        }
        let is_dns = matches!(dataset, Dataset::DnsGroups | Dataset::DnsRaw);
        let uses_gated = selected.iter().any(|f| f == PLAN_GATED_FIELD)
            || filter_mentions(&args.filter, PLAN_GATED_FIELD)
            || args
                .order_by
                .iter()
                .any(|o| order_field(o).0 == PLAN_GATED_FIELD);
        if is_dns
            && uses_gated
            && !plan_allows_response_cached(scope)
            && let Scope::Zone { id, plan_name, .. } = scope
        {
            return Err(GqlError::new(
                format!(
                    "zone '{id}' does not have access to the field {PLAN_GATED_FIELD} on its plan ({plan_name})"
                ),
                path,
                "authz",
            ));
        }
        let (lower, upper) = time_bounds(&args.filter, dataset.datetime_width())
            .map_err(|message| GqlError::new(message, path, "bad_request"))?;
        let too_wide = format!(
            "the time range is too wide: it must be at most {}s ({})",
            limits.max_duration,
            human_duration(limits.max_duration)
        );
        let Some(lower) = lower else {
            return Err(GqlError::new(
                format!("{too_wide}; filter on datetime or date to bound it"),
                path,
                "bad_request",
            ));
        };
        let upper = upper.unwrap_or(self.now);
        if lower < self.now - limits.not_older_than {
            return Err(GqlError::new(
                format!(
                    "cannot request data older than {}s ({})",
                    limits.not_older_than,
                    human_duration(limits.not_older_than)
                ),
                path,
                "bad_request",
            ));
        }
        if upper - lower > limits.max_duration {
            return Err(GqlError::new(too_wide, path, "bad_request"));
        }
        Ok(())
    }

    pub(super) fn matching<R: Record>(
        &self,
        records: Vec<R>,
        filter: &Value,
        path: &[Value],
    ) -> Outcome<Vec<R>> {
        let mut out = Vec::new();
        for record in records {
            if filter_matches(filter, &record)
                .map_err(|message| GqlError::new(message, path, "bad_request"))?
            {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// A `…Groups` dataset: filter the records, group them by the selected dimensions, aggregate
    /// each group, order, limit.
    pub(super) fn groups<R: Record>(
        &self,
        scope: &Scope,
        dataset: Dataset,
        field: &Field,
        path: &[Value],
        records: Vec<R>,
        aggregate: impl Fn(&[R]) -> Value,
    ) -> Outcome<Value> {
        let args = self.dataset_args(field, &dataset.limits(scope), path)?;
        let mut dimensions: Vec<String> = Vec::new();
        let mut field_count = 0;
        for selected in self.fields(&field.selection_set) {
            match selected.name.as_str() {
                "__typename" => {}
                "dimensions" => {
                    for dimension in self.fields(&selected.selection_set) {
                        if dimension.name != "__typename" {
                            field_count += 1;
                            if !dimensions.iter().any(|d| *d == dimension.name.as_str()) {
                                dimensions.push(dimension.name.to_string());
                            }
                        }
                    }
                }
                "avg" | "sum" | "uniq" | "quantiles" | "ratio" | "max" | "min" => {
                    field_count += self
                        .fields(&selected.selection_set)
                        .iter()
                        .filter(|f| f.name != "__typename")
                        .count();
                }
                _ => field_count += 1,
            }
        }
        self.check_query(scope, dataset, &args, &dimensions, field_count, path)?;

        let records = self.matching(records, &args.filter, path)?;
        let mut groups = group_by(records, &dimensions, aggregate);
        sort_groups(&mut groups, &args.order_by, &dimensions);
        groups.truncate(usize::try_from(args.limit).unwrap_or(usize::MAX));
        let rows: Vec<Value> = groups.iter().map(|g| g.to_json(&dimensions)).collect();
        Ok(self.project(&field.selection_set, &Value::Array(rows)))
    }

    /// A raw dataset: one row per event (a record of weight n is n identical rows), oldest first,
    /// then in table order, unless ordered otherwise.
    #[expect(
        clippy::too_many_arguments,
        reason = "the dataset's records, weights and fields are what varies"
    )]
    pub(super) fn raw<R: Record + Clone>(
        &self,
        scope: &Scope,
        dataset: Dataset,
        field: &Field,
        path: &[Value],
        records: Vec<R>,
        weight: impl Fn(&R) -> u64,
        fields: &[&str],
    ) -> Outcome<Value> {
        let args = self.dataset_args(field, &dataset.limits(scope), path)?;
        let selected: Vec<String> = self
            .fields(&field.selection_set)
            .iter()
            .filter(|f| f.name != "__typename")
            .map(|f| f.name.to_string())
            .collect();
        self.check_query(scope, dataset, &args, &selected, selected.len(), path)?;

        let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
        let mut rows: Vec<R> = Vec::new();
        for record in self.matching(records, &args.filter, path)? {
            for _ in 0..weight(&record) {
                rows.push(record.clone());
            }
        }
        sort_records(&mut rows, &args.order_by);
        rows.truncate(limit);
        let rows: Vec<Value> = rows.iter().map(|r| raw_row(r, fields)).collect();
        Ok(self.project(&field.selection_set, &Value::Array(rows)))
    }
}
