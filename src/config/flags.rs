//! `[contexts.X.flags.unleash]`: the Unleash whose flags sit beside that
//! context's releases.

use crate::metrics::prometheus::SecretSource;
use crate::unleash::{Token, UnleashSource};
use serde::Deserialize;
use std::path::PathBuf;

/// `[contexts.X.flags]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagsSection {
    pub unleash: Option<UnleashSection>,
}

/// `[contexts.X.flags.unleash]`: one project, one environment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnleashSection {
    /// The server's base URL, e.g. `https://unleash.example.com`.
    pub url: Option<String>,
    pub project: Option<String>,
    pub environment: Option<String>,
    /// A file holding an admin API token (read at start).
    pub token_file: Option<PathBuf>,
    /// An environment variable holding one.
    pub token_env: Option<String>,
}

impl UnleashSection {
    /// What is wrong with it, as `(key, problem, what to do)`, the problem
    /// said of the key (of the section, when the key is None): the first
    /// mistake found, or None when it can be used.
    pub(crate) fn problem(&self) -> Option<(Option<&'static str>, &'static str, &'static str)> {
        let usable = |url: &str| {
            reqwest::Url::parse(url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        };
        match &self.url {
            None => {
                return Some((
                    Some("url"),
                    "is missing",
                    "give the server's base URL, such as https://unleash.example.com",
                ));
            }
            Some(url) if !usable(url) => {
                return Some((
                    Some("url"),
                    "is not an http or https URL",
                    "give the server's base URL, such as https://unleash.example.com",
                ));
            }
            Some(_) => {}
        }
        for (key, value, hint) in [
            (
                "project",
                &self.project,
                "give the project's id, such as default",
            ),
            (
                "environment",
                &self.environment,
                "give the environment the kill switch acts on, such as production",
            ),
        ] {
            if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                return Some((Some(key), "is missing", hint));
            }
        }
        match (&self.token_file, &self.token_env) {
            (Some(_), Some(_)) => Some((
                Some("token_env"),
                "is set beside token_file",
                "keep one of them",
            )),
            (None, None) => Some((
                None,
                "has no token",
                "set token_file or token_env to where an admin API token is",
            )),
            _ => None,
        }
    }

    /// The source to read, its token read now; an error in plain words
    /// that never holds the token.
    pub fn resolve(&self) -> Result<UnleashSource, String> {
        if let Some((key, problem, hint)) = self.problem() {
            let key = key.map(|k| format!(" {k}")).unwrap_or_default();
            return Err(format!("[flags.unleash]{key} {problem}: {hint}"));
        }
        let url = self.url.as_deref().unwrap_or_default();
        // Read once: a rotated token needs a new connection.
        let token = SecretSource::from_config("Unleash token", &self.token_file, &self.token_env)?
            .map(|secret| secret.read())
            .transpose()?
            .unwrap_or_default();
        Ok(UnleashSource {
            url: reqwest::Url::parse(url).map_err(|e| format!("Unleash url: {e}"))?,
            project: self.project.clone().unwrap_or_default(),
            environment: self.environment.clone().unwrap_or_default(),
            token: Token::new(&token),
        })
    }
}
