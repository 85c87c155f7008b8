//! The machine the bench ran on, as the report's header says it.

use std::path::Path;
use std::process::Command;

pub(crate) struct Machine {
    pub(crate) cpu: String,
    pub(crate) cores: usize,
    pub(crate) rustc: String,
    pub(crate) wasmtime: String,
}

impl Machine {
    pub(crate) fn detect(root: &Path) -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let rustc = Command::new("rustc")
            .arg("--version")
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        // The version the workspace locked (the three wasmtime crates move together).
        let wasmtime = std::fs::read_to_string(root.join("Cargo.lock"))
            .ok()
            .and_then(|lock| {
                let mut lines = lock.lines();
                lines.find(|l| *l == "name = \"wasmtime\"")?;
                let version = lines.next()?.strip_prefix("version = \"")?;
                Some(version.trim_end_matches('"').to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        Machine {
            cpu,
            cores,
            rustc,
            wasmtime,
        }
    }
}
