//! The results: units, targets, one row per measurement, and the table they print as.

use serde_json::{Value, json};
use std::fmt::Write as _;
use std::time::Duration;

pub(crate) const KIB: f64 = 1024.0;
pub(crate) const MIB: f64 = 1024.0 * 1024.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    Bytes,
    Seconds,
    /// Sandboxed time over native time.
    Ratio,
    PerSecond,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Bytes => "bytes",
            Unit::Seconds => "seconds",
            Unit::Ratio => "ratio",
            Unit::PerSecond => "per_second",
        }
    }

    pub(crate) fn format(self, value: f64) -> String {
        match self {
            Unit::Bytes if value.abs() >= MIB => format!("{:.2} MiB", value / MIB),
            Unit::Bytes if value.abs() >= KIB => format!("{:.1} KiB", value / KIB),
            Unit::Bytes => format!("{value:.0} B"),
            Unit::Seconds if value.abs() >= 1.0 => format!("{value:.2} s"),
            Unit::Seconds if value.abs() >= 1e-3 => format!("{:.2} ms", value * 1e3),
            Unit::Seconds => format!("{:.1} µs", value * 1e6),
            Unit::Ratio => format!("{value:.2}x"),
            Unit::PerSecond => format!("{value:.1}/s"),
        }
    }
}

/// A target: the value must stay below (or at most reach) the limit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target {
    pub(crate) limit: f64,
    pub(crate) inclusive: bool,
    /// A stricter wish, reported but not required.
    pub(crate) aim: Option<f64>,
}

pub(crate) const fn below(limit: f64) -> Option<Target> {
    Some(Target {
        limit,
        inclusive: false,
        aim: None,
    })
}

pub(crate) const fn at_most(limit: f64) -> Option<Target> {
    Some(Target {
        limit,
        inclusive: true,
        aim: None,
    })
}

pub(crate) struct Row {
    name: String,
    unit: Unit,
    /// `Err` when the measurement could not be made (the reason is shown instead).
    median: Result<f64, String>,
    runs: usize,
    target: Option<Target>,
    /// Said after the verdict.
    pub(crate) remark: Option<String>,
}

impl Row {
    pub(crate) fn new(
        name: &str,
        unit: Unit,
        median: f64,
        runs: usize,
        target: Option<Target>,
    ) -> Self {
        Row {
            name: name.to_owned(),
            unit,
            median: Ok(median),
            runs,
            target,
            remark: None,
        }
    }

    pub(crate) fn failed(
        name: &str,
        unit: Unit,
        error: &anyhow::Error,
        target: Option<Target>,
    ) -> Self {
        Row {
            name: name.to_owned(),
            unit,
            median: Err(one_line(&format!("{error:#}"))),
            runs: 0,
            target,
            remark: None,
        }
    }

    fn met(&self) -> Option<bool> {
        let target = self.target?;
        let value = *self.median.as_ref().ok()?;
        Some(if target.inclusive {
            value <= target.limit
        } else {
            value < target.limit
        })
    }

    fn target_text(&self) -> String {
        let Some(target) = self.target else {
            return String::new();
        };
        let op = if target.inclusive { "<=" } else { "<" };
        let mut text = format!("{op} {}", self.unit.format(target.limit));
        if let Some(aim) = target.aim {
            let _ = write!(text, " (aim < {})", self.unit.format(aim));
        }
        text
    }

    fn verdict(&self) -> String {
        let verdict = self.bare_verdict();
        match &self.remark {
            Some(remark) if verdict.is_empty() => remark.clone(),
            Some(remark) => format!("{verdict} {remark}"),
            None => verdict,
        }
    }

    fn bare_verdict(&self) -> String {
        match (&self.median, self.target) {
            (Err(reason), _) => format!("FAILED: {reason}"),
            (Ok(_), None) => String::new(),
            (Ok(value), Some(target)) => {
                if self.met() == Some(true) {
                    match target.aim {
                        Some(aim) if *value >= aim => {
                            format!("ok (aim missed by {})", self.unit.format(value - aim))
                        }
                        _ => "ok".to_owned(),
                    }
                } else {
                    format!("MISSED by {}", self.unit.format(value - target.limit))
                }
            }
        }
    }

    pub(crate) fn json(&self) -> Value {
        json!({
            "name": self.name,
            "unit": self.unit.name(),
            "median": self.median.as_ref().ok(),
            "display": self.median.as_ref().map(|v| self.unit.format(*v)).ok(),
            "error": self.median.as_ref().err(),
            "runs": self.runs,
            "target": self.target.map(|t| json!({
                "limit": t.limit,
                "inclusive": t.inclusive,
                "aim": t.aim,
                "display": self.target_text(),
            })),
            "met": self.met(),
            "verdict": self.verdict(),
        })
    }
}

fn one_line(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 160 {
        format!("{}…", text.chars().take(160).collect::<String>())
    } else {
        text
    }
}

pub(crate) fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

pub(crate) fn median_seconds(durations: &[Duration]) -> f64 {
    median(
        &mut durations
            .iter()
            .map(Duration::as_secs_f64)
            .collect::<Vec<_>>(),
    )
}

pub(crate) fn table(rows: &[Row]) -> String {
    let header = ["measurement", "median", "runs", "target", "verdict"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|row| {
            [
                row.name.clone(),
                row.median
                    .as_ref()
                    .map_or_else(|_| "-".to_owned(), |v| row.unit.format(*v)),
                if row.runs == 0 {
                    "-".to_owned()
                } else {
                    row.runs.to_string()
                },
                row.target_text(),
                row.verdict(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for line in &cells {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; 5]| {
        let mut text = String::new();
        for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
            // Numbers right-aligned, words left-aligned; the last column unpadded.
            match index {
                1 | 2 => {
                    let _ = write!(text, "{cell:>width$}  ");
                }
                4 => text.push_str(cell),
                _ => {
                    let _ = write!(text, "{cell:<width$}  ");
                }
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header);
    let rule = widths.map(|w| "-".repeat(w));
    line([&rule[0], &rule[1], &rule[2], &rule[3], &rule[4]]);
    for cells in &cells {
        line([&cells[0], &cells[1], &cells[2], &cells[3], &cells[4]]);
    }
    out
}
