//! TLS for the gateway with rustls (the `ring` provider): a server certificate
//! and key, and optionally a client CA that every client must present a
//! certificate signed by (mTLS).

use std::{
    fmt,
    path::{Path, PathBuf},
    time::Duration,
};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

/// How long a client may take over the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A certificate, key or CA could not be used; the message names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    #[error("cannot read {what} {}: {error}", path.display())]
    Read { what: &'static str, path: PathBuf, error: std::io::Error },
    #[error("{what} {origin}: {reason}")]
    Invalid { what: &'static str, origin: String, reason: String },
}

/// Where a PEM came from, for errors and logs.
#[derive(Clone)]
struct Pem {
    origin: String,
    bytes: Vec<u8>,
}

impl Pem {
    fn read(what: &'static str, path: &Path) -> Result<Pem, TlsConfigError> {
        let bytes = std::fs::read(path).map_err(|error| TlsConfigError::Read {
            what,
            path: path.to_owned(),
            error,
        })?;
        Ok(Pem { origin: path.display().to_string(), bytes })
    }

    fn inline(bytes: impl Into<Vec<u8>>) -> Pem {
        Pem { origin: "(inline PEM)".to_owned(), bytes: bytes.into() }
    }

    fn invalid(&self, what: &'static str, reason: impl fmt::Display) -> TlsConfigError {
        TlsConfigError::Invalid { what, origin: self.origin.clone(), reason: reason.to_string() }
    }

    /// At least one certificate, all of them well-formed.
    fn check_certificates(&self, what: &'static str) -> Result<(), TlsConfigError> {
        let mut count = 0;
        for cert in CertificateDer::pem_slice_iter(&self.bytes) {
            cert.map_err(|e| self.invalid(what, format_args!("not a PEM certificate ({e})")))?;
            count += 1;
        }
        if count == 0 {
            return Err(self.invalid(what, "no PEM certificate (-----BEGIN CERTIFICATE-----) in it"));
        }
        Ok(())
    }

    /// A private key (PKCS#8, PKCS#1 or SEC1).
    fn check_key(&self, what: &'static str) -> Result<(), TlsConfigError> {
        PrivateKeyDer::from_pem_slice(&self.bytes)
            .map(drop)
            .map_err(|e| self.invalid(what, format_args!("no usable PEM private key ({e})")))
    }
}

/// TLS settings of the gateway. `Debug` shows where the files came from, never
/// the key.
#[derive(Clone)]
pub struct TlsSettings {
    cert: Pem,
    key: Pem,
    client_ca: Option<Pem>,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("cert", &self.cert.origin)
            .field("key", &self.key.origin)
            .field("client_ca", &self.client_ca.as_ref().map(|ca| &ca.origin))
            .finish()
    }
}

impl TlsSettings {
    /// Reads and checks the server certificate chain and key, and the client CA
    /// if mTLS is wanted. Errors name the file at fault.
    pub fn load(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<TlsSettings, TlsConfigError> {
        let cert = Pem::read("TLS certificate file", cert)?;
        let key = Pem::read("TLS key file", key)?;
        let client_ca = client_ca.map(|path| Pem::read("TLS client CA file", path)).transpose()?;
        Self::checked(cert, key, client_ca)
    }

    /// The same from PEM text in memory (tests, secrets handed over otherwise).
    pub fn from_pem(
        cert: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
        client_ca: Option<Vec<u8>>,
    ) -> Result<TlsSettings, TlsConfigError> {
        Self::checked(Pem::inline(cert), Pem::inline(key), client_ca.map(Pem::inline))
    }

    fn checked(cert: Pem, key: Pem, client_ca: Option<Pem>) -> Result<TlsSettings, TlsConfigError> {
        cert.check_certificates("TLS certificate file")?;
        key.check_key("TLS key file")?;
        if let Some(ca) = &client_ca {
            ca.check_certificates("TLS client CA file")?;
        }
        let settings = TlsSettings { cert, key, client_ca };
        // Build the rustls configuration once now, so a key that does not match
        // its certificate stops the start with the files named.
        Server::builder().tls_config(settings.server_config()).map_err(|e| TlsConfigError::Invalid {
            what: "TLS certificate and key",
            origin: format!("{} and {}", settings.cert.origin, settings.key.origin),
            reason: error_chain(&e),
        })?;
        Ok(settings)
    }

    /// Whether clients must present a certificate signed by the client CA.
    pub fn mtls(&self) -> bool {
        self.client_ca.is_some()
    }

    /// tonic's server configuration. With a client CA, a client certificate is
    /// required (`client_auth_optional(false)`): a client without one signed by
    /// that CA fails the handshake.
    pub(crate) fn server_config(&self) -> ServerTlsConfig {
        install_crypto_provider();
        let config = ServerTlsConfig::new()
            .identity(Identity::from_pem(&self.cert.bytes, &self.key.bytes))
            .timeout(HANDSHAKE_TIMEOUT);
        match &self.client_ca {
            Some(ca) => config.client_ca_root(Certificate::from_pem(&ca.bytes)).client_auth_optional(false),
            None => config,
        }
    }
}

/// Makes ring the process's rustls provider unless one is installed already, so
/// the choice does not hang on which rustls features other crates enable.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An error and its sources on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use rcgen::{CertificateParams, KeyPair};

    use super::*;

    fn self_signed() -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_owned()]).unwrap().self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn accepts_a_matching_certificate_and_key() {
        let (cert, key) = self_signed();
        let settings = TlsSettings::from_pem(cert.clone(), key.clone(), None).unwrap();
        assert!(!settings.mtls());
        assert!(TlsSettings::from_pem(cert.clone(), key, Some(cert.into_bytes())).unwrap().mtls());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let (cert, key) = self_signed();
        let debug = format!("{:?}", TlsSettings::from_pem(cert, key.clone(), None).unwrap());
        assert!(!debug.contains("PRIVATE KEY") && !debug.contains(&key[40..80]), "{debug}");
    }

    #[test]
    fn missing_files_are_named() {
        let (cert, key) = self_signed();
        let dir = tempfile::tempdir().unwrap();
        let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert_path, cert).unwrap();
        std::fs::write(&key_path, key).unwrap();
        let missing = dir.path().join("missing.pem");
        for (c, k, ca, what) in [
            (&missing, &key_path, None, "TLS certificate file"),
            (&cert_path, &missing, None, "TLS key file"),
            (&cert_path, &key_path, Some(missing.as_path()), "TLS client CA file"),
        ] {
            let error = TlsSettings::load(c, k, ca).unwrap_err().to_string();
            assert!(error.starts_with(&format!("cannot read {what} {}: ", missing.display())), "{error}");
        }
        assert!(TlsSettings::load(&cert_path, &key_path, Some(&cert_path)).is_ok());
    }

    #[test]
    fn unusable_contents_are_refused_with_the_file_named() {
        let (cert, key) = self_signed();
        let (other_cert, _) = self_signed();
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let (cert_path, key_path) = (write("cert.pem", &cert), write("key.pem", &key));
        let (garbage, other) = (write("garbage.pem", "not pem at all\n"), write("other.pem", &other_cert));
        for (c, k, ca, expected) in [
            (
                &garbage,
                &key_path,
                None,
                format!("TLS certificate file {}: no PEM certificate", garbage.display()),
            ),
            (
                &cert_path,
                &garbage,
                None,
                format!("TLS key file {}: no usable PEM private key", garbage.display()),
            ),
            (
                &cert_path,
                &cert_path,
                None,
                format!("TLS key file {}: no usable PEM private key", cert_path.display()),
            ),
            (
                &cert_path,
                &key_path,
                Some(&garbage),
                format!("TLS client CA file {}: no PEM certificate", garbage.display()),
            ),
            (
                &other,
                &key_path,
                None,
                format!("TLS certificate and key {} and {}: ", other.display(), key_path.display()),
            ),
        ] {
            let error = TlsSettings::load(c, k, ca.map(|p| p.as_path())).unwrap_err().to_string();
            assert!(error.starts_with(&expected), "{error}\nexpected: {expected}");
            assert!(!error.contains('\n'), "{error}");
        }
    }
}
