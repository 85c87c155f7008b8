//! Writes each tool result type's JSON Schema (from `tool-output`, derived by schemars here on
//! the build machine) as a constant the component includes: `tools::output_schemas`.

use std::fmt::Write as _;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let mut out = String::new();
    for (name, schema) in tool_output::schema::results() {
        let text = schema.to_string();
        writeln!(out, "pub const {name}: &str = {text:?};").expect("writing to a String");
    }
    let path = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("output_schemas.rs");
    std::fs::write(path, out).expect("OUT_DIR is writable");
}
