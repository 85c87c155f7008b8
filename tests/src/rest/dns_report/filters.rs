//! The legacy report's `filters` parameter: `;` / ` AND ` inside `,` / ` OR `, each term
//! `dimension op value`.

use std::cmp::Ordering;

use super::{DIMENSIONS, dimension_value};
use crate::dns_events::Event;

/// One `dimension op value` condition.
pub(super) struct Condition {
    pub(super) dimension: String,
    pub(super) op: &'static str,
    pub(super) value: String,
    /// The expression as Cloudflare reads it: a regular expression, whole for `==` / `!=`.
    pub(super) pattern: Option<regex::Regex>,
}

impl Condition {
    pub(super) fn matches(&self, event: &Event) -> bool {
        let actual = dimension_value(event, &self.dimension);
        let value = self.value.as_str();
        let ordering = || match (actual.parse::<f64>(), value.parse::<f64>()) {
            (Ok(a), Ok(b)) => a.total_cmp(&b),
            _ => actual.as_str().cmp(value),
        };
        match self.op {
            "==" | "=@" | "!=" | "!@" => {
                let found = self.pattern.as_ref().is_some_and(|p| p.is_match(&actual));
                found == self.op.starts_with('=')
            }
            ">=" => ordering() != Ordering::Less,
            "<=" => ordering() != Ordering::Greater,
            ">" => ordering() == Ordering::Greater,
            "<" => ordering() == Ordering::Less,
            _ => false,
        }
    }
}

/// `a==1;b!=2,c==3`: OR of ANDs.
pub(super) fn parse_filters(raw: &str) -> Result<Vec<Vec<Condition>>, String> {
    let mut any = Vec::new();
    for alternative in raw.split(',').flat_map(|part| part.split(" OR ")) {
        let mut all = Vec::new();
        for term in alternative.split(';').flat_map(|part| part.split(" AND ")) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            let op = ["==", "!=", ">=", "<=", "=@", "!@", ">", "<"]
                .into_iter()
                .filter_map(|op| term.find(op).map(|at| (at, op)))
                .min_by_key(|(at, op)| (*at, std::cmp::Reverse(op.len())));
            let Some((at, op)) = op else {
                return Err(format!("Invalid filter: {term}"));
            };
            let dimension = term[..at].trim();
            if !DIMENSIONS.contains(&dimension) {
                return Err(format!("Unknown dimension in filters: {dimension}"));
            }
            let value = term[at + op.len()..].trim().to_owned();
            let pattern = match op {
                "==" | "!=" => Some(format!("^(?:{value})$")),
                "=@" | "!@" => Some(value.clone()),
                _ => None,
            }
            .map(|p| regex::Regex::new(&p).map_err(|e| format!("Invalid filter expression: {e}")))
            .transpose()?;
            all.push(Condition {
                dimension: dimension.to_owned(),
                op,
                value,
                pattern,
            });
        }
        if !all.is_empty() {
            any.push(all);
        }
    }
    Ok(any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_syntax() {
        let any = parse_filters("responseCode==NXDOMAIN;queryType==A,coloName!=AMS AND tcp==1")
            .expect("valid filters");
        assert_eq!(any.len(), 2);
        assert_eq!(any[0].len(), 2);
        assert_eq!(any[1][0].op, "!=");
        assert_eq!(any[1][1].dimension, "tcp");
        assert!(parse_filters("bogus==1").is_err());
        assert!(parse_filters("queryName").is_err());
    }
}
