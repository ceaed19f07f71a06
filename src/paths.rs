//! Where cutover keeps its files, in one place. The XDG base directories on
//! every Unix (macOS too, as most terminal tools do): the config in
//! `$XDG_CONFIG_HOME/cutover` (else `~/.config/cutover`), the audit file and
//! the log in `$XDG_STATE_HOME/cutover` (else `~/.local/state/cutover`), the
//! simulator's kubeconfigs in `$XDG_RUNTIME_DIR/cutover`. Only an absolute
//! variable counts, as the specification says. With no home folder at all,
//! the temporary folder stands in.

use etcetera::BaseStrategy;
use etcetera::base_strategy::Xdg;
use std::path::PathBuf;

const APP: &str = "cutover";

fn base(dir: impl FnOnce(&Xdg) -> Option<PathBuf>) -> PathBuf {
    Xdg::new()
        .ok()
        .and_then(|xdg| dir(&xdg))
        .unwrap_or_else(std::env::temp_dir)
        .join(APP)
}

fn config_dir() -> PathBuf {
    base(|xdg| Some(xdg.config_dir()))
}

/// `$XDG_CONFIG_HOME/cutover/config.toml`.
pub fn config_file() -> PathBuf {
    config_dir().join("config.toml")
}

/// `$XDG_CONFIG_HOME/cutover/themes`: the user's themes, `NAME.toml` each.
pub fn themes_dir() -> PathBuf {
    config_dir().join("themes")
}

/// `$XDG_STATE_HOME/cutover`: what cutover leaves behind, kept across runs.
fn state_dir() -> PathBuf {
    base(Xdg::state_dir)
}

/// `$XDG_STATE_HOME/cutover/audit.jsonl`.
pub fn audit_file() -> PathBuf {
    state_dir().join("audit.jsonl")
}

/// `$XDG_STATE_HOME/cutover/cutover.log`.
pub fn log_file() -> PathBuf {
    state_dir().join("cutover.log")
}

/// `$XDG_RUNTIME_DIR/cutover`: files that live as long as the session,
/// such as a simulated cluster's kubeconfig.
pub fn runtime_dir() -> PathBuf {
    base(Xdg::runtime_dir)
}
