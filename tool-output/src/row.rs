//! A flat row keyed by the names the caller chose (dimensions, metrics, `time`): its keys are
//! known only at run time, so it is an object of scalars.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Text(&'a str),
    Count(u64),
    Number(f64),
}

impl Serialize for Cell<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Text(text) => serializer.serialize_str(text),
            Cell::Count(count) => serializer.serialize_u64(*count),
            Cell::Number(number) => serializer.serialize_f64(*number),
        }
    }
}

/// Keys (snake_case) and values, in the order they were asked for.
#[derive(Debug, Default)]
pub struct Row<'a>(pub Vec<(String, Cell<'a>)>);

impl Row<'_> {
    pub fn new() -> Self {
        Self(Vec::new())
    }
}

impl<'a> Row<'a> {
    pub fn push(&mut self, key: impl Into<String>, cell: Cell<'a>) {
        self.0.push((key.into(), cell));
    }
}

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, cell) in &self.0 {
            map.serialize_entry(key, cell)?;
        }
        map.end()
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Row<'_> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Row".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "Keyed by the snake_case names of the dimensions and metrics asked for \
                (and `time` in a point): text for a dimension, a number for a metric.",
            "additionalProperties": { "type": ["string", "number"] }
        })
    }
}
