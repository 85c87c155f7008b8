//! The typed calls of a plugin instance, one per export of the `connector-plugin` world, each
//! through the one guarded call.

use crate::sandbox::bindings::{
    ConnectOptions, ConnectionInfo, PluginError, Service, ToolSpec, VerifyReport, dns, docs,
    graphql,
};
use crate::sandbox::call::json_argument;
use crate::sandbox::error::CallError;
use crate::sandbox::instance::PluginInstance;
use serde_json::{Value, json};

/// A plugin call's answer: the call itself may fail ([`CallError`]), or the plugin may answer
/// with its own error.
pub type Answer<T> = Result<Result<T, PluginError>, CallError>;

impl PluginInstance {
    /// `connect` of the `connector` interface.
    pub async fn connect(&mut self, options: &ConnectOptions) -> Answer<ConnectionInfo> {
        if let Some(refused) = self.services_refused(&options.enabled_services) {
            return Ok(Err(refused));
        }
        self.guarded(
            "connect",
            || json!({ "account_id": options.account_id, "enabled_services": json_argument(&options.enabled_services) }),
            |_| 0,
            async |store, b| {
                b.cloudflare_connector_connector()
                    .call_connect(store, options)
                    .await
            },
        )
        .await
    }

    /// `verify` of the `connector` interface.
    pub async fn verify(&mut self) -> Answer<VerifyReport> {
        self.guarded(
            "verify",
            || json!({}),
            |_| 0,
            async |store, b| b.cloudflare_connector_connector().call_verify(store).await,
        )
        .await
    }

    /// `list-products` of the `documentation` interface.
    pub async fn list_products(&mut self) -> Answer<docs::ProductList> {
        self.guarded(
            "list-products",
            || json!({}),
            |_| 0,
            async |store, b| {
                b.cloudflare_connector_documentation()
                    .call_list_products(store)
                    .await
            },
        )
        .await
    }

    /// `search-docs` of the `documentation` interface.
    pub async fn search_docs(
        &mut self,
        query: &str,
        product: Option<&str>,
        limit: Option<u32>,
    ) -> Answer<docs::SearchResult> {
        self.guarded(
            "search-docs",
            || json!({ "query": query, "product": product, "limit": limit }),
            |_| 0,
            async |store, b| {
                b.cloudflare_connector_documentation()
                    .call_search_docs(store, query, product, limit)
                    .await
            },
        )
        .await
    }

    /// `read-doc` of the `documentation` interface.
    pub async fn read_doc(
        &mut self,
        url_or_path: &str,
        section: Option<&str>,
        max_bytes: Option<u32>,
    ) -> Answer<docs::DocPage> {
        self.guarded(
            "read-doc",
            || json!({ "url_or_path": url_or_path, "section": section, "max_bytes": max_bytes }),
            |_| 0,
            async |store, b| {
                b.cloudflare_connector_documentation()
                    .call_read_doc(store, url_or_path, section, max_bytes)
                    .await
            },
        )
        .await
    }

    /// `list-zones` of the `dns-analytics` interface.
    pub async fn list_zones(&mut self, query: &dns::ZoneQuery) -> Answer<dns::ZonePage> {
        self.guarded(
            "list-zones",
            || json_argument(query),
            |_| 0,
            async |store, b| {
                b.cloudflare_connector_dns_analytics()
                    .call_list_zones(store, query)
                    .await
            },
        )
        .await
    }

    /// `get-zone` of the `dns-analytics` interface.
    pub async fn get_zone(&mut self, zone: &str) -> Answer<dns::Zone> {
        self.guarded(
            "get-zone",
            || json!({ "zone": zone }),
            |_| 0,
            async |store, b| {
                b.cloudflare_connector_dns_analytics()
                    .call_get_zone(store, zone)
                    .await
            },
        )
        .await
    }

    /// `dns-records` of the `dns-analytics` interface.
    pub async fn dns_records(&mut self, query: &dns::RecordQuery) -> Answer<dns::RecordPage> {
        self.guarded(
            "dns-records",
            || json_argument(query),
            |_| 0,
            async |store, b| {
                b.cloudflare_connector_dns_analytics()
                    .call_dns_records(store, query)
                    .await
            },
        )
        .await
    }

    /// `dns-report` of the `dns-analytics` interface.
    pub async fn dns_report(&mut self, request: &dns::ReportRequest) -> Answer<dns::Report> {
        self.guarded(
            "dns-report",
            || json_argument(request),
            |_| 0,
            async |store, b| {
                b.cloudflare_connector_dns_analytics()
                    .call_dns_report(store, request)
                    .await
            },
        )
        .await
    }

    /// `dns-timeseries` of the `dns-analytics` interface.
    pub async fn dns_timeseries(
        &mut self,
        request: &dns::ReportRequest,
        bucket: Option<dns::Bucket>,
    ) -> Answer<dns::Timeseries> {
        self.guarded(
            "dns-timeseries",
            || json!({ "request": json_argument(request), "bucket": json_argument(&bucket) }),
            |_| 0,
            async |store, b| {
                b.cloudflare_connector_dns_analytics()
                    .call_dns_timeseries(store, request, bucket)
                    .await
            },
        )
        .await
    }

    /// `query` of the `graphql-analytics` interface.
    pub async fn graphql_query(
        &mut self,
        request: &graphql::QueryRequest,
    ) -> Answer<graphql::QueryResult> {
        self.guarded(
            "query",
            || json_argument(request),
            |_| 0,
            async |store, b| {
                b.cloudflare_connector_graphql_analytics()
                    .call_query(store, request)
                    .await
            },
        )
        .await
    }

    /// `dataset-limits` of the `graphql-analytics` interface.
    pub async fn dataset_limits(
        &mut self,
        dataset: &str,
        zone: Option<&str>,
    ) -> Answer<graphql::Limits> {
        self.guarded(
            "dataset-limits",
            || json!({ "dataset": dataset, "zone": zone }),
            |_| 0,
            async |store, b| {
                b.cloudflare_connector_graphql_analytics()
                    .call_dataset_limits(store, dataset, zone)
                    .await
            },
        )
        .await
    }

    /// `schema-search` of the `graphql-analytics` interface.
    pub async fn schema_search(
        &mut self,
        words: &str,
        limit: Option<u32>,
    ) -> Answer<graphql::SchemaSearchResult> {
        self.guarded(
            "schema-search",
            || json!({ "words": words, "limit": limit }),
            |_| 0,
            async |store, b| {
                b.cloudflare_connector_graphql_analytics()
                    .call_schema_search(store, words, limit)
                    .await
            },
        )
        .await
    }

    /// `describe-type` of the `graphql-analytics` interface.
    pub async fn describe_type(&mut self, name: &str) -> Answer<graphql::TypeDescription> {
        self.guarded(
            "describe-type",
            || json!({ "name": name }),
            |_| 0,
            async |store, b| {
                b.cloudflare_connector_graphql_analytics()
                    .call_describe_type(store, name)
                    .await
            },
        )
        .await
    }

    /// `http-traffic` of the `graphql-analytics` interface.
    pub async fn http_traffic(
        &mut self,
        request: &graphql::TrafficRequest,
    ) -> Answer<graphql::TrafficSummary> {
        self.guarded(
            "http-traffic",
            || json_argument(request),
            |_| 0,
            async |store, b| {
                b.cloudflare_connector_graphql_analytics()
                    .call_http_traffic(store, request)
                    .await
            },
        )
        .await
    }

    /// `top-http` of the `graphql-analytics` interface.
    pub async fn top_http(&mut self, request: &graphql::TopRequest) -> Answer<graphql::TopReport> {
        self.guarded(
            "top-http",
            || json_argument(request),
            |_| 0,
            async |store, b| {
                b.cloudflare_connector_graphql_analytics()
                    .call_top_http(store, request)
                    .await
            },
        )
        .await
    }

    /// `firewall-events` of the `graphql-analytics` interface.
    pub async fn firewall_events(
        &mut self,
        request: &graphql::FirewallRequest,
    ) -> Answer<graphql::FirewallReport> {
        self.guarded(
            "firewall-events",
            || json_argument(request),
            |_| 0,
            async |store, b| {
                b.cloudflare_connector_graphql_analytics()
                    .call_firewall_events(store, request)
                    .await
            },
        )
        .await
    }

    /// `list-tools` of the `tools` interface.
    pub async fn list_tools(&mut self) -> Result<Vec<ToolSpec>, CallError> {
        self.guarded(
            "list-tools",
            || json!({}),
            |_| 0,
            async |store, b| b.cloudflare_connector_tools().call_list_tools(store).await,
        )
        .await
    }

    /// `call-tool` of the `tools` interface: its result is held to `Limits::max_result_bytes`.
    pub async fn call_tool(&mut self, name: &str, arguments_json: &str) -> Answer<String> {
        if name == "connect" {
            let asked: Vec<Service> = serde_json::from_str::<Value>(arguments_json)
                .ok()
                .and_then(|args| args.get("enabled_services").cloned())
                .and_then(|list| list.as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|name| name.as_str().and_then(crate::sandbox::parse_service))
                .collect();
            if let Some(refused) = self.services_refused(&asked) {
                return Ok(Err(refused));
            }
        }
        let arguments = || {
            let parsed = serde_json::from_str::<Value>(arguments_json);
            json!({ "name": name, "arguments": parsed.unwrap_or_else(|_| json!("[not JSON]")) })
        };
        self.guarded(
            "call-tool",
            arguments,
            |result: &Result<String, PluginError>| match result {
                Ok(text) => text.len(),
                Err(error) => super::error::plugin_error_bytes(error),
            },
            async |store, b| {
                b.cloudflare_connector_tools()
                    .call_call_tool(store, name, arguments_json)
                    .await
            },
        )
        .await
    }

    /// `denied-by-host` when the host's policy does not allow one of these services; the
    /// plugin does not run.
    fn services_refused(&self, services: &[Service]) -> Option<PluginError> {
        let rule = self.allowed_services.as_ref()?;
        rule.refusal(services).map(PluginError::DeniedByHost)
    }
}
