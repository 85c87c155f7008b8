//! The calls the large-answer measurement makes, each answered with an inflated GraphQL answer.

use crate::report::Unit;
use crate::setup::call_error;
use anyhow::anyhow;
use cf_fake::ZONE_NAME;
use host_harness::{PluginInstance, dns};
use serde_json::{Value, json};

/// A call answered with an inflated GraphQL answer.
#[derive(Clone, Copy)]
pub(crate) enum Call {
    DnsReport,
    GraphqlQuery,
}

/// A custom query whose rows the fake inflates: the account's HTTP requests by country and
/// path.
const HTTP_BY_PATH: &str = "query Paths($accountTag: string!, $since: Time!, $until: Time!) { \
    viewer { accounts(filter: {accountTag: $accountTag}) { httpRequestsAdaptiveGroups( \
    limit: 1000, filter: {datetime_geq: $since, datetime_lt: $until}, orderBy: [count_DESC]) { \
    count sum { edgeResponseBytes } dimensions { clientCountryName clientRequestPath } } } } }";

impl Call {
    /// Runs the call; a short description of the result, or why it failed.
    pub(crate) async fn run(self, instance: &mut PluginInstance) -> anyhow::Result<String> {
        match self {
            Call::DnsReport => {
                let request = dns::ReportRequest {
                    zone: Some(ZONE_NAME.to_owned()),
                    dimensions: vec![dns::Dimension::QueryName, dns::Dimension::QueryType],
                    metrics: vec![],
                    filters: vec![],
                    range: dns::TimeRange {
                        since: Some("24h".to_owned()),
                        until: None,
                    },
                    sort: None,
                    limit: Some(10_000),
                    source: None,
                };
                let report = instance
                    .dns_report(&request)
                    .await
                    .map_err(call_error)?
                    .map_err(|e| anyhow!("{}", host_harness::front::render::error_text(&e)))?;
                Ok(format!(
                    "report of {} rows (truncated: {})",
                    report.rows.len(),
                    report.truncated
                ))
            }
            Call::GraphqlQuery => {
                let until = cf_fake::unix_now() / 3600 * 3600;
                let arguments = json!({
                    "query": HTTP_BY_PATH,
                    "variables": {
                        "since": cf_fake::rfc3339(until - 86_400),
                        "until": cf_fake::rfc3339(until),
                    },
                });
                let text = instance
                    .call_tool("graphql_query", &arguments.to_string())
                    .await
                    .map_err(call_error)?
                    .map_err(|e| anyhow!("{}", host_harness::front::render::error_text(&e)))?;
                let result: Value = serde_json::from_str(&text)?;
                let cuts = result["cuts"].as_array().map_or(0, Vec::len);
                Ok(format!(
                    "tool result {} ({cuts} cut{})",
                    Unit::Bytes.format(text.len() as f64),
                    if cuts == 1 { "" } else { "s" }
                ))
            }
        }
    }
}
