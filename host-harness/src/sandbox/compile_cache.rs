//! Compiled components on disk, so a process start does not pay Cranelift's compile time.
//!
//! An entry is keyed by a hash of the component's bytes, the harness version and the engine's
//! compatibility hash (wasmtime's version, its configuration and the host CPU's features): a
//! changed plugin, wasmtime or engine setting never finds a stale entry. Each file holds a magic
//! string, the hash of the artifact and the artifact; a file whose hash does not match
//! (truncated, corrupt) is never handed to wasmtime: it is compiled again and replaced.
//! The hash is BLAKE3 (cryptographic, and several times faster than SHA-256 here: both the
//! component and the entry are hashed at every start).
//! Entries are written to a temporary file and renamed, so a reader never sees half a file.

use anyhow::Context as _;
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The first bytes of an entry; bumped when the layout changes.
const MAGIC: &[u8; 8] = b"CFHCACH2";
const HASH_LEN: usize = 32;

/// Where a loaded component came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadSource {
    /// Compiled now; no cache in use, or it could not be written.
    Compiled,
    /// Compiled now and stored (there was no entry).
    CompiledAndCached,
    /// Deserialized from a valid cache entry.
    Cache,
    /// The entry was unreadable, corrupt or refused by wasmtime: compiled again and replaced.
    Rebuilt,
}

/// A directory of compiled components.
#[derive(Clone, Debug)]
pub struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CompileCache { dir: dir.into() }
    }

    /// The user's cache folder: `$XDG_CACHE_HOME/cf-harness`, else `$HOME/.cache/cf-harness`
    /// (macOS: `~/Library/Caches/cf-harness`); `None` when neither is set.
    pub fn default_dir() -> Option<PathBuf> {
        let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(xdg) = non_empty("XDG_CACHE_HOME") {
            return Some(PathBuf::from(xdg).join("cf-harness"));
        }
        let home = PathBuf::from(non_empty("HOME")?);
        if cfg!(target_os = "macos") {
            Some(home.join("Library/Caches/cf-harness"))
        } else {
            Some(home.join(".cache/cf-harness"))
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry's path for `wasm` under `engine`.
    pub fn entry_path(&self, engine: &Engine, wasm: &[u8]) -> PathBuf {
        self.dir.join(format!("{}.cwasm", key(engine, wasm)))
    }

    /// The component from its cache entry, or compiled (and stored) when there is no valid one.
    /// A failure to store is logged, not returned: the compiled component is still good.
    pub fn load(&self, engine: &Engine, wasm: &[u8]) -> anyhow::Result<(Component, LoadSource)> {
        let path = self.entry_path(engine, wasm);
        let had_entry = match std::fs::read(&path) {
            Ok(entry) => match deserialize_entry(engine, &entry) {
                Ok(component) => return Ok((component, LoadSource::Cache)),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "compile cache entry refused; compiling again");
                    true
                }
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => false,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot read the compile cache");
                false
            }
        };
        let artifact = engine
            .precompile_component(wasm)
            .map_err(anyhow::Error::from)?;
        let stored = self.store(&path, &artifact).inspect_err(|error| {
            tracing::warn!(path = %path.display(), error = %format!("{error:#}"), "cannot write the compile cache");
        });
        let component = deserialize_artifact(engine, &artifact)?;
        let source = match (had_entry, stored.is_ok()) {
            (true, _) => LoadSource::Rebuilt,
            (false, true) => LoadSource::CompiledAndCached,
            (false, false) => LoadSource::Compiled,
        };
        Ok((component, source))
    }

    /// The component compiled for `engine`: from `cache` when there is one (see
    /// [`CompileCache::load`]), else compiled now.
    pub fn load_or_compile(
        cache: Option<&CompileCache>,
        engine: &Engine,
        wasm: &[u8],
    ) -> anyhow::Result<(Component, LoadSource)> {
        match cache {
            Some(cache) => cache.load(engine, wasm),
            None => Ok((Component::from_binary(engine, wasm)?, LoadSource::Compiled)),
        }
    }

    fn store(&self, path: &Path, artifact: &[u8]) -> anyhow::Result<()> {
        create_private_dir(&self.dir)?;
        let temporary = self.dir.join(format!(
            ".{}.{}.tmp",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
            std::process::id()
        ));
        let mut file = std::fs::File::create(&temporary)
            .with_context(|| format!("cannot create {}", temporary.display()))?;
        file.write_all(MAGIC)?;
        file.write_all(blake3::hash(artifact).as_bytes())?;
        file.write_all(artifact)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&temporary);
        })?;
        Ok(())
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Feeds `Hash` output into BLAKE3 (the engine's compatibility hash is only `Hash`).
struct Blake3Hasher(blake3::Hasher);

impl Hasher for Blake3Hasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn key(engine: &Engine, wasm: &[u8]) -> String {
    let mut hasher = Blake3Hasher(blake3::Hasher::new());
    hasher.write(MAGIC);
    hasher.write(env!("CARGO_PKG_VERSION").as_bytes());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.write(blake3::hash(wasm).as_bytes());
    hasher.0.finalize().to_hex().to_string()
}

fn deserialize_entry(engine: &Engine, entry: &[u8]) -> anyhow::Result<Component> {
    let rest = entry
        .strip_prefix(MAGIC.as_slice())
        .context("not a cf-harness cache entry")?;
    if rest.len() < HASH_LEN {
        anyhow::bail!("truncated entry");
    }
    let (hash, artifact) = rest.split_at(HASH_LEN);
    if blake3::hash(artifact).as_bytes().as_slice() != hash {
        anyhow::bail!("the artifact does not match its hash");
    }
    deserialize_artifact(engine, artifact)
}

/// Only ever called on bytes this process compiled, or read back from an entry whose hash
/// matched what was written.
#[allow(unsafe_code)]
fn deserialize_artifact(engine: &Engine, artifact: &[u8]) -> anyhow::Result<Component> {
    // SAFETY: wasmtime requires the bytes to come from `precompile_component` of a compatible
    // engine. They do: `engine` compiled them now, or they are an entry written by `store`
    // whose BLAKE3 hash still matches (so not corrupted since), under a key that includes the
    // engine's compatibility hash; wasmtime checks the version and configuration again.
    // The cache folder is the user's own (0700): whoever can write there can also replace
    // the plugin itself.
    unsafe { Component::deserialize(engine, artifact) }.map_err(anyhow::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "cf-cache-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).expect("engine")
    }

    /// A small valid component: an empty one (wasmtime compiles the text format too).
    const EMPTY_COMPONENT: &str = "(component)";

    fn wasm(text: &str) -> Vec<u8> {
        text.as_bytes().to_vec()
    }

    #[test]
    fn a_second_load_comes_from_the_cache() {
        let cache = CompileCache::new(temp_dir("hit"));
        let engine = engine();
        let bytes = wasm(EMPTY_COMPONENT);
        let (_, first) = cache.load(&engine, &bytes).expect("compiles");
        assert_eq!(first, LoadSource::CompiledAndCached);
        let (_, second) = cache.load(&engine, &bytes).expect("loads");
        assert_eq!(second, LoadSource::Cache);
        let _ = std::fs::remove_dir_all(cache.dir());
    }

    #[test]
    fn another_component_or_engine_setting_gets_another_entry() {
        let cache = CompileCache::new(temp_dir("keys"));
        let engine = engine();
        let one = wasm(EMPTY_COMPONENT);
        let two = wasm("(component (core module))");
        assert_ne!(
            cache.entry_path(&engine, &one),
            cache.entry_path(&engine, &two)
        );
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        let other_engine = Engine::new(&config).expect("engine");
        assert_ne!(
            cache.entry_path(&engine, &one),
            cache.entry_path(&other_engine, &one)
        );
    }

    #[test]
    fn a_corrupt_or_truncated_entry_is_rebuilt_not_trusted() {
        let cache = CompileCache::new(temp_dir("corrupt"));
        let engine = engine();
        let bytes = wasm("(component (core module (func (export \"f\"))))");
        cache.load(&engine, &bytes).expect("compiles");
        let path = cache.entry_path(&engine, &bytes);
        let good = std::fs::read(&path).expect("stored");
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        for damaged in [
            flipped,
            good[..good.len() / 2].to_vec(),
            MAGIC.to_vec(),
            Vec::new(),
            b"not an entry at all".to_vec(),
        ] {
            std::fs::write(&path, &damaged).expect("damage");
            let (_, source) = cache.load(&engine, &bytes).expect("rebuilt");
            assert_eq!(source, LoadSource::Rebuilt);
            assert_eq!(std::fs::read(&path).expect("replaced"), good);
        }
        let _ = std::fs::remove_dir_all(cache.dir());
    }

    #[test]
    fn an_unwritable_cache_still_loads_the_component() {
        let file = temp_dir("unwritable");
        std::fs::write(&file, b"a file where the folder should be").expect("write");
        let cache = CompileCache::new(file.join("sub"));
        let (_, source) = cache
            .load(&engine(), &wasm(EMPTY_COMPONENT))
            .expect("compiled anyway");
        assert_eq!(source, LoadSource::Compiled);
        let _ = std::fs::remove_file(&file);
    }
}
