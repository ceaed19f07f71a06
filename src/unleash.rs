//! Unleash as a flag source: its admin API, read for one project and one
//! environment, and the one write the kill switch sends (the environment's
//! `off` endpoint). The token goes raw in the `Authorization` header and
//! nowhere else: never in a message, a log line or an error.

use crate::model::flag::{Flag, FlagLink, FlagSource, FlagState, Share};
use chrono::{DateTime, Utc};
use reqwest::{Client, StatusCode, Url};
use serde_json::Value;
use std::time::Duration;

/// An Unleash API token. Shows as `<redacted>` however it is printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(text: &str) -> Token {
        Token(text.trim().to_string())
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `[contexts.X.flags.unleash]`, resolved: where to read and with what.
#[derive(Debug, Clone)]
pub struct UnleashSource {
    pub url: Url,
    pub project: String,
    pub environment: String,
    pub token: Token,
}

/// Why Unleash could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnleashError {
    /// 401: the token is wrong, expired or deleted.
    Unauthorized,
    /// 403: the token may not do this.
    Forbidden(String),
    /// No answer: connection refused, timed out, name not found.
    Unreachable(String),
    /// An answer cutover cannot use.
    Answer(String),
}

impl std::fmt::Display for UnleashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnleashError::Unauthorized => f.write_str(
                "Unleash refused the token (401 Unauthorized): check token_file or token_env \
                 of [contexts.<context>.flags.unleash]",
            ),
            UnleashError::Forbidden(what) => write!(
                f,
                "the Unleash token may not {what} (403 Forbidden): use an admin token with \
                 that permission"
            ),
            UnleashError::Unreachable(why) => write!(f, "Unleash is unreachable: {why}"),
            UnleashError::Answer(why) => write!(f, "Unleash answered unexpectedly: {why}"),
        }
    }
}

/// One flag in the configured environment, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct UnleashFlag {
    pub name: String,
    /// None when the flag is not in the configured environment.
    pub enabled: Option<bool>,
    /// The share of a `flexibleRollout` strategy, in percent.
    pub rollout: Option<f64>,
    pub changed_at: Option<DateTime<Utc>>,
    /// The environment's part of the flag (enabled, strategies): what the
    /// kill switch's stale-view guard compares.
    pub definition: Value,
}

impl UnleashFlag {
    /// The flag as the control room shows it, from `source`.
    pub fn to_flag(&self, source: &UnleashSource, link: FlagLink) -> Flag {
        Flag {
            key: self.name.clone(),
            source: FlagSource::Unleash {
                project: source.project.clone(),
                environment: source.environment.clone(),
            },
            state: match self.enabled {
                Some(true) => FlagState::Enabled,
                Some(false) => FlagState::Disabled,
                None => FlagState::Unknown,
            },
            default_variant: None,
            variants: Vec::new(),
            rollout: self.rollout.map(|p| {
                vec![
                    Share {
                        variant: "on".into(),
                        percent: p,
                    },
                    Share {
                        variant: "off".into(),
                        percent: 100.0 - p,
                    },
                ]
            }),
            rules: false,
            changed_at: self.changed_at,
            link,
            definition: self.definition.clone(),
            resource_version: String::new(),
        }
    }
}

/// A client for one Unleash project and environment.
pub struct Unleash {
    client: Client,
    source: UnleashSource,
}

impl Unleash {
    pub fn new(source: UnleashSource) -> Result<Unleash, String> {
        // reqwest is built without a TLS crypto provider of its own. An
        // error only means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Unleash { client, source })
    }

    pub fn source(&self) -> &UnleashSource {
        &self.source
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.source.url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<Value, UnleashError> {
        let response = request
            .header("Authorization", &self.source.token.0)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| UnleashError::Unreachable(without_url(&e)))?;
        match response.status() {
            StatusCode::UNAUTHORIZED => return Err(UnleashError::Unauthorized),
            StatusCode::FORBIDDEN => return Err(UnleashError::Forbidden(what.to_string())),
            s if !s.is_success() => {
                return Err(UnleashError::Answer(format!("{what}: HTTP {s}")));
            }
            _ => {}
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| UnleashError::Unreachable(without_url(&e)))?;
        if body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).map_err(|e| UnleashError::Answer(format!("{what}: {e}")))
    }

    async fn get(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<Value, UnleashError> {
        let mut url = self.url(segments);
        url.query_pairs_mut().extend_pairs(query);
        self.send(self.client.get(url), what).await
    }

    /// The project's flag names (`GET /api/admin/search/features`), page
    /// by page (the search answers 100 at most).
    async fn names(&self) -> Result<Vec<String>, UnleashError> {
        const PAGE: usize = 100;
        let project = format!("IS:{}", self.source.project);
        let mut names = Vec::new();
        loop {
            let offset = names.len().to_string();
            let answer = self
                .get(
                    &["api", "admin", "search", "features"],
                    &[
                        ("project", &project),
                        ("limit", &PAGE.to_string()),
                        ("offset", &offset),
                    ],
                    "search features",
                )
                .await?;
            let features = answer
                .get("features")
                .and_then(Value::as_array)
                .ok_or_else(|| UnleashError::Answer("search features: no `features`".into()))?;
            names.extend(
                features
                    .iter()
                    .filter_map(|f| f.get("name")?.as_str().map(str::to_string)),
            );
            let total = answer.get("total").and_then(Value::as_u64);
            let more = total.is_some_and(|t| (names.len() as u64) < t);
            if features.len() < PAGE || !more {
                return Ok(names);
            }
        }
    }

    /// One flag in the configured environment, with its last change.
    pub async fn flag(&self, name: &str) -> Result<UnleashFlag, UnleashError> {
        let project = &self.source.project;
        let feature = self
            .get(
                &["api", "admin", "projects", project, "features", name],
                &[],
                "read a feature",
            )
            .await?;
        let environment = feature
            .get("environments")
            .and_then(Value::as_array)
            .and_then(|envs| {
                envs.iter().find(|e| {
                    e.get("name").and_then(Value::as_str) == Some(&self.source.environment)
                })
            });
        let feature_filter = format!("IS:{name}");
        let events = self
            .get(
                &["api", "admin", "search", "events"],
                &[("feature", &feature_filter), ("limit", "1")],
                "search events",
            )
            .await?;
        let changed_at = events
            .pointer("/events/0/createdAt")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        Ok(UnleashFlag {
            name: name.to_string(),
            enabled: environment.and_then(|e| e.get("enabled")?.as_bool()),
            rollout: environment.and_then(flexible_rollout),
            changed_at,
            definition: environment
                .map(|e| {
                    serde_json::json!({
                        "enabled": e.get("enabled"),
                        "strategies": e.get("strategies"),
                    })
                })
                .unwrap_or(Value::Null),
        })
    }

    /// Every flag of the project, by name.
    pub async fn flags(&self) -> Result<Vec<UnleashFlag>, UnleashError> {
        let mut out = Vec::new();
        for name in self.names().await? {
            out.push(self.flag(&name).await?);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

/// The one write to Unleash: a flag off in the configured environment.
/// Built by the Mutator alone, so read-only and watch modes never have one.
pub struct UnleashSwitch {
    unleash: Unleash,
}

impl UnleashSwitch {
    pub fn new(source: UnleashSource) -> Result<UnleashSwitch, String> {
        Ok(UnleashSwitch {
            unleash: Unleash::new(source)?,
        })
    }

    /// What it writes through, to read a flag again before writing it.
    pub fn reader(&self) -> &Unleash {
        &self.unleash
    }

    /// Turn `name` off in the configured environment only.
    pub async fn switch_off(&self, name: &str) -> Result<(), UnleashError> {
        let u = &self.unleash;
        let s = &u.source;
        let url = u.url(&[
            "api",
            "admin",
            "projects",
            &s.project,
            "features",
            name,
            "environments",
            &s.environment,
            "off",
        ]);
        u.send(u.client.post(url), "turn a flag off")
            .await
            .map(|_| ())
    }
}

/// The rollout percentage of the first enabled `flexibleRollout` strategy.
fn flexible_rollout(environment: &Value) -> Option<f64> {
    environment
        .get("strategies")?
        .as_array()?
        .iter()
        .filter(|s| s.get("disabled").and_then(Value::as_bool) != Some(true))
        .find(|s| s.get("name").and_then(Value::as_str) == Some("flexibleRollout"))
        .and_then(|s| {
            let rollout = s.pointer("/parameters/rollout")?;
            rollout
                .as_f64()
                .or_else(|| rollout.as_str()?.trim().parse().ok())
        })
}

/// A reqwest error's causes, without its URL (which names no secret, but
/// is long) : "connection refused".
pub(crate) fn without_url(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

pub mod poll;
#[cfg(test)]
mod tests;
