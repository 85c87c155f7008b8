//! Every query the DNS reports can send, checked against Cloudflare's GraphQL schema.

use super::*;

fn every_filter() -> Vec<DimensionFilter> {
    let mut filters = Vec::new();
    for &d in Dimension::VARIANTS {
        let value = match d {
            Dimension::IpVersion => "6",
            Dimension::ResponseCached | Dimension::ResponseStale => "1",
            _ => "x",
        };
        for operator in [
            FilterOperator::Equals,
            FilterOperator::NotEquals,
            FilterOperator::InList,
            FilterOperator::NotInList,
        ] {
            let values = match operator {
                FilterOperator::Equals | FilterOperator::NotEquals => vec![value.into()],
                _ => vec![value.into(), value.into()],
            };
            filters.push(DimensionFilter {
                dimension: d,
                operator,
                values,
            });
        }
    }
    filters
}

#[test]
fn every_query_the_plugin_can_send_validates_against_the_schema() {
    let range = Range {
        since: NOW - 3600,
        until: NOW,
    };
    for account_level in [false, true] {
        let (tag, value) = if account_level {
            ("accountTag", ACCOUNT)
        } else {
            ("zoneTag", ZONE)
        };
        assert_valid(
            &settings::query(account_level, &[DATASET]),
            &json!({ tag: value }),
        );
        let dimensions: Vec<Dimension> = Dimension::VARIANTS
            .iter()
            .copied()
            .filter(|d| account_level || *d != Dimension::ZoneTag)
            .collect();
        let filters: Vec<DimensionFilter> = every_filter()
            .into_iter()
            .filter(|f| account_level || f.dimension != Dimension::ZoneTag)
            .collect();
        let mut shapes: Vec<Vec<&str>> = vec![vec![]];
        shapes.extend(dimensions.iter().map(|d| vec![field(*d)]));
        shapes.push(dimensions.iter().map(|d| field(*d)).collect());
        for b in [Bucket::FiveMinutes, Bucket::Hour, Bucket::Day] {
            shapes.push(vec![bucket_field(b)]);
            shapes.push(vec![field(Dimension::QueryType), bucket_field(b)]);
        }
        let mut orders: Vec<Sort> = Metric::VARIANTS
            .iter()
            .map(|m| Sort {
                key: SortKey::Metric(*m),
                order: SortOrder::Descending,
            })
            .collect();
        orders.extend(dimensions.iter().map(|d| Sort {
            key: SortKey::Dimension(*d),
            order: SortOrder::Ascending,
        }));
        for fields in &shapes {
            for metrics in [&Metric::VARIANTS[..1], Metric::VARIANTS] {
                for with_total in [false, true] {
                    let query = report_query(account_level, fields, metrics, with_total);
                    for sort in &orders {
                        let variables = json!({
                            tag: value,
                            "filter": graphql_filter(&range, &filters),
                            "limit": 101,
                            "orderBy": [order_by(sort)],
                        });
                        assert_valid(&query, &variables);
                    }
                }
            }
        }
        for b in [Bucket::FiveMinutes, Bucket::Hour, Bucket::Day] {
            let query = report_query(account_level, &[bucket_field(b)], Metric::VARIANTS, false);
            assert_valid(
                &query,
                &json!({ tag: value, "filter": graphql_filter(&range, &[]), "limit": 10,
                         "orderBy": [format!("{}_ASC", bucket_field(b))] }),
            );
        }
    }
}
