//! A client of the Prometheus HTTP API (`/api/v1/query` and
//! `/api/v1/query_range`), for Prometheus itself and the backends that speak
//! its API under a path prefix (Mimir and Cortex serve under `/prometheus`)
//! with a tenant header (`X-Scope-OrgID`).
//!
//! - [`PrometheusConfig`] says where and how to connect; [`Prometheus::new`]
//!   checks it (URL, headers, CA file, credentials) before any request.
//! - [`Prometheus::query`] and [`Prometheus::query_range`] answer a
//!   [`QueryResult`]: every series with its labels and samples (values
//!   parsed from Prometheus's strings, `NaN`, `+Inf` and `-Inf` included)
//!   and the warnings Prometheus sent along.
//! - Failures are a [`QueryError`] whose `Display` fits a status line; an
//!   error envelope keeps Prometheus's `errorType` and `error` verbatim.
//! - Long queries go as a form-encoded POST, at most `max_concurrency`
//!   requests are in flight, and [`Prometheus::requests_sent`] counts them.
//! - An answer is read up to `max_response_bytes` and no further, and read
//!   in one pass into at most `max_series` series (see `answer`): a
//!   hostile or mistaken answer costs a bounded amount of memory.

mod answer;
mod body;

use crate::size::byte_size;
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, Method, Url};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Queries longer than this go in a POST body: URLs this long are cut by
/// some proxies.
pub const POST_ABOVE_BYTES: usize = 1500;

/// How much of a failure's body is read: an error envelope is short, and
/// the error keeps only its start.
const ERROR_BODY_BYTES: usize = 64 * 1024;

/// The default of [`PrometheusConfig::max_response_bytes`].
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// The default of [`PrometheusConfig::max_series`].
pub const DEFAULT_MAX_SERIES: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub username: String,
    pub password_file: Option<PathBuf>,
    /// The name of an environment variable holding the password.
    pub password_env: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrometheusConfig {
    /// The base URL, with any path prefix: `https://mimir.example/prometheus`.
    pub url: String,
    /// For each request, from sending to the last byte of the answer.
    pub timeout: Duration,
    pub bearer_token_file: Option<PathBuf>,
    /// The name of an environment variable holding the bearer token.
    pub bearer_token_env: Option<String>,
    pub basic_auth: Option<BasicAuth>,
    /// Sent with every request, e.g. `("X-Scope-OrgID", "tenant-1")`.
    pub headers: Vec<(String, String)>,
    /// PEM certificates trusted besides the system's.
    pub ca_file: Option<PathBuf>,
    pub insecure_skip_verify: bool,
    pub max_concurrency: usize,
    /// The longest answer read; a longer one fails its query.
    pub max_response_bytes: usize,
    /// The most series an answer may hold: every query groups by version,
    /// so more means a wrong profile or version label.
    pub max_series: usize,
}

impl PrometheusConfig {
    /// No credentials, a 10 s timeout, at most 4 requests at once, and
    /// answers of at most 16 MiB and 100 series.
    pub fn new(url: impl Into<String>) -> Self {
        PrometheusConfig {
            url: url.into(),
            timeout: Duration::from_secs(10),
            bearer_token_file: None,
            bearer_token_env: None,
            basic_auth: None,
            headers: Vec::new(),
            ca_file: None,
            insecure_skip_verify: false,
            max_concurrency: 4,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_series: DEFAULT_MAX_SERIES,
        }
    }
}

/// A secret from an environment variable (read once) or a file (read for
/// every request, so a rotated token, such as a projected service-account
/// token, is picked up).
pub(crate) enum SecretSource {
    Value(String),
    File(PathBuf),
}

/// Debug output names where a secret comes from, never the secret.
impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::Value(_) => f.write_str("Value(<redacted>)"),
            SecretSource::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

impl SecretSource {
    pub(crate) fn from_config(
        what: &str,
        file: &Option<PathBuf>,
        env: &Option<String>,
    ) -> Result<Option<SecretSource>, String> {
        let secret = match (file, env) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "{what}: set a file or an environment variable, not both"
                ));
            }
            (Some(path), None) => SecretSource::File(path.clone()),
            (None, Some(var)) => SecretSource::Value(
                std::env::var(var)
                    .map_err(|e| format!("{what}: environment variable {var}: {e}"))?,
            ),
            (None, None) => return Ok(None),
        };
        // Read once now, so a wrong path is reported at start, not on the first refresh.
        secret.read().map_err(|e| format!("{what}: {e}"))?;
        Ok(Some(secret))
    }

    pub(crate) fn read(&self) -> Result<String, String> {
        match self {
            SecretSource::Value(value) => Ok(value.clone()),
            SecretSource::File(path) => std::fs::read_to_string(path)
                .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|e| format!("{}: {e}", path.display())),
        }
    }
}

#[derive(Debug)]
enum Credentials {
    None,
    Bearer(SecretSource),
    Basic {
        username: String,
        password: SecretSource,
    },
}

impl Credentials {
    fn from_config(cfg: &PrometheusConfig) -> Result<Credentials, String> {
        let bearer = SecretSource::from_config(
            "bearer token",
            &cfg.bearer_token_file,
            &cfg.bearer_token_env,
        )?;
        match (bearer, &cfg.basic_auth) {
            (Some(_), Some(_)) => Err("set a bearer token or basic auth, not both".into()),
            (Some(token), None) => Ok(Credentials::Bearer(token)),
            (None, Some(basic)) => {
                let password = SecretSource::from_config(
                    "basic auth password",
                    &basic.password_file,
                    &basic.password_env,
                )?
                .unwrap_or(SecretSource::Value(String::new()));
                Ok(Credentials::Basic {
                    username: basic.username.clone(),
                    password,
                })
            }
            (None, None) => Ok(Credentials::None),
        }
    }

    fn apply(&self, request: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, String> {
        Ok(match self {
            Credentials::None => request,
            Credentials::Bearer(token) => request.bearer_auth(token.read()?),
            Credentials::Basic { username, password } => {
                request.basic_auth(username, Some(password.read()?))
            }
        })
    }
}

/// One series of a result: a vector's sample or a matrix's samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub samples: Vec<(DateTime<Utc>, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub series: Vec<Series>,
    /// Prometheus's warnings (partial data, PromQL hints), to be shown.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// No complete answer within the configured timeout.
    Timeout { after: Duration },
    /// The request could not be sent or the answer not received.
    Connect(String),
    /// A token or password file could not be read.
    Credentials(String),
    /// A non-success status without a Prometheus error envelope (a proxy,
    /// a wrong path prefix).
    Http { status: u16, body: String },
    /// Prometheus's error envelope, as it wrote it.
    Api { error_type: String, error: String },
    /// A scalar or a string where cutover reads series: the query's type
    /// is wrong, which is not the same as no data.
    ResultType { answered: &'static str },
    /// The answer is not a Prometheus API answer.
    Decode(String),
    /// The answer is longer than `limit` bytes: reading stopped there.
    TooLarge {
        limit: usize,
        /// The start of the query.
        query: String,
    },
    /// The answer holds more than `limit` series.
    TooManySeries {
        limit: usize,
        /// The start of the query.
        query: String,
    },
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::Timeout { after } => {
                write!(f, "Prometheus did not answer within {after:?}")
            }
            QueryError::Connect(e) => write!(f, "cannot reach Prometheus: {e}"),
            QueryError::Credentials(e) => write!(f, "cannot read Prometheus credentials: {e}"),
            QueryError::Http { status, body } => {
                write!(f, "Prometheus answered HTTP {status}")?;
                if !body.is_empty() {
                    write!(f, ": {body}")?;
                }
                Ok(())
            }
            QueryError::Api { error_type, error } => {
                write!(f, "Prometheus error {error_type}: {error}")
            }
            QueryError::ResultType { answered } => write!(
                f,
                "Prometheus answered a {answered} where a vector was expected: cutover compares series labelled by version, and a {answered} has none; check the query (a scalar(…), a number or a string at its top)"
            ),
            QueryError::Decode(e) => write!(f, "cannot read Prometheus's answer: {e}"),
            QueryError::TooLarge { limit, query } => write!(
                f,
                "Prometheus answered more than {} to `{query}`: narrow the query's selectors, or raise [metrics.prometheus] max_response_bytes",
                byte_size(*limit)
            ),
            QueryError::TooManySeries { limit, query } => write!(
                f,
                "Prometheus answered more than {limit} series to `{query}`: a query grouped by version has one series per version; check the profile's version label (or a custom query's `by`), or raise [metrics.prometheus] max_series"
            ),
        }
    }
}

impl std::error::Error for QueryError {}

/// A Prometheus API client; clones share the connection pool, the
/// concurrency limit and the request count.
#[derive(Clone)]
pub struct Prometheus {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    /// The configured URL without any user or password, for display.
    base_url: String,
    query_url: Url,
    query_range_url: Url,
    timeout: Duration,
    max_response_bytes: usize,
    max_series: usize,
    credentials: Credentials,
    in_flight: Semaphore,
    requests_sent: AtomicU64,
    insecure_warning: Option<String>,
}

impl fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prometheus")
            .field("query_url", &self.inner.query_url.as_str())
            .finish_non_exhaustive()
    }
}

impl Prometheus {
    pub fn new(cfg: PrometheusConfig) -> Result<Prometheus, String> {
        let base = Url::parse(&cfg.url).map_err(|e| format!("Prometheus URL {}: {e}", cfg.url))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(format!("Prometheus URL {}: not http or https", cfg.url));
        }
        let endpoint = |path: &str| {
            let mut url = base.clone();
            url.set_path(&format!(
                "{}/api/v1/{path}",
                base.path().trim_end_matches('/')
            ));
            url
        };
        let mut headers = HeaderMap::new();
        for (name, value) in &cfg.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| format!("header name {name:?}: {e}"))?;
            let value =
                HeaderValue::from_str(value).map_err(|e| format!("header {name} value: {e}"))?;
            headers.append(name, value);
        }
        // reqwest is built without a TLS crypto provider of its own: use
        // ring, as the rest of cutover does. An error only means one is
        // installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = Client::builder()
            .timeout(cfg.timeout)
            .default_headers(headers)
            .tls_danger_accept_invalid_certs(cfg.insecure_skip_verify);
        if let Some(path) = &cfg.ca_file {
            let pem =
                std::fs::read(path).map_err(|e| format!("CA file {}: {e}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("CA file {}: {e}", path.display()))?;
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder
            .build()
            .map_err(|e| format!("HTTP client: {}", error_chain(&e)))?;
        Ok(Prometheus {
            inner: Arc::new(Inner {
                client,
                base_url: {
                    let mut shown = base.clone();
                    let _ = shown.set_username("");
                    let _ = shown.set_password(None);
                    shown.as_str().trim_end_matches('/').to_string()
                },
                query_url: endpoint("query"),
                query_range_url: endpoint("query_range"),
                timeout: cfg.timeout,
                max_response_bytes: cfg.max_response_bytes,
                max_series: cfg.max_series,
                credentials: Credentials::from_config(&cfg)?,
                in_flight: Semaphore::new(cfg.max_concurrency.max(1)),
                requests_sent: AtomicU64::new(0),
                insecure_warning: cfg.insecure_skip_verify.then(|| {
                    format!(
                        "TLS verification is off for Prometheus at {}: anyone on the way can read and change the metrics",
                        cfg.url
                    )
                }),
            }),
        })
    }

    /// The base URL, without credentials.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The warning to show while TLS certificates are not verified.
    pub fn insecure_warning(&self) -> Option<&str> {
        self.inner.insecure_warning.as_deref()
    }

    /// HTTP requests sent so far, failed ones included.
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests_sent.load(Ordering::Relaxed)
    }

    /// An instant query evaluated at `at`.
    pub async fn query(&self, promql: &str, at: DateTime<Utc>) -> Result<QueryResult, QueryError> {
        let params = [("query", promql.to_string()), ("time", unix_seconds(at))];
        // A vector has one sample per series; a range vector (`x[5m]`)
        // answers a matrix of as many as the range holds.
        self.send(&self.inner.query_url, promql, &params, usize::MAX)
            .await
    }

    /// A range query from `start` to `end`, both included, every `step`.
    pub async fn query_range(
        &self,
        promql: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: Duration,
    ) -> Result<QueryResult, QueryError> {
        let params = [
            ("query", promql.to_string()),
            ("start", unix_seconds(start)),
            ("end", unix_seconds(end)),
            ("step", step.as_secs_f64().to_string()),
        ];
        let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX).max(1);
        let asked = (end - start).num_milliseconds().max(0) / step_ms + 1;
        // Mimir and Cortex may align the range to the step: one more.
        let max_samples = usize::try_from(asked + 1).unwrap_or(usize::MAX);
        self.send(&self.inner.query_range_url, promql, &params, max_samples)
            .await
    }

    /// Send a query whose answer's series hold at most `max_samples`
    /// samples each.
    async fn send(
        &self,
        url: &Url,
        promql: &str,
        params: &[(&str, String)],
        max_samples: usize,
    ) -> Result<QueryResult, QueryError> {
        let inner = &self.inner;
        let request = if promql.len() > POST_ABOVE_BYTES {
            inner.client.request(Method::POST, url.clone()).form(params)
        } else {
            let mut url = url.clone();
            url.query_pairs_mut().extend_pairs(params);
            inner.client.get(url)
        };
        let request = inner
            .credentials
            .apply(request)
            .map_err(QueryError::Credentials)?;
        let _permit = inner
            .in_flight
            .acquire()
            .await
            .expect("the semaphore is never closed");
        inner.requests_sent.fetch_add(1, Ordering::Relaxed);
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                QueryError::Timeout {
                    after: inner.timeout,
                }
            } else {
                // The URL holds the whole query: too long to show, and said elsewhere.
                QueryError::Connect(error_chain(&e.without_url()))
            }
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let too_large = || QueryError::TooLarge {
            limit: inner.max_response_bytes,
            query: shortened(promql),
        };
        let body = if status.is_success() {
            // Refused before reading when the length is told.
            if response
                .content_length()
                .is_some_and(|told| told > inner.max_response_bytes as u64)
            {
                return Err(too_large());
            }
            body::read_at_most(response, inner.max_response_bytes)
                .await
                .map_err(transport)?
                .ok_or_else(too_large)?
        } else {
            // A failure's start is enough.
            body::read_start(response, ERROR_BODY_BYTES)
                .await
                .map_err(transport)?
        };
        // Reading a large answer takes a while: not on the threads that
        // move the other answers.
        let limits = answer::Limits {
            max_series: inner.max_series,
            max_samples,
        };
        let query = promql.to_string();
        tokio::task::spawn_blocking(move || answer::decode(status.as_u16(), &body, limits, &query))
            .await
            .unwrap_or_else(|e| Err(QueryError::Decode(e.to_string())))
    }
}

/// A query as an error names it: its start, on one line.
fn shortened(promql: &str) -> String {
    const SHOWN_CHARS: usize = 60;
    let line = promql.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= SHOWN_CHARS {
        return line;
    }
    let start: String = line.chars().take(SHOWN_CHARS - 1).collect();
    format!("{}…", start.trim_end())
}

/// A reqwest error with its causes: its own text alone rarely says why.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Unix seconds with milliseconds, as the API takes them.
fn unix_seconds(t: DateTime<Utc>) -> String {
    format!("{:.3}", t.timestamp_millis() as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_names_a_long_query_by_its_start_on_one_line() {
        assert_eq!(shortened("sum by (version) (up)"), "sum by (version) (up)");
        let long = "sum by (rollouts_pod_template_hash) (\n    rate(http_requests_total{namespace=\"shop\"}[5m]))";
        let shown = shortened(long);
        assert_eq!(
            shown,
            "sum by (rollouts_pod_template_hash) ( rate(http_requests_to…"
        );
        assert_eq!(shown.chars().count(), 60);
    }

    #[test]
    fn a_secret_from_the_environment_is_redacted_in_debug_output() {
        let secret = SecretSource::Value("s3cr3t-value".into());
        let shown = format!("{secret:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }
}
