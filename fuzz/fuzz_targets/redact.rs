#![no_main]

// The host's token redaction, built from its own file.
#[path = "../../host-harness/src/credentials/redact.rs"]
#[allow(dead_code)]
mod redact;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| redact::fuzz_entry(data));
