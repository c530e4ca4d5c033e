//! TLS to the gateway with rustls (ring): the CA to trust (else the public web
//! roots built in) and a client certificate for mTLS.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::anyhow;
use rustls::{
    ClientConfig, RootCertStore,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
};
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

/// A PEM file read into memory; `Debug` shows the path only (it may be a key).
#[derive(Clone)]
struct Pem {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())
    }
}

impl Pem {
    fn read(flag: &str, path: &Path) -> anyhow::Result<Pem> {
        let bytes = std::fs::read(path).map_err(|e| anyhow!("cannot read {flag} {}: {e}", path.display()))?;
        Ok(Pem { path: path.to_owned(), bytes })
    }

    /// At least one certificate, all well-formed.
    fn certificates(flag: &str, path: &Path) -> anyhow::Result<Pem> {
        let pem = Self::read(flag, path)?;
        let mut count = 0;
        for cert in CertificateDer::pem_slice_iter(&pem.bytes) {
            cert.map_err(|e| anyhow!("{flag} {}: not a PEM certificate ({e})", path.display()))?;
            count += 1;
        }
        if count == 0 {
            anyhow::bail!(
                "{flag} {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
                path.display()
            );
        }
        Ok(pem)
    }

    /// A private key (PKCS#8, PKCS#1 or SEC1).
    fn key(flag: &str, path: &Path) -> anyhow::Result<Pem> {
        let pem = Self::read(flag, path)?;
        PrivateKeyDer::from_pem_slice(&pem.bytes)
            .map_err(|e| anyhow!("{flag} {}: no usable PEM private key ({e})", path.display()))?;
        Ok(pem)
    }
}

/// TLS files given on the command line. `Debug` shows their paths only.
#[derive(Debug, Clone)]
pub struct ClientTls {
    ca: Option<Pem>,
    identity: Option<(Pem, Pem)>,
}

impl ClientTls {
    /// Reads and checks the files; `None` when none is given. Each error is one
    /// line naming the file (or the missing half of a certificate and key).
    pub fn load(
        ca: Option<&Path>,
        cert: Option<&Path>,
        key: Option<&Path>,
    ) -> anyhow::Result<Option<ClientTls>> {
        let identity = match (cert, key) {
            (Some(cert), Some(key)) => {
                Some((Pem::certificates("--tls-cert", cert)?, Pem::key("--tls-key", key)?))
            }
            (Some(cert), None) => {
                anyhow::bail!("--tls-cert {} needs its key: --tls-key (or TARIFF_TLS_KEY)", cert.display())
            }
            (None, Some(key)) => {
                anyhow::bail!(
                    "--tls-key {} needs its certificate: --tls-cert (or TARIFF_TLS_CERT)",
                    key.display()
                )
            }
            (None, None) => None,
        };
        let ca = ca.map(|path| Pem::certificates("--tls-ca", path)).transpose()?;
        if ca.is_none() && identity.is_none() {
            return Ok(None);
        }
        Ok(Some(ClientTls { ca, identity }))
    }

    /// The files, for an error about them as a whole.
    pub fn files(&self) -> String {
        let mut files: Vec<String> = Vec::new();
        if let Some(ca) = &self.ca {
            files.push(format!("--tls-ca {}", ca.path.display()));
        }
        if let Some((cert, key)) = &self.identity {
            files.push(format!("--tls-cert {}", cert.path.display()));
            files.push(format!("--tls-key {}", key.path.display()));
        }
        files.join(", ")
    }
}

/// tonic's client configuration: the given CA, or else the public web roots;
/// the client certificate when given. The server name checked is the host of
/// the address (an IP address is checked against the certificate's IP names).
pub fn config(tls: Option<&ClientTls>) -> ClientTlsConfig {
    let mut config = ClientTlsConfig::new();
    config = match tls.and_then(|tls| tls.ca.as_ref()) {
        Some(ca) => config.ca_certificate(Certificate::from_pem(&ca.bytes)),
        None => config.with_webpki_roots(),
    };
    if let Some((cert, key)) = tls.and_then(|tls| tls.identity.as_ref()) {
        config = config.identity(Identity::from_pem(&cert.bytes, &key.bytes));
    }
    config
}

/// The same trust and identity as a rustls configuration of our own, for
/// [`super::handshake::probe`]; `None` if it cannot be built (tonic then says why).
pub fn rustls_config(tls: Option<&ClientTls>) -> Option<ClientConfig> {
    let roots = match tls.and_then(|tls| tls.ca.as_ref()) {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(CertificateDer::pem_slice_iter(&ca.bytes).filter_map(Result::ok));
            roots
        }
        None => RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() },
    };
    let builder = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots);
    let mut config = match tls.and_then(|tls| tls.identity.as_ref()) {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(&cert.bytes).collect::<Result<Vec<_>, _>>().ok()?;
            let key = PrivateKeyDer::from_pem_slice(&key.bytes).ok()?;
            builder.with_client_auth_cert(chain, key).ok()?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Some(config)
}
