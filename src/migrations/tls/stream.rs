//! tokio-postgres's TLS hooks, implemented with rustls: the certificate
//! checks each `sslmode` asks for, channel binding for SCRAM, and plain
//! words for what went wrong.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use ring::digest;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

use super::{SslMode, TlsPolicy};

/// What a TLS handshake agreed, once one has taken place: `TLSv1.3`.
#[derive(Clone, Default)]
pub(crate) struct Handshake(Arc<Mutex<Option<String>>>);

impl Handshake {
    pub fn protocol(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn record(&self, protocol: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(protocol);
    }
}

/// Why a TLS handshake failed, in words for the user.
#[derive(Debug)]
pub(crate) struct TlsFailure(pub String);

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsFailure {}

impl TlsFailure {
    /// The handshake failure behind a connection error, if that is what it is.
    pub fn of(e: &tokio_postgres::Error) -> Option<&TlsFailure> {
        std::error::Error::source(e)?.downcast_ref()
    }

    /// Whether the server answered that it does not do TLS at all.
    pub fn server_has_no_tls(e: &tokio_postgres::Error) -> bool {
        // tokio-postgres's own words when the server declines TLS.
        std::error::Error::source(e).is_some_and(|s| s.to_string() == "server does not support TLS")
    }
}

/// The rustls client a [`TlsPolicy`] makes, for every attempt of one
/// connection.
pub(crate) struct TlsClient {
    config: Arc<ClientConfig>,
    /// Where the trusted roots come from, for errors.
    roots: String,
}

impl TlsClient {
    pub(super) fn new(policy: &TlsPolicy) -> Result<TlsClient, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = match &policy.roots {
            None => None,
            Some(roots) => Some(
                WebPkiServerVerifier::builder_with_provider(roots.store.clone(), provider.clone())
                    .build()
                    .map_err(|e| format!("the root certificates in {}: {e}", roots.origin))?,
            ),
        };
        let verifier: Arc<dyn ServerCertVerifier> = match chain {
            Some(full) if policy.mode == SslMode::VerifyFull => full,
            chain => Arc::new(PartialCheck {
                chain,
                algorithms: provider.signature_verification_algorithms,
            }),
        };
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        // What libpq 17 sends; servers before 17 ignore it.
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(TlsClient {
            config: Arc::new(config),
            roots: policy
                .roots
                .as_ref()
                .map_or_else(String::new, |r| r.origin.clone()),
        })
    }

    /// tokio-postgres's connector for one attempt, and what its handshake
    /// agrees, if one takes place.
    pub fn connector(&self) -> (MakeRustlsConnect, Handshake) {
        let handshake = Handshake::default();
        let connector = MakeRustlsConnect {
            config: self.config.clone(),
            roots: self.roots.clone(),
            handshake: handshake.clone(),
        };
        (connector, handshake)
    }
}

/// Makes the TLS session of one connection attempt.
#[derive(Clone)]
pub(crate) struct MakeRustlsConnect {
    config: Arc<ClientConfig>,
    roots: String,
    handshake: Handshake,
}

impl<S> MakeTlsConnect<S> for MakeRustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = TlsFailure;

    fn make_tls_connect(&mut self, host: &str) -> Result<RustlsConnect, TlsFailure> {
        let name = ServerName::try_from(host.to_string()).map_err(|_| {
            TlsFailure(format!(
                "{host:?} is not a host name or address a certificate can name"
            ))
        })?;
        Ok(RustlsConnect {
            maker: self.clone(),
            name,
        })
    }
}

/// One TLS session about to be opened, to the host `name`.
pub(crate) struct RustlsConnect {
    maker: MakeRustlsConnect,
    name: ServerName<'static>,
}

type Connecting<S> = Pin<Box<dyn Future<Output = Result<RustlsStream<S>, TlsFailure>> + Send>>;

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = TlsFailure;
    type Future = Connecting<S>;

    fn connect(self, stream: S) -> Connecting<S> {
        Box::pin(async move {
            let host = self.name.to_str().into_owned();
            let maker = self.maker;
            let tls = tokio_rustls::TlsConnector::from(maker.config)
                .connect(self.name, stream)
                .await
                .map_err(|e| TlsFailure(handshake_problem(&e, &host, &maker.roots)))?;
            let session = tls.get_ref().1;
            if let Some(version) = session.protocol_version() {
                // `TLSv1_3` → `TLSv1.3`, as PostgreSQL's pg_stat_ssl says it.
                let name = version.as_str().unwrap_or("TLS").replace('_', ".");
                maker.handshake.record(name);
            }
            let end_point = session
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|cert| tls_server_end_point(cert));
            Ok(RustlsStream { tls, end_point })
        })
    }
}

/// A TLS connection, with what SCRAM binds to it.
pub(crate) struct RustlsStream<S> {
    tls: tokio_rustls::client::TlsStream<S>,
    end_point: Option<Vec<u8>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tls).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tls).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tls).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tls).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        match &self.end_point {
            Some(hash) => ChannelBinding::tls_server_end_point(hash.clone()),
            None => ChannelBinding::none(),
        }
    }
}

/// The checks below webpki's full one: none of the certificate (`chain:
/// None`, for `require` and `prefer` without a root file), or of its chain
/// but not its names (`verify-ca`, and `require` or `prefer` with a root
/// file). The handshake's signatures are always checked.
#[derive(Debug)]
struct PartialCheck {
    chain: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PartialCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // webpki checks the chain first: a name error means the chain is good.
        match chain.verify_server_cert(end_entity, intermediates, name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            checked => checked,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// What went wrong in a handshake with `host`, checked against `roots`.
fn handshake_problem(e: &io::Error, host: &str, roots: &str) -> String {
    match e.get_ref().and_then(|inner| inner.downcast_ref()) {
        Some(rustls::Error::InvalidCertificate(problem)) => {
            certificate_problem(problem, host, roots)
        }
        Some(rustls::Error::AlertReceived(alert)) => {
            format!("the server ended the TLS handshake ({alert:?})")
        }
        Some(other) => format!("the TLS handshake failed: {other}"),
        None => format!("the TLS handshake failed: {e}"),
    }
}

fn certificate_problem(problem: &CertificateError, host: &str, roots: &str) -> String {
    use CertificateError::*;
    match problem {
        NotValidForNameContext { presented, .. } => {
            let names: Vec<&str> = presented.iter().filter_map(|n| plain_name(n)).collect();
            let holds = match names.as_slice() {
                [] => " (it names no host)".to_string(),
                names => format!(" (it is for {})", names.join(", ")),
            };
            format!(
                "the server certificate is not valid for host {host}{holds}: \
                 check the host name or use sslmode=verify-ca"
            )
        }
        NotValidForName => format!(
            "the server certificate is not valid for host {host}: \
             check the host name or use sslmode=verify-ca"
        ),
        UnknownIssuer => format!(
            "the server certificate is not signed by an authority in {roots}: \
             check sslrootcert (the certificate of the authority that signed the server's)"
        ),
        Expired | ExpiredContext { .. } => {
            "the server certificate has expired: renew it on the server".to_string()
        }
        NotValidYet | NotValidYetContext { .. } => {
            "the server certificate is not valid yet: check this machine's clock and the server's"
                .to_string()
        }
        other => format!("the server certificate is refused: {other}"),
    }
}

/// `DnsName("db.example")` → `db.example`, `IpAddress(127.0.0.1)` →
/// `127.0.0.1`: webpki's names for what a certificate holds.
fn plain_name(presented: &str) -> Option<&str> {
    presented
        .strip_prefix("DnsName(\"")
        .and_then(|n| n.strip_suffix("\")"))
        .or_else(|| {
            presented
                .strip_prefix("IpAddress(")
                .and_then(|n| n.strip_suffix(')'))
        })
}

/// RFC 5929's `tls-server-end-point` for SCRAM-SHA-256-PLUS, as PostgreSQL
/// computes it: the certificate's hash by its signature's hash algorithm,
/// SHA-256 for MD5 and SHA-1. None for signatures without one of those
/// (Ed25519, RSA-PSS): SCRAM then goes without channel binding.
fn tls_server_end_point(cert: &[u8]) -> Option<Vec<u8>> {
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04];
    let algorithm = match signature_algorithm(cert)? {
        // md5, sha1, sha256, sha384, sha512 WithRSAEncryption
        [rsa @ .., last] if rsa == RSA => match last {
            0x04 | 0x05 | 0x0b => &digest::SHA256,
            0x0c => &digest::SHA384,
            0x0d => &digest::SHA512,
            _ => return None,
        },
        // ecdsa-with-SHA1
        [ecdsa @ .., 0x01] if ecdsa == ECDSA => &digest::SHA256,
        // ecdsa-with-SHA256, -SHA384, -SHA512
        [ecdsa @ .., 0x03, n] if ecdsa == ECDSA => match n {
            0x02 => &digest::SHA256,
            0x03 => &digest::SHA384,
            0x04 => &digest::SHA512,
            _ => return None,
        },
        _ => return None,
    };
    Some(digest::digest(algorithm, cert).as_ref().to_vec())
}

/// The `signatureAlgorithm` OID of a DER certificate:
/// `SEQUENCE { tbsCertificate, SEQUENCE { OID, … }, signature }`.
fn signature_algorithm(cert: &[u8]) -> Option<&[u8]> {
    let (_, certificate, _) = der_element(cert)?;
    let (_, _tbs, rest) = der_element(certificate)?;
    let (_, algorithm, _) = der_element(rest)?;
    match der_element(algorithm)? {
        (0x06, oid, _) => Some(oid),
        _ => None,
    }
}

/// The first DER element of `data`: its tag, its contents and what follows.
fn der_element(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = data.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (len, rest) = rest.split_at(n);
        let len = len.iter().fold(0, |acc, &b| acc << 8 | usize::from(b));
        (len, rest)
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_point_hash_follows_the_signature_algorithm() {
        let cert = |alg: &'static rcgen::SignatureAlgorithm| {
            let key = rcgen::KeyPair::generate_for(alg).unwrap();
            let params = rcgen::CertificateParams::new(vec!["db.example".to_string()]).unwrap();
            params.self_signed(&key).unwrap().der().to_vec()
        };
        let p256 = cert(&rcgen::PKCS_ECDSA_P256_SHA256);
        assert_eq!(
            tls_server_end_point(&p256),
            Some(digest::digest(&digest::SHA256, &p256).as_ref().to_vec())
        );
        let p384 = cert(&rcgen::PKCS_ECDSA_P384_SHA384);
        assert_eq!(
            tls_server_end_point(&p384),
            Some(digest::digest(&digest::SHA384, &p384).as_ref().to_vec())
        );
        let ed25519 = cert(&rcgen::PKCS_ED25519);
        assert_eq!(tls_server_end_point(&ed25519), None, "no hash of its own");
        assert_eq!(tls_server_end_point(b"\x30\x03\x02\x01"), None, "not DER");
    }

    #[test]
    fn certificate_problems_read_as_advice() {
        let wrong_host = CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("db.example").unwrap(),
            presented: vec![
                "DnsName(\"localhost\")".to_string(),
                "IpAddress(127.0.0.1)".to_string(),
            ],
        };
        assert_eq!(
            certificate_problem(&wrong_host, "db.example", "ca.pem"),
            "the server certificate is not valid for host db.example (it is for localhost, 127.0.0.1): \
             check the host name or use sslmode=verify-ca"
        );
        assert_eq!(
            certificate_problem(&CertificateError::UnknownIssuer, "db", "/etc/ca.pem"),
            "the server certificate is not signed by an authority in /etc/ca.pem: \
             check sslrootcert (the certificate of the authority that signed the server's)"
        );
    }
}
