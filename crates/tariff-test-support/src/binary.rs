//! Finding a `nats-server` binary that is new enough.

use std::env;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::TestSupportError;

/// The environment variable that names the `nats-server` binary to use.
pub const NATS_SERVER_ENV: &str = "TARIFF_NATS_SERVER";

/// The oldest server the harness accepts: JetStream key-value needs 2.10.
pub const MIN_SERVER_VERSION: ServerVersion = ServerVersion { major: 2, minor: 10, patch: 0 };

/// A `nats-server` version as `--version` reports it (`nats-server: v2.15.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version (0 when the output has none).
    pub patch: u32,
}

impl ServerVersion {
    /// Finds the first `vMAJOR.MINOR[.PATCH]` (or bare `MAJOR.MINOR[.PATCH]`) word in
    /// `text`; pre-release suffixes such as `-beta.1` are ignored.
    pub fn parse(text: &str) -> Option<ServerVersion> {
        text.split_whitespace().find_map(|word| {
            let word = word.strip_prefix('v').unwrap_or(word);
            let core = word.split(['-', '+']).next().unwrap_or(word);
            let mut parts = core.split('.');
            let major = parts.next()?.parse().ok()?;
            let minor = parts.next()?.parse().ok()?;
            let patch = match parts.next() {
                Some(p) => p.parse().ok()?,
                None => 0,
            };
            Some(ServerVersion { major, minor, patch })
        })
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The workspace root: two levels above this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().and_then(Path::parent).unwrap_or(manifest_dir).to_path_buf()
}

/// Asks `binary --version` and parses the answer, which must look like
/// `nats-server: v2.15.1`; anything else is reported as [`TestSupportError::BinaryTooOld`]
/// with what the binary said.
pub fn nats_server_version(binary: &Path) -> Result<ServerVersion, TestSupportError> {
    let output = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(TestSupportError::io(format!("running {} --version", binary.display())))?;
    let text = String::from_utf8_lossy(&output.stdout);
    // Insist on the server's own banner: `true --version` also prints a version.
    let parsed = if text.contains("nats-server") { ServerVersion::parse(&text) } else { None };
    parsed.ok_or_else(|| TestSupportError::BinaryTooOld {
        path: binary.to_path_buf(),
        version: text.trim().to_owned(),
    })
}

/// Finds the `nats-server` binary the tests should run.
///
/// In this order:
/// 1. `$TARIFF_NATS_SERVER`, when set and non-empty. It is used as given: if it is not
///    an executable file or is older than 2.10 that is an error, not a reason to look
///    elsewhere, because somebody asked for exactly that binary.
/// 2. `<workspace root>/.tools/bin/nats-server`, where `scripts/install-nats-server.sh`
///    puts the pinned server, if it is executable and 2.10 or later.
/// 3. The first `nats-server` on `PATH`, if its `--version` is 2.10 or later.
///
/// The error says to run `scripts/install-nats-server.sh`.
pub fn nats_server_binary() -> Result<PathBuf, TestSupportError> {
    if let Some(value) = env::var_os(NATS_SERVER_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(value);
        if !is_executable_file(&path) {
            return Err(TestSupportError::BinaryNotFound {
                searched: format!("${NATS_SERVER_ENV}={} (not an executable file)", path.display()),
            });
        }
        let version = nats_server_version(&path)?;
        if version < MIN_SERVER_VERSION {
            return Err(TestSupportError::BinaryTooOld { path, version: version.to_string() });
        }
        return Ok(path);
    }

    let mut searched = vec![format!("${NATS_SERVER_ENV} (unset)")];

    let tools = workspace_root().join(".tools").join("bin").join("nats-server");
    match usable(&tools) {
        Ok(()) => return Ok(tools),
        Err(why) => searched.push(format!("{} ({why})", tools.display())),
    }

    let on_path = env::var_os("PATH")
        .iter()
        .flat_map(env::split_paths)
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| is_executable_file(candidate));
    match on_path {
        Some(candidate) => match usable(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(why) => searched.push(format!("{} on PATH ({why})", candidate.display())),
        },
        None => searched.push("nats-server on PATH (none)".to_owned()),
    }

    Err(TestSupportError::BinaryNotFound { searched: searched.join("; ") })
}

/// `Ok` if `path` is an executable `nats-server` of at least [`MIN_SERVER_VERSION`],
/// else why not.
fn usable(path: &Path) -> Result<(), String> {
    if !is_executable_file(path) {
        return Err("missing or not executable".to_owned());
    }
    match nats_server_version(path) {
        Ok(version) if version >= MIN_SERVER_VERSION => Ok(()),
        Ok(version) => Err(format!("version {version} is older than {MIN_SERVER_VERSION}")),
        Err(e) => Err(e.to_string()),
    }
}

/// True for a regular file (after following symlinks) with an execute bit set.
fn is_executable_file(path: &Path) -> bool {
    let Ok(meta) = fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nats_server_version_output() {
        assert_eq!(
            ServerVersion::parse("nats-server: v2.15.1\n"),
            Some(ServerVersion { major: 2, minor: 15, patch: 1 })
        );
        assert_eq!(
            ServerVersion::parse("nats-server: v2.11.0-beta.2"),
            Some(ServerVersion { major: 2, minor: 11, patch: 0 })
        );
        assert_eq!(ServerVersion::parse("version 2.9"), Some(ServerVersion { major: 2, minor: 9, patch: 0 }));
        assert_eq!(ServerVersion::parse("nats-server: unknown"), None);
    }

    #[test]
    fn version_ordering_checks_minor_numerically() {
        let v2_9 = ServerVersion { major: 2, minor: 9, patch: 25 };
        let v2_10 = ServerVersion { major: 2, minor: 10, patch: 0 };
        assert!(v2_9 < MIN_SERVER_VERSION);
        assert!(v2_10 >= MIN_SERVER_VERSION);
    }

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("crates").join("tariff-test-support").is_dir());
    }
}
