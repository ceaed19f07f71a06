//! TLS for the database connections, with libpq's `sslmode` and
//! `sslrootcert` and their meanings, so that settings that work for `psql`
//! work here too:
//!
//! - `disable` never encrypts; `allow` tries without TLS, then with it if
//!   the server refuses; `prefer` (the default) tries TLS, then without it;
//!   `require` insists on TLS; `verify-ca` also checks the server's
//!   certificate chain; `verify-full` also checks that the certificate is
//!   for the host connected to.
//! - The chain is checked against `sslrootcert`, else
//!   `~/.postgresql/root.crt`. When such a file is there, `prefer` and
//!   `require` check the chain too, as `verify-ca` does.
//! - `sslrootcert=system` takes the system's trusted roots, and then only
//!   `verify-full` is allowed (the default with it).
//!
//! Unlike libpq, an `sslrootcert` file that is named but missing is an
//! error in every mode that may encrypt: naming one means verification is
//! wanted, so it is never silently skipped.

mod stream;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::Deserialize;

use super::conninfo::TlsParams;
pub(crate) use stream::{TlsClient, TlsFailure};

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

const MODES: [(SslMode, &str); 6] = [
    (SslMode::Disable, "disable"),
    (SslMode::Allow, "allow"),
    (SslMode::Prefer, "prefer"),
    (SslMode::Require, "require"),
    (SslMode::VerifyCa, "verify-ca"),
    (SslMode::VerifyFull, "verify-full"),
];

impl SslMode {
    pub fn word(self) -> &'static str {
        crate::words::word_of(&MODES, self)
    }

    /// Whether a connection without TLS, or with an unverified certificate,
    /// is refused.
    fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

impl FromStr for SslMode {
    type Err = String;

    fn from_str(text: &str) -> Result<SslMode, String> {
        crate::words::parse_word(&MODES, "sslmode", text)
    }
}

impl TryFrom<String> for SslMode {
    type Error = String;

    fn try_from(text: String) -> Result<SslMode, String> {
        text.parse()
    }
}

/// The `sslrootcert` value that means the system's trusted roots.
const SYSTEM: &str = "system";

/// What one connection does about TLS.
pub(crate) struct TlsPolicy {
    pub mode: SslMode,
    /// The roots the server's chain must lead to; `None`: the certificate
    /// is not checked (only `prefer`, `allow` and `require` without a root
    /// file, and `disable`).
    roots: Option<Roots>,
}

struct Roots {
    store: Arc<RootCertStore>,
    /// For errors: `/etc/ssl/ca.pem` or `the system's trusted roots`.
    origin: String,
}

/// The TLS settings of one database, each from the first place that
/// gives it: the connection string, the config file, the environment.
pub(crate) struct TlsSources<'a> {
    pub conninfo: TlsParams,
    pub sslmode: Option<SslMode>,
    pub sslrootcert: Option<&'a Path>,
}

impl TlsPolicy {
    /// libpq's rules (see the module's documentation). `env` reads the
    /// environment (`PGSSLMODE`, `PGSSLROOTCERT`, `HOME`); root files are
    /// read now, so a replaced file is seen at the next connection.
    pub fn resolve(
        sources: TlsSources<'_>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<TlsPolicy, String> {
        let env = |name: &str| env(name).filter(|v| !v.is_empty());
        let mode = match sources.conninfo.sslmode {
            Some(text) => Some(text.parse()?),
            None => match sources.sslmode {
                Some(mode) => Some(mode),
                None => env("PGSSLMODE")
                    .map(|text| text.parse().map_err(|e| format!("PGSSLMODE: {e}")))
                    .transpose()?,
            },
        };
        let rootcert = sources
            .conninfo
            .sslrootcert
            .map(PathBuf::from)
            .or_else(|| sources.sslrootcert.map(Path::to_path_buf))
            .or_else(|| env("PGSSLROOTCERT").map(PathBuf::from));
        if rootcert.as_deref() == Some(Path::new(SYSTEM)) {
            return match mode.unwrap_or(SslMode::VerifyFull) {
                SslMode::VerifyFull => Ok(TlsPolicy {
                    mode: SslMode::VerifyFull,
                    roots: Some(system_roots()?),
                }),
                weak => Err(format!(
                    "sslmode={weak} may not be used with sslrootcert=system: \
                     use sslmode=verify-full (the default with it)"
                )),
            };
        }
        let mode = mode.unwrap_or(SslMode::Prefer);
        if mode == SslMode::Disable {
            return Ok(TlsPolicy { mode, roots: None });
        }
        let roots = match rootcert {
            Some(file) => Some(file_roots(&file)?),
            None => {
                let default = env("HOME").map(|home| Path::new(&home).join(".postgresql/root.crt"));
                match default {
                    Some(file) if file.exists() => Some(file_roots(&file)?),
                    _ if mode.verifies() => {
                        return Err(format!(
                            "sslmode={mode} needs the certificate of the authority that signed the \
                             server's, and ~/.postgresql/root.crt does not exist: name one with \
                             sslrootcert=/path/to/ca.pem, use sslrootcert=system for the system's \
                             trusted roots, or use sslmode=require to encrypt without verifying"
                        ));
                    }
                    _ => None,
                }
            }
        };
        Ok(TlsPolicy { mode, roots })
    }

    /// The TLS client these rules make.
    pub fn client(&self) -> Result<TlsClient, String> {
        TlsClient::new(self)
    }

    /// How the connection is checked, for the screen: `verify-full`,
    /// `verify-ca`, or `not verified`.
    pub fn checks(&self) -> &'static str {
        match (&self.roots, self.mode) {
            (Some(_), SslMode::VerifyFull) => "verify-full",
            (Some(_), _) => "verify-ca",
            (None, _) => "not verified",
        }
    }
}

/// The certificates of a PEM file, as trusted roots.
fn file_roots(file: &Path) -> Result<Roots, String> {
    let shown = file.display();
    let pem = std::fs::read(file).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "does not exist".to_string(),
            _ => e.to_string(),
        };
        format!("the root certificate file {shown} {why}: check sslrootcert")
    })?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the root certificate file {shown} is not valid PEM: {e}"))?;
    roots(certs, shown.to_string())
        .ok_or_else(|| format!("the root certificate file {shown} holds no usable certificate"))
}

/// The system's trusted roots, found as OpenSSL finds them (`SSL_CERT_FILE`,
/// `SSL_CERT_DIR`, then the system's bundle).
fn system_roots() -> Result<Roots, String> {
    let found = rustls_native_certs::load_native_certs();
    let origin = "the system's trusted roots".to_string();
    roots(found.certs, origin).ok_or_else(|| {
        let why: Vec<String> = found.errors.iter().map(|e| e.to_string()).collect();
        format!(
            "sslrootcert=system: no trusted root certificates were found on this system{}: \
             install the ca-certificates package or name a file with sslrootcert",
            if why.is_empty() {
                String::new()
            } else {
                format!(" ({})", why.join("; "))
            }
        )
    })
}

fn roots(certs: Vec<CertificateDer<'static>>, origin: String) -> Option<Roots> {
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(certs);
    (added > 0).then(|| Roots {
        store: Arc::new(store),
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    fn sources<'a>(
        sslmode: Option<&str>,
        sslrootcert: Option<&str>,
        file_mode: Option<SslMode>,
        file_root: Option<&'a Path>,
    ) -> TlsSources<'a> {
        TlsSources {
            conninfo: TlsParams {
                sslmode: sslmode.map(str::to_string),
                sslrootcert: sslrootcert.map(str::to_string),
            },
            sslmode: file_mode,
            sslrootcert: file_root,
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn every_libpq_mode_parses_and_others_are_named() {
        for (mode, word) in MODES {
            assert_eq!(word.parse::<SslMode>(), Ok(mode));
            assert_eq!(mode.to_string(), word);
        }
        let err = "verify_full".parse::<SslMode>().unwrap_err();
        assert_eq!(
            err,
            "sslmode \"verify_full\" is not one of disable, allow, prefer, require, verify-ca, verify-full"
        );
    }

    #[test]
    fn prefer_is_the_default_and_checks_nothing_without_a_root_file() {
        let home = tempfile::tempdir().unwrap();
        let home_env = |name: &str| (name == "HOME").then(|| home.path().display().to_string());
        let policy = TlsPolicy::resolve(sources(None, None, None, None), home_env).unwrap();
        assert_eq!(
            (policy.mode, policy.checks()),
            (SslMode::Prefer, "not verified")
        );
        let policy =
            TlsPolicy::resolve(sources(Some("require"), None, None, None), home_env).unwrap();
        assert_eq!(
            (policy.mode, policy.checks()),
            (SslMode::Require, "not verified")
        );
    }

    #[test]
    fn the_connection_string_wins_over_the_file_and_the_file_over_the_environment() {
        let env = |name: &str| (name == "PGSSLMODE").then(|| "disable".to_string());
        let from = |conninfo, file| {
            TlsPolicy::resolve(sources(conninfo, None, file, None), env)
                .unwrap()
                .mode
        };
        assert_eq!(
            from(Some("require"), Some(SslMode::Allow)),
            SslMode::Require
        );
        assert_eq!(from(None, Some(SslMode::Allow)), SslMode::Allow);
        assert_eq!(from(None, None), SslMode::Disable);
        let bad = |name: &str| (name == "PGSSLMODE").then(|| "on".to_string());
        let err = TlsPolicy::resolve(sources(None, None, None, None), bad)
            .err()
            .unwrap();
        assert!(err.starts_with("PGSSLMODE: sslmode \"on\""), "{err}");
    }

    #[test]
    fn a_root_file_makes_require_check_the_chain_and_verify_full_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, ca_pem()).unwrap();
        let ca_str = ca.to_str().unwrap();
        let checks = |mode: &str| {
            TlsPolicy::resolve(sources(Some(mode), Some(ca_str), None, None), no_env)
                .unwrap()
                .checks()
        };
        assert_eq!(checks("require"), "verify-ca");
        assert_eq!(checks("prefer"), "verify-ca");
        assert_eq!(checks("verify-ca"), "verify-ca");
        assert_eq!(checks("verify-full"), "verify-full");
        assert_eq!(checks("disable"), "not verified");
        // The config file's root file, and libpq's default one.
        let policy =
            TlsPolicy::resolve(sources(Some("verify-full"), None, None, Some(&ca)), no_env);
        assert_eq!(policy.unwrap().checks(), "verify-full");
        std::fs::create_dir(dir.path().join(".postgresql")).unwrap();
        std::fs::copy(&ca, dir.path().join(".postgresql/root.crt")).unwrap();
        let home = |name: &str| (name == "HOME").then(|| dir.path().display().to_string());
        let policy = TlsPolicy::resolve(sources(Some("require"), None, None, None), home);
        assert_eq!(policy.unwrap().checks(), "verify-ca");
    }

    #[test]
    fn verifying_without_a_root_file_says_where_to_get_one() {
        let home = tempfile::tempdir().unwrap();
        let home_env = |name: &str| (name == "HOME").then(|| home.path().display().to_string());
        let err = TlsPolicy::resolve(sources(Some("verify-ca"), None, None, None), home_env)
            .err()
            .unwrap();
        assert!(
            err.contains("~/.postgresql/root.crt does not exist"),
            "{err}"
        );
        assert!(err.contains("sslrootcert=/path/to/ca.pem"), "{err}");

        let missing = home.path().join("nope.pem");
        let err = TlsPolicy::resolve(
            sources(Some("require"), missing.to_str(), None, None),
            no_env,
        )
        .err()
        .unwrap();
        assert!(
            err.ends_with("nope.pem does not exist: check sslrootcert"),
            "{err}"
        );

        let empty = home.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = TlsPolicy::resolve(sources(None, empty.to_str(), None, None), no_env)
            .err()
            .unwrap();
        assert!(err.ends_with("holds no usable certificate"), "{err}");
    }

    #[test]
    fn system_roots_allow_only_verify_full() {
        let err = TlsPolicy::resolve(sources(Some("require"), Some("system"), None, None), no_env)
            .err()
            .unwrap();
        assert_eq!(
            err,
            "sslmode=require may not be used with sslrootcert=system: \
             use sslmode=verify-full (the default with it)"
        );
        // Whether this machine has roots or not, the mode is verify-full.
        if let Ok(policy) = TlsPolicy::resolve(sources(None, Some("system"), None, None), no_env) {
            assert_eq!(policy.checks(), "verify-full");
        }
    }
}
