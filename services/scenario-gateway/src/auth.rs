//! Bearer-token authentication of `tariff.v1.ScenarioService` calls.
//!
//! Tokens come from a file (`--tokens-file`) and/or the `TARIFF_TOKENS`
//! environment variable. Only their SHA-256 digests are kept: a presented token
//! is hashed and compared with every stored digest in constant time, so neither
//! the length nor the content of a token leaks through timing, and no token can
//! reach a log line or a `Debug` output.

use std::{
    fmt,
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use tonic::{Request, Status, metadata::MetadataMap, service::Interceptor};

/// The environment variable with comma-separated tokens (environment only: a
/// flag would show the tokens in process listings).
pub const TOKENS_ENV: &str = "TARIFF_TOKENS";

/// The longest token name, in bytes.
const MAX_NAME: usize = 64;

/// A token could not be loaded; the message never contains a token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read tokens file {}: {error}", path.display())]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{origin}, {place}: {reason}")]
    Syntax { origin: String, place: String, reason: &'static str },
    #[error("{origin} holds no tokens (only blank lines and comments)")]
    Empty { origin: String },
}

/// What a call may do, as the authenticator leaves it in the request's
/// extensions for the handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Tokens are off: everything.
    Open,
    /// A token with the read role: run scenarios, follow jobs, read datasets.
    Read,
    /// A token with the write role: also upload and delete datasets.
    Write,
}

/// The name suffix that gives a token the write role (`ops+write:TOKEN`).
pub const WRITE_SUFFIX: &str = "+write";

/// One accepted token: its SHA-256 digest and the label logs use for it.
#[derive(Clone)]
pub struct Token {
    digest: [u8; 32],
    name: Option<String>,
    /// Whether the token has the write role.
    write: bool,
    /// The name, or where the token was read (`tokens-file:3`, `TARIFF_TOKENS:2`).
    label: String,
}

impl Token {
    /// What logs may say about the token's holder: its name, or where it was read.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// What calls with this token may do.
    pub fn access(&self) -> Access {
        if self.write { Access::Write } else { Access::Read }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "Token({name})"),
            None => f.write_str("Token(<redacted>)"),
        }
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The tokens a gateway accepts.
#[derive(Clone, Debug, Default)]
pub struct TokenSet {
    tokens: Vec<Token>,
}

impl TokenSet {
    /// Tokens one per line: blank lines and lines starting with `#` are
    /// skipped, `name:token` names a token (split at the first `:`, so a token
    /// containing `:` needs a name); a name ending in `+write` (`ops+write:TOKEN`)
    /// gives the token the write role (uploading and deleting datasets), every
    /// other token has the read role. `origin` names the text in errors.
    pub fn parse_lines(text: &str, origin: &str) -> Result<TokenSet, TokenError> {
        Self::parse(text.lines(), origin, "line", "tokens-file")
    }

    /// Tokens separated by commas, each entry with the syntax of a line of
    /// [`TokenSet::parse_lines`].
    pub fn parse_list(text: &str, origin: &str) -> Result<TokenSet, TokenError> {
        Self::parse(text.split(','), origin, "entry", origin)
    }

    /// The tokens of a file; the file must hold at least one.
    pub fn from_file(path: &Path) -> Result<TokenSet, TokenError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| TokenError::Read { path: path.to_owned(), error })?;
        let origin = format!("tokens file {}", path.display());
        let tokens = Self::parse_lines(&text, &origin)?;
        if tokens.is_empty() {
            return Err(TokenError::Empty { origin });
        }
        warn_if_world_readable(path);
        Ok(tokens)
    }

    fn parse<'a>(
        entries: impl Iterator<Item = &'a str>,
        origin: &str,
        unit: &str,
        label_prefix: &str,
    ) -> Result<TokenSet, TokenError> {
        let mut tokens = Vec::new();
        for (index, entry) in entries.enumerate() {
            let number = index + 1;
            let syntax = |reason| TokenError::Syntax {
                origin: origin.to_owned(),
                place: format!("{unit} {number}"),
                reason,
            };
            let entry = entry.trim();
            if entry.is_empty() || entry.starts_with('#') {
                continue;
            }
            let (name, token) = match entry.split_once(':') {
                Some((name, token)) => (Some(name.trim()), token.trim()),
                None => (None, entry),
            };
            let write = name.is_some_and(|n| n.ends_with(WRITE_SUFFIX));
            let name = name.map(|n| n.strip_suffix(WRITE_SUFFIX).unwrap_or(n));
            if let Some(name) = name
                && (name.is_empty()
                    || name.len() > MAX_NAME
                    || !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c)))
            {
                return Err(syntax(
                    "a token name (before `:`) must be 1 to 64 letters, digits, `.`, `_`, `-` or `@`",
                ));
            }
            if token.is_empty() {
                return Err(syntax("empty token after `name:`"));
            }
            if !token.chars().all(|c| c.is_ascii_graphic()) {
                return Err(syntax("a token must be printable ASCII without spaces"));
            }
            tokens.push(Token {
                digest: digest(token),
                write,
                name: name.map(str::to_owned),
                label: name.map_or_else(|| format!("{label_prefix}:{number}"), str::to_owned),
            });
        }
        Ok(TokenSet { tokens })
    }

    /// Adds the tokens of `other`.
    pub fn extend(&mut self, other: TokenSet) {
        self.tokens.extend(other.tokens);
    }

    /// How many tokens are accepted.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The token equal to `presented`, if any. The presented token is hashed and
    /// its digest compared with every stored digest in constant time, without
    /// stopping at a match: the time taken depends on neither which token
    /// matched, nor whether one did, nor how long the presented one is.
    pub fn verify(&self, presented: &str) -> Option<&Token> {
        let presented = digest(presented);
        let mut found = Choice::from(0);
        let mut index = 0u64;
        for (i, token) in self.tokens.iter().enumerate() {
            let equal = token.digest[..].ct_eq(&presented[..]);
            index.conditional_assign(&(i as u64), equal);
            found |= equal;
        }
        if bool::from(found) { self.tokens.get(usize::try_from(index).ok()?) } else { None }
    }
}

/// The tokens of `file` and of `list` (the value of [`TOKENS_ENV`]); `None`
/// when neither is given (no authentication). A source that is given must hold
/// at least one token: a tokens file emptied by mistake fails the start rather
/// than opening the gateway.
pub fn load_tokens(file: Option<&Path>, list: Option<&str>) -> Result<Option<TokenSet>, TokenError> {
    let mut tokens = match file {
        Some(path) => Some(TokenSet::from_file(path)?),
        None => None,
    };
    if let Some(list) = list {
        let listed = TokenSet::parse_list(list, TOKENS_ENV)?;
        if listed.is_empty() {
            return Err(TokenError::Empty { origin: TOKENS_ENV.to_owned() });
        }
        tokens.get_or_insert_with(TokenSet::default).extend(listed);
    }
    Ok(tokens)
}

#[cfg(unix)]
fn warn_if_world_readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o004 != 0
    {
        tracing::warn!(path = %path.display(), "tokens file is readable by every user (chmod 600 it)");
    }
}

#[cfg(not(unix))]
fn warn_if_world_readable(_path: &Path) {}

/// Why a call carries no acceptable token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Missing,
    NotBearer,
    Unknown,
}

/// The token of an `authorization: Bearer <token>` header.
fn bearer(metadata: &MetadataMap) -> Result<&str, Refusal> {
    let value = metadata.get("authorization").ok_or(Refusal::Missing)?;
    let value = value.to_str().map_err(|_| Refusal::NotBearer)?;
    match value.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(Refusal::NotBearer),
    }
}

/// A tonic interceptor requiring a known bearer token; with no tokens it lets
/// every call through. Refusals are `UNAUTHENTICATED`, logged with the reason
/// and the peer, never with what was presented.
#[derive(Debug, Clone)]
pub struct Authenticator {
    tokens: Option<std::sync::Arc<TokenSet>>,
    service: &'static str,
}

impl Authenticator {
    /// Guards `service` (its gRPC name, for the logs) with `tokens`.
    pub fn new(tokens: Option<std::sync::Arc<TokenSet>>, service: &'static str) -> Self {
        Authenticator { tokens, service }
    }

    /// Lets every call through.
    pub fn open(service: &'static str) -> Self {
        Authenticator { tokens: None, service }
    }
}

impl Interceptor for Authenticator {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let Some(tokens) = &self.tokens else {
            request.extensions_mut().insert(Access::Open);
            return Ok(request);
        };
        let peer = request.remote_addr();
        let refusal = match bearer(request.metadata()) {
            Ok(presented) => match tokens.verify(presented) {
                Some(token) => {
                    tracing::debug!(
                        service = self.service,
                        client = token.label(),
                        peer = peer.map(tracing::field::display),
                        "auth: call authenticated"
                    );
                    let access = token.access();
                    request.extensions_mut().insert(access);
                    return Ok(request);
                }
                None => Refusal::Unknown,
            },
            Err(refusal) => refusal,
        };
        let (reason, message) = match refusal {
            Refusal::Missing => {
                ("no authorization header", "missing bearer token: send `authorization: Bearer <token>`")
            }
            Refusal::NotBearer => (
                "authorization header is not a bearer token",
                "authorization is not a bearer token: send `authorization: Bearer <token>`",
            ),
            Refusal::Unknown => ("unknown bearer token", "invalid bearer token"),
        };
        tracing::warn!(
            service = self.service,
            peer = peer.map(tracing::field::display),
            reason,
            "auth: call refused (UNAUTHENTICATED)"
        );
        Err(Status::unauthenticated(message))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use tonic::metadata::MetadataValue;

    use super::*;

    fn set(text: &str) -> TokenSet {
        TokenSet::parse_lines(text, "test").unwrap()
    }

    #[test]
    fn parses_lines_skipping_blanks_and_comments() {
        let tokens = set("# gateway tokens\n\n  alpha-1  \n   # indented comment\nci-bot:beta-2\r\n\t\n");
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens.verify("alpha-1").unwrap().label(), "tokens-file:3");
        assert_eq!(tokens.verify("beta-2").unwrap().label(), "ci-bot");
        assert!(tokens.verify("ci-bot:beta-2").is_none(), "the name is not part of the token");
    }

    #[test]
    fn a_token_with_a_colon_needs_a_name() {
        let tokens = set("ops:abc:def");
        assert_eq!(tokens.verify("abc:def").unwrap().label(), "ops");
        assert!(tokens.verify("def").is_none());
    }

    #[test]
    fn parses_comma_separated_lists() {
        let tokens = TokenSet::parse_list(" one-1 ,, web:two-2,#off,  ", TOKENS_ENV).unwrap();
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens.verify("one-1").unwrap().label(), "TARIFF_TOKENS:1");
        assert_eq!(tokens.verify("two-2").unwrap().label(), "web");
    }

    #[test]
    fn only_comments_and_blanks_are_no_tokens() {
        assert!(set("\n# nothing\n   \n").is_empty());
        assert!(set("").is_empty());
    }

    #[test]
    fn syntax_errors_name_the_line_but_never_the_token() {
        for (text, line) in [
            ("ok-1\nname:\n", "line 2"),
            ("ok-1\n:s3cret-zz\n", "line 2"),
            ("bad name:s3cret-zz", "line 1"),
            ("s3cret zz", "line 1"),
            ("\u{feff}s3cret-zz", "line 1"),
        ] {
            let message = TokenSet::parse_lines(text, "tokens file /x").unwrap_err().to_string();
            assert!(message.starts_with(&format!("tokens file /x, {line}: ")), "{message}");
            assert!(!message.contains("s3cret"), "{message}");
        }
    }

    #[test]
    fn verify_accepts_exactly_the_stored_tokens() {
        let tokens = set("alpha-token\nbeta-token\nname:gamma-token");
        assert!(tokens.verify("alpha-token").is_some());
        assert!(tokens.verify("beta-token").is_some());
        assert!(tokens.verify("gamma-token").is_some());
        for wrong in [
            "",
            "alpha",
            "alpha-toke",
            "alpha-tokenx",
            "ALPHA-TOKEN",
            " alpha-token",
            "name",
            "name:gamma-token",
        ] {
            assert!(tokens.verify(wrong).is_none(), "{wrong:?} accepted");
        }
        assert!(TokenSet::default().verify("").is_none());
        assert!(TokenSet::default().verify("alpha-token").is_none());
    }

    #[test]
    fn verify_finds_the_matching_token_wherever_it_is() {
        let tokens = set("t-1\nt-2\nt-3\nlast:t-4");
        for (presented, label) in
            [("t-1", "tokens-file:1"), ("t-2", "tokens-file:2"), ("t-3", "tokens-file:3"), ("t-4", "last")]
        {
            assert_eq!(tokens.verify(presented).unwrap().label(), label);
        }
    }

    #[test]
    fn debug_never_shows_a_token() {
        let tokens = set("s3cret-aa\nbot:s3cret-bb");
        let debug = format!("{tokens:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("Token(<redacted>)") && debug.contains("Token(bot)"), "{debug}");
    }

    #[test]
    fn load_requires_tokens_in_every_given_source() {
        assert!(load_tokens(None, None).unwrap().is_none());
        assert_eq!(load_tokens(None, Some("a-1,b-2")).unwrap().unwrap().len(), 2);
        let error = load_tokens(None, Some(" , #x")).unwrap_err().to_string();
        assert_eq!(error, "TARIFF_TOKENS holds no tokens (only blank lines and comments)");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, "# none yet\n").unwrap();
        let error = load_tokens(Some(&path), Some("a-1")).unwrap_err().to_string();
        assert!(error.contains(&path.display().to_string()) && error.contains("no tokens"), "{error}");
        std::fs::write(&path, "f-1\nname:f-2\n").unwrap();
        let tokens = load_tokens(Some(&path), Some("e-1")).unwrap().unwrap();
        assert_eq!(tokens.len(), 3);
        assert!(tokens.verify("f-2").is_some() && tokens.verify("e-1").is_some());
    }

    #[test]
    fn an_unreadable_file_is_an_error_naming_it() {
        let error = TokenSet::from_file(Path::new("/nonexistent/tokens.txt")).unwrap_err().to_string();
        assert!(error.starts_with("cannot read tokens file /nonexistent/tokens.txt: "), "{error}");
        assert!(!error.contains('\n'));
    }

    #[test]
    fn reads_the_bearer_token_of_the_authorization_header() {
        let mut metadata = MetadataMap::new();
        assert_eq!(bearer(&metadata), Err(Refusal::Missing));
        for (value, expected) in [
            ("Bearer abc", Ok("abc")),
            ("bearer  abc ", Ok("abc")),
            ("BEARER abc", Ok("abc")),
            ("Basic abc", Err(Refusal::NotBearer)),
            ("Bearer", Err(Refusal::NotBearer)),
            ("abc", Err(Refusal::NotBearer)),
        ] {
            metadata.insert("authorization", MetadataValue::try_from(value).unwrap());
            assert_eq!(bearer(&metadata), expected, "{value}");
        }
    }

    #[test]
    fn the_interceptor_refuses_without_echoing_the_token() {
        let tokens = std::sync::Arc::new(set("good-token"));
        let mut auth = Authenticator::new(Some(tokens), "test.Service");
        let with = |value: Option<&str>| {
            let mut request = Request::new(());
            if let Some(value) = value {
                request.metadata_mut().insert("authorization", MetadataValue::try_from(value).unwrap());
            }
            request
        };
        assert!(auth.call(with(Some("Bearer good-token"))).is_ok());
        for value in [None, Some("Bearer wrong-token"), Some("Token good-token")] {
            let status = auth.call(with(value)).unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unauthenticated);
            assert!(!status.message().contains("good-token"), "{}", status.message());
            assert!(!status.message().contains("wrong-token"), "{}", status.message());
        }
        assert!(Authenticator::open("test.Service").call(with(None)).is_ok());
    }
}
