//! What the component says of itself, read back by `cf-harness audit`.

/// The custom section in which the plugin names the WIT world it was built for, as
/// `namespace:package/world@version`. A built component keeps its interfaces' names but not its
/// world's, so the plugin's build script writes it here from `wit/world.wit`.
pub const WIT_WORLD_SECTION: &str = "cloudflare-connector:wit-world";
