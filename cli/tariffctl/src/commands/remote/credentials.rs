//! What a gateway may require of a client: a bearer token and TLS (with a
//! client certificate for mTLS). The flags, and the files and variables they
//! name, read once per command into [`Credentials`].
//!
//! The token is never a flag (it would show in process listings) and never
//! printed: [`Token`]'s `Debug` is redacted, errors about it name the variable
//! or the file and line, never its value.

use std::{
    fmt,
    path::{Path, PathBuf},
};

use anyhow::anyhow;
use clap::Args;
use tonic::metadata::{Ascii, MetadataValue};

use super::tls::ClientTls;

/// Where `--help` lists the flags below (per flag: a heading for the whole
/// struct would carry over to the flags after it).
const HEADING: &str = "Gateway credentials";

/// The environment variable holding the bearer token.
pub const TOKEN_ENV: &str = "TARIFF_TOKEN";

/// How to prove who we are to the gateway. The token itself comes from the
/// `TARIFF_TOKEN` environment variable, read when the command runs, not by
/// clap: it is in no field here, so `Debug` cannot show it.
#[derive(Debug, Clone, Default, Args)]
pub struct SecurityArgs {
    /// Read the gateway's bearer token from this file: its first line that is
    /// neither blank nor a `#` comment (of a `name:token` line, the token). Without
    /// it the token comes from the TARIFF_TOKEN environment variable; there is no
    /// flag for the token itself, so it never shows in process listings.
    #[arg(long, value_name = "PATH", help_heading = HEADING)]
    pub token_file: Option<PathBuf>,
    /// The CA certificate (PEM) that signed the gateway's certificate, trusted
    /// instead of the built-in public roots. Implies TLS: a bare HOST:PORT is
    /// reached over https.
    #[arg(long, value_name = "PATH", help_heading = HEADING, env = "TARIFF_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// A client certificate (PEM) for a gateway that requires one (mTLS); needs
    /// --tls-key. Implies TLS.
    #[arg(long, value_name = "PATH", help_heading = HEADING, env = "TARIFF_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "PATH", help_heading = HEADING, env = "TARIFF_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
}

/// A bearer token. Its `Debug` shows where it came from, never the token.
#[derive(Clone)]
pub struct Token {
    secret: String,
    origin: String,
    /// `Bearer <token>`, marked sensitive so that tonic and hyper keep it out
    /// of their own debug output.
    header: MetadataValue<Ascii>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(<redacted>, from {})", self.origin)
    }
}

impl Token {
    /// Checks the token the way the gateway does (printable ASCII, no spaces),
    /// so a bad one fails here, naming `origin`, and not as a refused call.
    fn new(secret: &str, origin: String) -> anyhow::Result<Token> {
        if secret.is_empty() {
            anyhow::bail!("{origin}: the token is empty");
        }
        if !secret.chars().all(|c| c.is_ascii_graphic()) {
            anyhow::bail!("{origin}: a token must be printable ASCII without spaces");
        }
        let mut header = MetadataValue::try_from(format!("Bearer {secret}"))
            .map_err(|_| anyhow!("{origin}: the token cannot be sent in a header"))?;
        header.set_sensitive(true);
        Ok(Token { secret: secret.to_owned(), origin, header })
    }

    /// The `authorization` header value.
    pub fn header(&self) -> MetadataValue<Ascii> {
        self.header.clone()
    }

    /// `text` with the token blanked out, for messages that come from elsewhere.
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.secret, "<redacted>")
    }
}

/// The token of a token file: its first line that is neither blank nor a
/// comment; of a `name:token` line (the gateway's tokens-file syntax), the
/// part after the first `:`.
fn token_from_file(path: &Path) -> anyhow::Result<Token> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("cannot read --token-file {}: {e}", path.display()))?;
    let found = text.lines().enumerate().find(|(_, line)| {
        let line = line.trim();
        !line.is_empty() && !line.starts_with('#')
    });
    let Some((index, line)) = found else {
        anyhow::bail!("--token-file {} holds no token (only blank lines and comments)", path.display());
    };
    let line = line.trim();
    let secret = line.split_once(':').map_or(line, |(_, token)| token.trim());
    Token::new(secret, format!("--token-file {}, line {}", path.display(), index + 1))
}

/// The token of `TARIFF_TOKEN`; unset or blank means none.
fn token_from_env() -> anyhow::Result<Option<Token>> {
    let Some(value) = std::env::var_os(TOKEN_ENV) else {
        return Ok(None);
    };
    let Some(value) = value.to_str() else {
        anyhow::bail!("{TOKEN_ENV}: a token must be printable ASCII without spaces");
    };
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    Token::new(value, TOKEN_ENV.to_owned()).map(Some)
}

/// What a command presents to the gateway.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub token: Option<Token>,
    pub tls: Option<ClientTls>,
}

impl Credentials {
    /// Reads the token (`--token-file`, else `TARIFF_TOKEN`) and the TLS files.
    /// Every error is one line naming the file or variable at fault.
    pub fn load(args: &SecurityArgs) -> anyhow::Result<Credentials> {
        let token = match &args.token_file {
            Some(path) => Some(token_from_file(path)?),
            None => token_from_env()?,
        };
        let tls = ClientTls::load(args.tls_ca.as_deref(), args.tls_cert.as_deref(), args.tls_key.as_deref())?;
        Ok(Credentials { token, tls })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn from_file(text: &str) -> anyhow::Result<Token> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, text).unwrap();
        token_from_file(&path)
    }

    #[test]
    fn the_first_token_line_of_a_file_is_the_token() {
        assert_eq!(from_file("s3cret-1\nother\n").unwrap().secret, "s3cret-1");
        assert_eq!(from_file("# comment\n\n   \n  s3cret-2  \r\n").unwrap().secret, "s3cret-2");
        assert_eq!(from_file("ci-bot:s3cret-3\n").unwrap().secret, "s3cret-3");
        assert_eq!(from_file("ops: abc:def \n").unwrap().secret, "abc:def");
        assert!(from_file("s3cret-4").unwrap().origin.ends_with(", line 1"));
        assert!(from_file("#\n\ns3cret-4").unwrap().origin.ends_with(", line 3"));
    }

    #[test]
    fn bad_token_files_are_refused_without_echoing_them() {
        for (text, expected) in [
            ("# nothing\n\n", "holds no token"),
            ("", "holds no token"),
            ("name:\n", "line 1: the token is empty"),
            ("\n\ns3cret with-space\n", "line 3: a token must be printable ASCII"),
            ("s3cret-\u{e9}\n", "line 1: a token must be printable ASCII"),
        ] {
            let message = from_file(text).unwrap_err().to_string();
            assert!(message.starts_with("--token-file "), "{message}");
            assert!(message.contains(expected), "{message}");
            assert!(!message.contains("s3cret"), "{message}");
        }
        let missing = token_from_file(Path::new("/nonexistent/token")).unwrap_err().to_string();
        assert!(missing.starts_with("cannot read --token-file /nonexistent/token: "), "{missing}");
    }

    #[test]
    fn debug_and_redact_never_show_the_token() {
        let token = Token::new("s3cret-5", "test".to_owned()).unwrap();
        let debug = format!("{:?}", Credentials { token: Some(token.clone()), tls: None });
        assert!(!debug.contains("s3cret") && debug.contains("<redacted>"), "{debug}");
        assert_eq!(token.redact("bad token s3cret-5!"), "bad token <redacted>!");
        let header = token.header();
        assert!(header.is_sensitive());
        assert_eq!(header.to_str().unwrap(), "Bearer s3cret-5");
        assert!(!format!("{header:?}").contains("s3cret"));
    }
}
