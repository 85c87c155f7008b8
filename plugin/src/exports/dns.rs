//! The `dns-analytics` exports.

use crate::Component;
use crate::cloudflare::dns_report::{self, DnsCache};
use crate::cloudflare::zones;
use crate::exports::service;
use crate::http::WasiTransport;
use crate::input::{self, Text};
use crate::time;
use crate::wit_dns::{
    Bucket, Guest, RecordPage, RecordQuery, Report, ReportRequest, Timeseries, Zone, ZonePage,
    ZoneQuery,
};
use crate::wit_types::{Error, Service};
use std::sync::{LazyLock, Mutex};

/// Zones and dataset limits this instance has looked up, for the connected account.
static CACHE: LazyLock<Mutex<(String, DnsCache)>> = LazyLock::new(Mutex::default);

fn with_service<T>(
    run: impl FnOnce(&WasiTransport, &mut DnsCache, &str) -> Result<T, Error>,
) -> Result<T, Error> {
    service::with_state(Service::DnsAnalytics, &CACHE, run)
}

/// A report request's strings within their lengths.
fn report_within(request: &ReportRequest) -> Result<(), Error> {
    input::within_opt("zone", &request.zone, Text::Name)?;
    input::range_within(&request.range)?;
    request
        .filters
        .iter()
        .flat_map(|filter| &filter.values)
        .try_for_each(|value| input::within("filters", value, Text::Name))
}

impl Guest for Component {
    fn list_zones(query: ZoneQuery) -> Result<ZonePage, Error> {
        with_service(|t, cache, account| {
            input::within_opt("name", &query.name, Text::Name)?;
            zones::list_zones(t, &mut cache.zones, account, &query)
        })
    }

    fn get_zone(zone: String) -> Result<Zone, Error> {
        with_service(|t, cache, account| {
            input::within("zone", &zone, Text::Name)?;
            zones::get_zone(t, &mut cache.zones, account, &zone)
        })
    }

    fn dns_records(query: RecordQuery) -> Result<RecordPage, Error> {
        with_service(|t, cache, account| {
            input::within("zone", &query.zone, Text::Name)?;
            input::within_opt("record-type", &query.record_type, Text::Identifier)?;
            input::within_opt("name", &query.name, Text::Name)?;
            zones::dns_records(t, &mut cache.zones, account, &query)
        })
    }

    fn dns_report(request: ReportRequest) -> Result<Report, Error> {
        with_service(|t, cache, account| {
            report_within(&request)?;
            dns_report::report(t, cache, account, &request, time::now_unix())
        })
    }

    fn dns_timeseries(request: ReportRequest, bucket: Option<Bucket>) -> Result<Timeseries, Error> {
        with_service(|t, cache, account| {
            report_within(&request)?;
            dns_report::timeseries(t, cache, account, &request, bucket, time::now_unix())
        })
    }
}
