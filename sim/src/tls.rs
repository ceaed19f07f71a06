//! TLS for the simulated API server. Real clients only send bearer tokens
//! over TLS (kubectl drops them on plain HTTP), so the simulator serves
//! HTTPS with a certificate from its own throwaway CA, which the kubeconfig
//! carries as `certificate-authority-data`.

use color_eyre::eyre::{Result, WrapErr};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// A CA and a server certificate for `127.0.0.1`, `::1` and `localhost`.
pub struct SimTls {
    pub ca_pem: String,
    pub acceptor: TlsAcceptor,
}

impl SimTls {
    pub fn generate() -> Result<Self> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "cutover simulated cluster CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)
            .wrap_err("creating the simulator's CA")?;

        let mut params = CertificateParams::new(vec![
            "127.0.0.1".to_string(),
            "::1".to_string(),
            "localhost".to_string(),
        ])?;
        params
            .distinguished_name
            .push(DnType::CommonName, "cutover-sim-apiserver");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let key = KeyPair::generate()?;
        let cert = params
            .signed_by(&key, &ca)
            .wrap_err("signing the simulator's server certificate")?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone(), CertificateDer::from(ca.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .wrap_err("building the TLS configuration")?;
        // The server speaks HTTP/1.1 only; say so, so clients do not try h2.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(SimTls {
            ca_pem: ca.pem(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}
