//! The contract's names of the WIT enums' cases and the list of each enum's cases, from the
//! derives the bindings add (see `bindings` in lib.rs): one definition, the WIT file.

pub use strum::VariantArray;

/// A case's name in tool arguments, results and messages: its WIT name, for example
/// `query-name` for `Dimension::QueryName`.
pub fn name<T: Into<&'static str>>(case: T) -> &'static str {
    case.into()
}

/// The names of these cases.
pub fn of<T: Copy + Into<&'static str>>(cases: &[T]) -> Vec<&'static str> {
    cases.iter().map(|case| (*case).into()).collect()
}

/// Every case's name, in the WIT file's order.
pub fn all<T: VariantArray + Copy + Into<&'static str>>() -> Vec<&'static str> {
    of(T::VARIANTS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::args::pick;
    use crate::wit_connector::CheckStatus;
    use crate::wit_dns::{Bucket, Dimension, FilterOperator, Metric};
    use crate::wit_types::{Error, Service};

    #[test]
    fn the_names_are_the_contracts() {
        assert_eq!(name(Dimension::QueryName), "query-name");
        assert_eq!(name(Metric::ProcessingTimeP50), "processing-time-p50");
        assert_eq!(name(CheckStatus::RateLimited), "rate-limited");
        assert_eq!(name(Service::GraphqlAnalytics), "graphql-analytics");
        // The two the bindings rename: shorter in tool arguments than in the WIT file.
        assert_eq!(
            all::<FilterOperator>(),
            ["equals", "not-equals", "in", "not-in"]
        );
        assert_eq!(all::<Bucket>(), ["five-minutes", "hour", "day"]);
        assert_eq!(
            crate::error::kind(&Error::ServiceDisabled(Service::Documentation)),
            "service-disabled"
        );
        assert_eq!(
            crate::error::kind(&Error::Internal(String::new())),
            "internal"
        );
    }

    #[test]
    fn a_case_is_picked_by_its_name_leniently_or_refused_with_the_names() {
        assert_eq!(pick("by", "queryName"), Ok(Dimension::QueryName));
        assert_eq!(pick("op", "NOT_IN"), Ok(FilterOperator::NotInList));
        match pick::<Bucket>("bucket", "week") {
            Err(Error::InvalidInput(problem)) => {
                assert_eq!(problem.field, "bucket");
                assert!(
                    problem
                        .message
                        .ends_with("allowed: five-minutes, hour, day")
                );
            }
            other => panic!("expected invalid-input, got {other:?}"),
        }
    }
}
