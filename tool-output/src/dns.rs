//! The DNS Analytics service's tools.

use crate::{Row, Scope, ZoneRef, output};

output! {
    /// `dns_get_zone`, and each zone of `dns_list_zones`.
    pub struct Zone<'a> {
        pub id: &'a str,
        pub name: &'a str,
        /// `active`, `pending`, `initializing` or `moved`.
        pub status: &'a str,
        pub plan: Option<&'a str>,
        pub name_servers: &'a [String],
        pub paused: bool,
        /// `full`, `partial` or `secondary`.
        #[serde(rename = "type")]
        pub zone_type: &'a str,
    }

    /// `dns_list_zones`: one page of the account's zones.
    pub struct ZonePage<'a> {
        pub zones: Vec<Zone<'a>>,
        pub page: PageInfo,
    }

    /// Where a page sits in the list.
    pub struct PageInfo {
        pub page: u32,
        pub per_page: u32,
        /// Items on this page.
        pub count: u32,
        pub total_pages: u32,
        pub total_count: u32,
        /// True when a later page exists.
        pub more: bool,
    }

    /// `dns_records`: one page of a zone's DNS records.
    pub struct RecordPage<'a> {
        pub zone: ZoneRef<'a>,
        pub records: Vec<DnsRecord<'a>>,
        pub page: PageInfo,
    }

    /// A DNS record.
    pub struct DnsRecord<'a> {
        pub id: &'a str,
        #[serde(rename = "type")]
        pub record_type: &'a str,
        pub name: &'a str,
        pub content: &'a str,
        pub proxied: Option<bool>,
        pub proxiable: Option<bool>,
        /// Seconds; 1 means automatic.
        pub ttl: u32,
        pub ttl_automatic: bool,
    }

    /// `dns_report`: DNS query analytics grouped by the dimensions asked for.
    pub struct Report<'a> {
        pub scope: Scope<'a>,
        /// The contract's names of the dimensions and metrics, in the order asked for.
        pub dimensions: Vec<&'static str>,
        pub metrics: Vec<&'static str>,
        pub rows: Vec<Row<'a>>,
        /// The metrics over every row, not only those returned.
        pub totals: Row<'a>,
        /// True when more rows exist than `limit`.
        pub truncated: bool,
        /// Dimensions, metrics or filters the dataset could not serve, and why.
        pub dropped: Vec<Dropped<'a>>,
        pub notes: &'a [String],
    }

    /// Something asked for that the report left out.
    pub struct Dropped<'a> {
        pub item: &'a str,
        pub reason: &'a str,
    }

    /// `dns_timeseries`: the metrics per time bucket, a series per combination of dimensions.
    pub struct Timeseries<'a> {
        pub scope: Scope<'a>,
        /// `five-minutes`, `hour` or `day`.
        pub bucket: &'static str,
        pub dimensions: Vec<&'static str>,
        pub metrics: Vec<&'static str>,
        pub series: Vec<Series<'a>>,
        pub totals: Row<'a>,
        pub truncated: bool,
        pub dropped: Vec<Dropped<'a>>,
        pub notes: &'a [String],
    }

    /// One combination of dimension values over time.
    pub struct Series<'a> {
        /// The dimension values that define the series.
        pub key: Row<'a>,
        pub query_count: u64,
        /// A row per bucket: `time` and the metrics.
        pub points: Vec<Row<'a>>,
    }
}
