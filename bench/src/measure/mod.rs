//! The measurements: [`Bench`] collects their rows and notes; each file holds the methods for
//! what it measures.

mod large_answer;
mod serving;
mod startup;
mod throughput;
mod verify;

use crate::cli::Runs;
use crate::report::Row;
use std::path::PathBuf;

/// What every measurement needs, and the rows and notes they add.
pub(crate) struct Bench {
    pub(crate) plugin: PathBuf,
    pub(crate) cf_harness: PathBuf,
    pub(crate) runs: Runs,
    pub(crate) rows: Vec<Row>,
    pub(crate) notes: Vec<String>,
}

impl Bench {
    pub(crate) fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    fn note(&mut self, note: String) {
        self.notes.push(note);
    }
}
