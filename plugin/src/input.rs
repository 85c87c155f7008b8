//! How long each string a caller gives may be, and how a message quotes one. One definition of
//! each limit: the typed exports check it, and the tool schemas carry it as `maxLength` (their
//! `"$name_chars"`-style placeholders are filled from here), so what an agent reads is what holds.

use crate::error::invalid;
use crate::wit_types::{Error, TimeRange};

/// The kinds of string the exports take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Text {
    /// A DNS name (zone and record names, hosts, filter values) or a zone's 32-character ID:
    /// RFC 1035 allows 253 characters.
    Name,
    /// A short name: a record type, an action, a dataset, a GraphQL type or operation name, a
    /// docs product, a section heading, an account ID.
    Identifier,
    /// Words to search for.
    Words,
    /// A docs page's URL or path.
    Url,
    /// One end of a time range.
    Time,
    /// A GraphQL document: the size bound every query is held to.
    Query,
    /// A GraphQL query's variables, as JSON text: the host refuses a GraphQL request body past
    /// 1 MiB in any case.
    Variables,
    /// `call-tool`'s arguments, as JSON text: room for a query and its variables.
    Arguments,
}

impl Text {
    pub const ALL: [Text; 8] = [
        Text::Name,
        Text::Identifier,
        Text::Words,
        Text::Url,
        Text::Time,
        Text::Query,
        Text::Variables,
        Text::Arguments,
    ];

    /// The longest value allowed, in characters.
    pub const fn max_chars(self) -> usize {
        match self {
            Text::Name => 253,
            Text::Identifier => 200,
            Text::Words => 500,
            Text::Url => 2048,
            Text::Time => 64,
            Text::Query => graphql_bounds::Bound::Size.limit(),
            Text::Variables => 1024 * 1024,
            Text::Arguments => 2 * 1024 * 1024,
        }
    }

    /// Its placeholder in a tool schema's text, filled with [`Text::max_chars`].
    pub const fn placeholder(self) -> &'static str {
        match self {
            Text::Name => "$name_chars",
            Text::Identifier => "$identifier_chars",
            Text::Words => "$words_chars",
            Text::Url => "$url_chars",
            Text::Time => "$time_chars",
            Text::Query => "$query_chars",
            Text::Variables => "$variables_chars",
            Text::Arguments => "$arguments_chars",
        }
    }
}

/// Refuses a value longer than its kind allows, before anything is sent or searched.
pub fn within(field: &str, value: &str, text: Text) -> Result<(), Error> {
    let max = text.max_chars();
    // Bytes bound characters from above: most values never need counting.
    if value.len() <= max {
        return Ok(());
    }
    let chars = value.chars().count();
    if chars <= max {
        return Ok(());
    }
    Err(invalid(
        field,
        format!("must have at most {max} characters, not {chars}"),
    ))
}

/// [`within`] for an optional value.
pub fn within_opt(field: &str, value: &Option<String>, text: Text) -> Result<(), Error> {
    value
        .as_deref()
        .map_or(Ok(()), |value| within(field, value, text))
}

/// [`within`] for both ends of a time range.
pub fn range_within(range: &TimeRange) -> Result<(), Error> {
    within_opt("since", &range.since, Text::Time)?;
    within_opt("until", &range.until, Text::Time)
}

/// How many characters of a caller's string a message quotes.
pub const QUOTE_CHARS: usize = 64;

/// A caller's string as a message quotes it: in quotes, escaped, and cut to [`QUOTE_CHARS`]
/// characters with the number left out, so no message grows with its input.
pub fn quote(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(QUOTE_CHARS).collect();
    match chars.count() {
        0 => format!("{head:?}"),
        rest => format!("{head:?}… ({rest} more characters)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_is_bounded_whatever_it_quotes() {
        assert_eq!(quote("example.com"), "\"example.com\"");
        assert_eq!(quote("a\"b\n"), "\"a\\\"b\\n\"");
        let long = "é".repeat(70_000);
        let quoted = quote(&long);
        assert!(quoted.chars().count() < QUOTE_CHARS + 40, "{quoted}");
        assert!(quoted.ends_with(&format!("({} more characters)", 70_000 - QUOTE_CHARS)));
    }

    #[test]
    fn lengths_are_counted_in_characters() {
        let max = Text::Name.max_chars();
        assert_eq!(within("zone", &"é".repeat(max), Text::Name), Ok(()));
        assert!(matches!(
            within("zone", &"a".repeat(max + 1), Text::Name),
            Err(Error::InvalidInput(p)) if p.field == "zone"
        ));
    }

    #[test]
    fn placeholders_are_distinct() {
        for a in Text::ALL {
            for b in Text::ALL {
                assert_eq!(a == b, a.placeholder() == b.placeholder());
            }
        }
    }
}
