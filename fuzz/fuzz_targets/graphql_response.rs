#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cloudflare_connector::fuzzing::graphql_response(data));
