//! Writes what the component carries from the build machine:
//! - each tool result type's JSON Schema (from `tool-output`, derived by schemars here) as a
//!   constant the component includes: `tools::output_schemas`;
//! - the WIT world it is built for, read from `wit/world.wit`, as a custom section
//!   ([`tool_output::component::WIT_WORLD_SECTION`]) that `cf-harness audit` shows;
//! - the linker flags that keep that section and the `producers` section (languages, tools and
//!   their versions) through the release build's `strip`.

use std::fmt::Write as _;
use std::path::Path;

use tool_output::component::WIT_WORLD_SECTION;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=../wit/world.wit");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let out_dir = Path::new(&out_dir);

    let mut schemas = String::new();
    for (name, schema) in tool_output::schema::results() {
        let text = schema.to_string();
        writeln!(schemas, "pub const {name}: &str = {text:?};").expect("writing to a String");
    }
    std::fs::write(out_dir.join("output_schemas.rs"), schemas).expect("OUT_DIR is writable");

    let world =
        wit_world(&std::fs::read_to_string("../wit/world.wit").expect("wit/world.wit is readable"));
    let section = format!(
        "/// The WIT world this component is built for (`{WIT_WORLD_SECTION}`).\n\
         #[allow(unsafe_code)] // a section of the binary's own choosing: no code is involved\n\
         #[cfg_attr(target_family = \"wasm\", unsafe(link_section = {WIT_WORLD_SECTION:?}))]\n\
         #[used]\n\
         static WIT_WORLD: [u8; {len}] = *b{world:?};\n",
        len = world.len(),
    );
    std::fs::write(out_dir.join("wit_world.rs"), section).expect("OUT_DIR is writable");

    if std::env::var("CARGO_CFG_TARGET_FAMILY").as_deref() == Ok("wasm") {
        for kept in ["producers", WIT_WORLD_SECTION] {
            println!("cargo::rustc-link-arg-cdylib=--keep-section={kept}");
        }
    }
}

/// `namespace:package/world@version` from a WIT file's `package` line and its one `world`.
fn wit_world(wit: &str) -> String {
    let word_after = |keyword: &str| {
        wit.lines()
            .filter_map(|line| line.trim().strip_prefix(keyword))
            .map(|rest| rest.trim().trim_end_matches([';', '{']).trim().to_string())
            .collect::<Vec<_>>()
    };
    let packages = word_after("package ");
    let worlds = word_after("world ");
    let ([package], [world]) = (packages.as_slice(), worlds.as_slice()) else {
        panic!("wit/world.wit must declare one package and one world: {packages:?} {worlds:?}");
    };
    match package.split_once('@') {
        Some((name, version)) => format!("{name}/{world}@{version}"),
        None => format!("{package}/{world}"),
    }
}
