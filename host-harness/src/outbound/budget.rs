//! A token's outbound budget, shared by every session that uses the token (`cf-harness serve`):
//! the rates Cloudflare publishes for one user, 1,200 API requests per 5 minutes and, on top of
//! them, 300 GraphQL queries per 5 minutes. The host holds them itself, so a tenant hears
//! `rate-limited` with the wait before Cloudflare has to answer 429 (and before one tenant's agent
//! burns the quota the tenant's other tools share).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window both limits are counted over.
pub const PERIOD: Duration = Duration::from_secs(5 * 60);
/// API requests (GraphQL queries included) per [`PERIOD`].
pub const API_REQUESTS: usize = 1_200;
/// GraphQL queries per [`PERIOD`].
pub const GRAPHQL_QUERIES: usize = 300;

/// Which of the token's limits a request counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spend {
    /// A REST request: the API limit.
    Api,
    /// A GraphQL query: the API limit and the GraphQL one.
    Graphql,
}

/// Which limit refused a request, and when the next one would pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverBudget {
    pub limit: usize,
    pub graphql: bool,
    pub retry_after: Duration,
}

/// One token's two sliding windows.
#[derive(Debug)]
pub struct TokenBudget {
    windows: Mutex<(Window, Window)>,
}

#[derive(Debug)]
struct Window {
    limit: usize,
    /// When each request in the window was sent, oldest first.
    sent: VecDeque<Instant>,
}

impl Window {
    fn new(limit: usize) -> Self {
        Window {
            limit,
            sent: VecDeque::new(),
        }
    }

    /// Forgets what left the window by `now`; the wait until there is room, if there is none.
    fn wait(&mut self, now: Instant, period: Duration) -> Option<Duration> {
        while self
            .sent
            .front()
            .is_some_and(|at| now.duration_since(*at) >= period)
        {
            self.sent.pop_front();
        }
        if self.sent.len() < self.limit {
            return None;
        }
        let oldest = self.sent.front().copied().unwrap_or(now);
        Some(period.saturating_sub(now.duration_since(oldest)))
    }
}

impl Default for TokenBudget {
    fn default() -> Self {
        Self::with_limits(API_REQUESTS, GRAPHQL_QUERIES)
    }
}

impl TokenBudget {
    /// A budget with other limits (tests use small ones).
    pub fn with_limits(api: usize, graphql: usize) -> Self {
        TokenBudget {
            windows: Mutex::new((Window::new(api), Window::new(graphql))),
        }
    }

    /// Spends one request of `kind` at `now`, or says which limit it would pass and for how
    /// long (nothing is spent then).
    pub fn spend(&self, kind: Spend, now: Instant) -> Result<(), OverBudget> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let (api, graphql) = &mut *windows;
        if let Some(wait) = api.wait(now, PERIOD) {
            return Err(OverBudget {
                limit: api.limit,
                graphql: false,
                retry_after: wait,
            });
        }
        if kind == Spend::Graphql {
            if let Some(wait) = graphql.wait(now, PERIOD) {
                return Err(OverBudget {
                    limit: graphql.limit,
                    graphql: true,
                    retry_after: wait,
                });
            }
            graphql.sent.push_back(now);
        }
        api.sent.push_back(now);
        Ok(())
    }

    /// Whether nothing is counted any more (the budget can be forgotten).
    pub fn is_idle(&self, now: Instant) -> bool {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let (api, graphql) = &mut *windows;
        api.wait(now, PERIOD);
        graphql.wait(now, PERIOD);
        api.sent.is_empty() && graphql.sent.is_empty()
    }
}

impl OverBudget {
    /// The seconds a client should wait, rounded up.
    pub fn retry_after_seconds(&self) -> u64 {
        let d = self.retry_after;
        d.as_secs() + u64::from(d.subsec_nanos() > 0)
    }

    /// What the host answers for Cloudflare, as Cloudflare's envelope would carry it.
    pub fn message(&self) -> String {
        let what = if self.graphql {
            "GraphQL queries"
        } else {
            "API requests"
        };
        format!(
            "this token's budget on this server is {} {what} per 5 minutes (Cloudflare's \
             published limit); retry after {} s",
            self.limit,
            self.retry_after_seconds()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_refuses_past_its_limit_and_says_when_room_returns() {
        let budget = TokenBudget::with_limits(3, 2);
        let start = Instant::now();
        for i in 0..3 {
            assert_eq!(
                budget.spend(Spend::Api, start + Duration::from_secs(i)),
                Ok(())
            );
        }
        let refused = budget
            .spend(Spend::Api, start + Duration::from_secs(10))
            .expect_err("over the API limit");
        assert_eq!(refused.limit, 3);
        assert!(!refused.graphql);
        assert_eq!(refused.retry_after, PERIOD - Duration::from_secs(10));
        // Once the first request leaves the window, one more passes.
        assert_eq!(budget.spend(Spend::Api, start + PERIOD), Ok(()));
    }

    #[test]
    fn a_graphql_query_counts_against_both_limits() {
        let budget = TokenBudget::with_limits(10, 2);
        let now = Instant::now();
        assert_eq!(budget.spend(Spend::Graphql, now), Ok(()));
        assert_eq!(budget.spend(Spend::Graphql, now), Ok(()));
        let refused = budget
            .spend(Spend::Graphql, now)
            .expect_err("over the GraphQL limit");
        assert!(refused.graphql);
        assert_eq!(refused.limit, 2);
        // REST requests still pass: 2 of 10 are spent.
        for _ in 0..8 {
            assert_eq!(budget.spend(Spend::Api, now), Ok(()));
        }
        assert!(budget.spend(Spend::Api, now).is_err());
        assert!(!budget.is_idle(now));
        assert!(budget.is_idle(now + PERIOD));
    }

    #[test]
    fn the_wait_is_rounded_up_and_the_message_names_the_limit() {
        let over = OverBudget {
            limit: GRAPHQL_QUERIES,
            graphql: true,
            retry_after: Duration::from_millis(1500),
        };
        assert_eq!(over.retry_after_seconds(), 2);
        let message = over.message();
        assert!(
            message.contains("300 GraphQL queries per 5 minutes"),
            "{message}"
        );
    }
}
