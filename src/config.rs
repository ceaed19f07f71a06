//! The config file (`$XDG_CONFIG_HOME/cutover/config.toml`): theme,
//! read-only default and key bindings. A broken file never stops the
//! program: the defaults are used and the problem is shown on screen.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A built-in theme name or a theme file.
    pub theme: Option<String>,
    /// Start every session read-only unless `--write` is given.
    #[serde(default)]
    pub read_only: bool,
    /// Command name → keys, e.g. `promote = ["P"]`, `restart = ["ctrl-r"]`.
    #[serde(default)]
    pub keys: BTreeMap<String, Vec<String>>,
}

pub fn default_path() -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(std::env::temp_dir)
        .join("cutover")
        .join("config.toml")
}

/// The config at `path`; a missing file is the defaults, a broken one is
/// the defaults and a warning.
pub fn load(path: &Path) -> (Config, Vec<String>) {
    match std::fs::read_to_string(path) {
        Ok(text) => match toml::from_str(&text) {
            Ok(config) => (config, Vec::new()),
            Err(e) => (
                Config::default(),
                vec![format!(
                    "config {} ignored: {}",
                    path.display(),
                    e.to_string().lines().next().unwrap_or_default()
                )],
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Config::default(), Vec::new()),
        Err(e) => (
            Config::default(),
            vec![format!("config {} unreadable: {e}", path.display())],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_config_gives_defaults_and_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert!(load(&path).1.is_empty(), "a missing file is fine");
        std::fs::write(&path, "theme = \"mono\"\n[keys]\npromote = [\"ctrl-p\"]\n").unwrap();
        let (config, warnings) = load(&path);
        assert!(warnings.is_empty());
        assert_eq!(config.theme.as_deref(), Some("mono"));
        assert_eq!(config.keys["promote"], vec!["ctrl-p".to_string()]);
        std::fs::write(&path, "theme = [unclosed").unwrap();
        let (config, warnings) = load(&path);
        assert!(config.theme.is_none());
        assert!(warnings[0].contains("ignored"), "{warnings:?}");
    }
}
