//! Whether a name or a value is a credential, and which signal says so.
//!
//! Three signals, each named in the finding (never the value):
//!
//! 1. **exact names** the policy gives (`guard.names`, and every
//!    `requiredSources` variable);
//! 2. **name tokens**: the name is split on `_`, `-`, `.` and case changes
//!    (`dbPassword` → `DB PASSWORD`), and a token sequence of the policy's
//!    `sensitiveNames` must appear in it (`API_KEY` matches `X_API_KEY` and
//!    `apiKey`, not `CAPITAL_KEYS`). A name whose *last* token names a place
//!    or a label rather than a value (`_FILE`, `_URL`, `_NAME`, `_HEADER`,
//!    `_TTL`, … see [`LABEL_SUFFIXES`]) does not count;
//! 3. **the value**: known credential formats ([`FORMATS`]), the policy's
//!    `sensitiveValues` (by default a URL with `user:password@`), the same
//!    inside a base64-decoded value, and a high-entropy value under a
//!    key-like name (`ENCRYPTION_KEY`, `SIGNING_KEY`, `SALT`).
//!
//! Everything that runs per value is a compiled [`RegexSet`] (built once) or
//! a scan of the bytes; no value is copied unless it is base64 to decode.

use std::collections::HashSet;
use std::sync::LazyLock;

use base64::Engine as _;
use regex::{Regex, RegexSet};

/// The policy's `guard:` section.
#[derive(Clone, Debug)]
pub struct Guard {
    /// Names that are always secret (upper case or not; `-` reads as `_`).
    pub names: Vec<String>,
    /// Names the name rule never counts (their values are still checked).
    pub quiet_names: Vec<String>,
    /// Detect known credential formats in values.
    pub formats: bool,
    /// The entropy rule under key-like names.
    pub entropy: bool,
    pub secrets_as: SecretsAs,
}

impl Default for Guard {
    fn default() -> Self {
        Guard {
            names: Vec::new(),
            quiet_names: Vec::new(),
            formats: true,
            entropy: true,
            secrets_as: SecretsAs::Env,
        }
    }
}

/// How pods should read Secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretsAs {
    /// As env vars (`secretKeyRef`) or files: both fine (the0 reads env).
    Env,
    /// Only as files (CIS Kubernetes Benchmark 5.4.1): a Secret in an env
    /// var is reported (`secret-in-env`).
    Files,
}

/// Why a name or value counts as a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal {
    /// The policy names the variable or key exactly.
    ExactName,
    /// A token of the name is one of the policy's `sensitiveNames`.
    NameToken(String),
    /// The value has a known credential format (an id of [`FORMATS`]).
    Format(&'static str),
    /// The value is base64, and what it decodes to has a known format (or
    /// matches the policy's `sensitiveValues`).
    Encoded(&'static str),
    /// The value matches one of the policy's `sensitiveValues`.
    PolicyValue,
    /// A long random-looking value under a key-like name.
    Entropy(String),
}

impl Signal {
    /// For messages: what fired, with nothing of the value.
    pub fn describe(&self) -> String {
        match self {
            Signal::ExactName => "the policy names it as a secret".into(),
            Signal::NameToken(t) => format!("its name has the token `{t}`"),
            Signal::Format(id) => format!("its value has the format of {}", format_name(id)),
            Signal::Encoded(id) => {
                format!("its value is base64 of {}", format_name(id))
            }
            Signal::PolicyValue => {
                "its value matches the policy's sensitiveValues (such as a URL with user:password@)"
                    .into()
            }
            Signal::Entropy(t) => {
                format!("its name has the token `{t}` and its value is long and random-looking, like a key")
            }
        }
    }
}

/// Known credential formats: id, what it is, pattern. After the rules of
/// gitleaks' default configuration (config/gitleaks.toml, MIT licence,
/// github.com/gitleaks/gitleaks), narrowed to the formats a pod spec
/// plausibly carries; each pattern is anchored on a fixed prefix, so one
/// pass of the set over a value costs little.
pub const FORMATS: &[(&str, &str, &str)] = &[
    (
        "private-key",
        "a PEM private key",
        r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----",
    ),
    (
        "aws-access-key-id",
        "an AWS access key id",
        r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",
    ),
    (
        "github-token",
        "a GitHub token",
        r"\b(?:gh[pousr]_[0-9A-Za-z]{36}|github_pat_[0-9A-Za-z_]{82})\b",
    ),
    (
        "gitlab-token",
        "a GitLab token",
        r"\b(?:gl(?:pat|dt|rt)-[0-9A-Za-z_-]{20}|glptt-[0-9a-f]{40}|GR1348941[0-9A-Za-z_-]{20})\b",
    ),
    (
        "slack-token",
        "a Slack token",
        r"\b(?:xox[bpeaors]-[0-9]{10,13}-[0-9A-Za-z-]{10,}|xapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-z0-9]+)",
    ),
    (
        "slack-webhook",
        "a Slack webhook URL",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,56}",
    ),
    (
        "discord-webhook",
        "a Discord webhook URL",
        r"discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,80}",
    ),
    (
        "telegram-bot-token",
        "a Telegram bot token",
        r"\b[0-9]{5,16}:A[A-Za-z0-9_-]{34}\b",
    ),
    (
        "jwt",
        "a JSON Web Token",
        r"\bey[A-Za-z0-9]{17,}\.ey[A-Za-z0-9/_-]{17,}\.(?:[A-Za-z0-9/_-]{10,}={0,2})?",
    ),
    (
        "stripe-key",
        "a Stripe secret key",
        r"\b(?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,99}\b",
    ),
    (
        "google-api-key",
        "a Google API key",
        r"\bAIza[0-9A-Za-z_-]{35}\b",
    ),
    (
        "npm-token",
        "an npm access token",
        r"\bnpm_[A-Za-z0-9]{36}\b",
    ),
    (
        "sendgrid-key",
        "a SendGrid API key",
        r"\bSG\.[A-Za-z0-9=_.-]{66}\b",
    ),
];

fn format_name(id: &str) -> &'static str {
    FORMATS
        .iter()
        .find(|(i, _, _)| *i == id)
        .map_or("a credential", |(_, name, _)| *name)
}

static FORMAT_SET: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(FORMATS.iter().map(|(_, _, p)| *p)).expect("the formats compile")
});

/// Last tokens that name where a value is or what labels it, not the value:
/// `DB_PASSWORD_FILE`, `TOKEN_URL`, `SECRET_NAME`, `API_KEY_HEADER`,
/// `TOKEN_TTL`, `PASSWORD_MIN_LENGTH`, `AUTH_ENABLED`.
pub const LABEL_SUFFIXES: &[&str] = &[
    "FILE",
    "FILES",
    "PATH",
    "DIR",
    "DIRECTORY",
    "NAME",
    "NAMES",
    "URL",
    "URI",
    "ENDPOINT",
    "HOST",
    "PORT",
    "HEADER",
    "PARAM",
    "FIELD",
    "REF",
    "PREFIX",
    "SUFFIX",
    "TTL",
    "LENGTH",
    "LEN",
    "EXPIRY",
    "EXPIRATION",
    "LIFETIME",
    "TIMEOUT",
    "INTERVAL",
    "SECONDS",
    "AGE",
    "ENABLED",
    "ENABLE",
    "DISABLED",
    "DISABLE",
    "REQUIRED",
    "MODE",
    "TYPE",
    "KIND",
    "FORMAT",
    "ALGORITHM",
    "METHOD",
    "PROVIDER",
    "ISSUER",
    "AUDIENCE",
    "SCOPE",
    "SCOPES",
    "POLICY",
    "VERSION",
    "COUNT",
    "SIZE",
    "LIMIT",
    "MIN",
    "MAX",
    "USER",
    "USERNAME",
    "EMAIL",
    "KEYS",
    "REGEX",
    "REGEXP",
    "PATTERN",
    "PATTERNS",
    "PATHS",
    "ROUTES",
];

/// Tokens that make a name key-like, so a random-looking value under it
/// counts (the entropy rule); a name with one of [`NOT_KEY`] does not.
const KEY_LIKE: &[&str] = &[
    "KEY",
    "SALT",
    "SEED",
    "SIGNING",
    "ENCRYPTION",
    "CIPHER",
    "HMAC",
    "ACCESS",
];
const NOT_KEY: &[&str] = &[
    "PUBLIC",
    "PUB",
    "PUBLISHABLE",
    "ID",
    "CERT",
    "CERTIFICATE",
    "FINGERPRINT",
];

/// The name side of a policy, prepared once per run.
#[derive(Debug, Default)]
pub struct Names {
    /// Upper case, `-` as `_`.
    exact: HashSet<String>,
    quiet: HashSet<String>,
    /// Each `sensitiveNames` entry, as tokens.
    words: Vec<Vec<String>>,
}

impl Names {
    pub fn new<'a>(
        words: impl IntoIterator<Item = &'a str>,
        exact: impl IntoIterator<Item = &'a str>,
        quiet: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        Names {
            exact: exact.into_iter().map(normalize).collect(),
            quiet: quiet.into_iter().map(normalize).collect(),
            words: words
                .into_iter()
                .map(|w| tokens(w).iter().map(|t| t.to_ascii_uppercase()).collect())
                .filter(|w: &Vec<String>| !w.is_empty())
                .collect(),
        }
    }

    /// Whether the name alone marks a credential, and why.
    pub fn signal(&self, name: &str) -> Option<Signal> {
        let upper = normalize(name);
        if self.exact.contains(&upper) {
            return Some(Signal::ExactName);
        }
        if self.quiet.contains(&upper) {
            return None;
        }
        let tokens = tokens(name);
        if tokens.last().is_some_and(|t| is_label(t)) {
            return None;
        }
        self.words
            .iter()
            .find(|w| contains_words(&tokens, w))
            .map(|w| Signal::NameToken(w.join("_")))
    }

    /// Whether a name makes a random-looking value a key: a sensitive token
    /// or a key-like one, no public/id token, and no place or label suffix.
    pub fn key_like(&self, name: &str) -> Option<String> {
        let tokens = tokens(name);
        if tokens.last().is_some_and(|t| is_label(t))
            || tokens
                .iter()
                .any(|t| NOT_KEY.iter().any(|n| t.eq_ignore_ascii_case(n)))
            || self.quiet.contains(&normalize(name))
        {
            return None;
        }
        if let Some(w) = self.words.iter().find(|w| contains_words(&tokens, w)) {
            return Some(w.join("_"));
        }
        tokens
            .iter()
            .find_map(|t| KEY_LIKE.iter().find(|k| t.eq_ignore_ascii_case(k)))
            .map(|k| k.to_string())
    }
}

fn normalize(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

fn is_label(token: &str) -> bool {
    LABEL_SUFFIXES.iter().any(|s| token.eq_ignore_ascii_case(s))
}

/// The tokens of a name: split on anything not a letter or digit, and on
/// case changes (`dbPassword`, `APIKey` → `API`, `Key`); digits stay with
/// their letters (`S3`, `THE0`).
pub fn tokens(name: &str) -> Vec<&str> {
    let b = name.as_bytes();
    let mut out = Vec::new();
    let mut start = None;
    for i in 0..=b.len() {
        let c = b.get(i).copied();
        let alnum = c.is_some_and(|c| c.is_ascii_alphanumeric());
        match (start, alnum) {
            (Some(s), false) => {
                out.push(&name[s..i]);
                start = None;
            }
            (None, true) => start = Some(i),
            (Some(s), true) => {
                let c = c.unwrap_or_default();
                let prev = b[i - 1];
                let next_lower = b.get(i + 1).is_some_and(u8::is_ascii_lowercase);
                // aB → a|B; ABc → A|Bc
                let split = c.is_ascii_uppercase()
                    && (prev.is_ascii_lowercase()
                        || (prev.is_ascii_uppercase() && next_lower && i > s));
                if split {
                    out.push(&name[s..i]);
                    start = Some(i);
                }
            }
            (None, false) => {}
        }
    }
    out
}

/// Whether `words` appear one after the other in `tokens`. One token
/// matches a word when equal (case-insensitive), plural (`SECRETS`), or,
/// for a single word of five letters or more, when it ends with the word
/// (`PGPASSWORD`, `CLIENTSECRET`, `HTPASSWD`).
fn contains_words(tokens: &[&str], words: &[String]) -> bool {
    let single = words.len() == 1;
    tokens.windows(words.len()).any(|window| {
        window.iter().zip(words).all(|(t, w)| {
            t.eq_ignore_ascii_case(w)
                || (t.len() == w.len() + 1
                    && t[..w.len()].eq_ignore_ascii_case(w)
                    && t.as_bytes()[w.len()].eq_ignore_ascii_case(&b'S'))
                || (single
                    && w.len() >= 5
                    && t.len() > w.len()
                    && t[t.len() - w.len()..].eq_ignore_ascii_case(w))
        })
    })
}

/// The value side: known formats, the policy's patterns, base64, entropy.
/// `formats`: whether the built-in formats count (the policy's `guard.formats`).
pub fn value_signal(value: &str, policy_values: &[Regex], formats: bool) -> Option<Signal> {
    let formats = |text: &str| {
        formats
            .then(|| FORMAT_SET.matches(text).iter().next())
            .flatten()
    };
    if let Some(i) = formats(value) {
        return Some(Signal::Format(FORMATS[i].0));
    }
    if policy_values.iter().any(|r| r.is_match(value)) {
        return Some(Signal::PolicyValue);
    }
    let decoded = decode_base64(value)?;
    let text = std::str::from_utf8(&decoded).ok()?;
    if let Some(i) = formats(text) {
        return Some(Signal::Encoded(FORMATS[i].0));
    }
    policy_values
        .iter()
        .any(|r| r.is_match(text))
        .then_some(Signal::Encoded("policy-value"))
}

/// A value that is base64 (standard or URL-safe) of at least 24 characters,
/// decoded; `None` for anything else. Decoding is the only copy made.
fn decode_base64(value: &str) -> Option<Vec<u8>> {
    let v = value.trim();
    if v.len() < 24
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'='))
    {
        return None;
    }
    let e = &base64::engine::general_purpose::STANDARD;
    let u = &base64::engine::general_purpose::URL_SAFE;
    e.decode(v)
        .ok()
        .or_else(|| u.decode(v).ok())
        .or_else(|| {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(v)
                .ok()
        })
        .or_else(|| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(v)
                .ok()
        })
}

/// The entropy rule: under a key-like name, a value of one word of at least
/// 16 characters from a key alphabet, with letters and digits, whose Shannon
/// entropy is at least 3.5 bits per character (gitleaks' threshold for its
/// generic-api-key rule); hex needs 32 characters (commit SHAs and image
/// digests are hex, but their names are not key-like).
pub fn random_looking(value: &str) -> bool {
    let v = value.trim();
    let key_alphabet = v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-'));
    if v.len() < 16 || !key_alphabet {
        return false;
    }
    let digits = v.bytes().any(|b| b.is_ascii_digit());
    let letters = v.bytes().any(|b| b.is_ascii_alphabetic());
    if !(digits && letters) {
        return false;
    }
    let hex = v.bytes().all(|b| b.is_ascii_hexdigit());
    if hex && v.len() < 32 {
        return false;
    }
    entropy(v) >= if hex { 3.0 } else { 3.5 }
}

fn entropy(v: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in v.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = v.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Values that cannot be a credential even under a sensitive name: empty, a
/// variable reference (`$(VAR)` the kubelet did not resolve, `${VAR}`,
/// `$VAR`), a file path, a boolean, a duration. Numbers are *not* harmless:
/// a PIN is a password (`83920174`, and `NaN` and `Infinity` too).
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    v.is_empty()
        || is_reference(v)
        || is_path(v)
        || matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off"
        )
        || is_duration(v)
}

/// An `UPPER_SNAKE_CASE` name with at least one `_`: under a sensitive name,
/// such a value that is itself a sensitive name (`DATABASE_PASSWORD`) names
/// a key or a variable rather than being a credential.
pub fn is_constant_name(v: &str) -> bool {
    let b = v.as_bytes();
    b.first().is_some_and(u8::is_ascii_uppercase)
        && b.contains(&b'_')
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
        && !v.ends_with('_')
}

/// `$(VAR)`, `${VAR}` or `$VAR`, alone or several in a row.
fn is_reference(v: &str) -> bool {
    static REF: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:\$\([A-Za-z_][A-Za-z0-9_.-]*\)|\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*)+$")
            .expect("compiles")
    });
    REF.is_match(v)
}

/// A file path, and not a base64 key that happens to start with `/` (one in
/// 64 do): only path characters, and no segment of eight or more
/// characters that mixes upper and lower case inside the word.
fn is_path(v: &str) -> bool {
    v.starts_with('/')
        && v.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-' | b'~' | b'@' | b':')
        })
        && v.split('/').all(|seg| {
            let inner = seg.get(1..).unwrap_or("");
            seg.len() < 8
                || !(inner.bytes().any(|b| b.is_ascii_uppercase())
                    && seg.bytes().any(|b| b.is_ascii_lowercase()))
        })
}

fn is_duration(v: &str) -> bool {
    let digits = v.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &v[digits.len()..];
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(unit, "ms" | "s" | "m" | "h" | "d")
}

/// How an earlier variable of the container feeds a `$(VAR)` reference.
#[derive(Clone, Copy, Debug)]
pub enum Feed<'a> {
    /// Plain text: a `value:` (already expanded) or a ConfigMap value we read.
    Text(&'a str),
    /// From a Secret, or from something we cannot see: stays a reference.
    Opaque,
}

/// A value after the kubelet's `$(VAR)` expansion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expanded {
    /// The text the container sees, with opaque references left as `$(NAME)`.
    pub text: String,
    /// The plain variables that were substituted, in order.
    pub plain: Vec<String>,
    /// Whether a reference was left in (fed by a Secret, unseen, or undefined).
    pub opaque: bool,
}

/// Expands `$(VAR)` as the kubelet does (k8s.io/kubernetes
/// third_party/forked/golang/expansion): `$$` is a literal `$`, `$(NAME)` is
/// replaced by an *earlier* variable's value (`lookup`), and anything
/// unresolved stays as written.
pub fn expand<'a>(value: &str, lookup: impl Fn(&str) -> Option<Feed<'a>>) -> Expanded {
    let mut out = Expanded::default();
    if !value.contains('$') {
        out.text = value.to_string();
        return out;
    }
    let b = value.as_bytes();
    let mut text = String::with_capacity(value.len());
    let mut i = 0;
    let mut plain_from = 0;
    while i < b.len() {
        if b[i] != b'$' || i + 1 == b.len() {
            i += 1;
            continue;
        }
        text.push_str(&value[plain_from..i]);
        match b[i + 1] {
            b'$' => {
                text.push('$');
                i += 2;
            }
            b'(' => match value[i + 2..].find(')') {
                Some(close) => {
                    let name = &value[i + 2..i + 2 + close];
                    match lookup(name) {
                        Some(Feed::Text(t)) => {
                            text.push_str(t);
                            out.plain.push(name.to_string());
                        }
                        Some(Feed::Opaque) | None => {
                            text.push_str(&value[i..i + 3 + close]);
                            out.opaque = true;
                        }
                    }
                    i += 3 + close;
                }
                None => {
                    text.push_str("$(");
                    i += 2;
                }
            },
            _ => {
                text.push('$');
                i += 1;
            }
        }
        plain_from = i;
    }
    text.push_str(&value[plain_from.min(b.len())..]);
    out.text = text;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        let policy = crate::policy::config::Policy::default();
        Names::new(
            policy.sensitive_names.iter().map(String::as_str),
            ["RAILS_MASTER_KEY"],
            ["PWD_HISTORY"],
        )
    }

    #[test]
    fn tokens_split_on_separators_and_case() {
        assert_eq!(tokens("THE0_ADMIN_PASSWORD"), ["THE0", "ADMIN", "PASSWORD"]);
        assert_eq!(tokens("dbPassword"), ["db", "Password"]);
        assert_eq!(tokens("APIKey"), ["API", "Key"]);
        assert_eq!(tokens("X-Session-Key"), ["X", "Session", "Key"]);
        assert_eq!(tokens("S3_ACCESS_KEY"), ["S3", "ACCESS", "KEY"]);
        assert_eq!(tokens("--db-password"), ["db", "password"]);
        assert_eq!(tokens(""), Vec::<&str>::new());
    }

    #[test]
    fn sensitive_names_by_token() {
        let n = names();
        for name in [
            "THE0_ADMIN_PASSWORD",
            "DB_PASS",
            "MYSQL_PWD",
            "REDIS_AUTH",
            "GITHUB_PAT",
            "AWS_CREDS",
            "SENTRY_DSN",
            "PGPASSWORD",
            "clientSecret",
            "API_KEY",
            "apiKey",
            "APIKEY",
            "GOOGLE_CREDENTIALS",
            "SSH_PRIVATE_KEY",
            "JWT_SECRET",
            "SECRET_KEY_BASE",
            "HTPASSWD",
        ] {
            assert!(n.signal(name).is_some(), "{name}");
        }
        assert_eq!(n.signal("RAILS_MASTER_KEY"), Some(Signal::ExactName));
        assert_eq!(
            n.signal("DB_PASSWORD"),
            Some(Signal::NameToken("PASSWORD".into()))
        );
    }

    #[test]
    fn places_and_labels_are_not_values() {
        let n = names();
        for name in [
            "TOKEN_URL",
            "SECRET_NAME",
            "API_KEY_HEADER",
            "DB_PASSWORD_FILE",
            "SECRETS_DIR",
            "PASSWORD_MIN_LENGTH",
            "TOKEN_TTL",
            "AUTH_ENABLED",
            "JWKS_URI",
            "OAUTH_CLIENT_ID",
            "PASSPORT_NUMBER",
            "COMPASS_MODE",
            "PATH",
            "PWD_HISTORY",
            "CAPITAL_KEYS",
            "TOKENIZER_MODEL",
        ] {
            assert_eq!(n.signal(name), None, "{name}");
        }
    }

    #[test]
    fn known_formats_fire_whatever_the_name() {
        let aws = ["AKIA", "IOSFODNN7EXAMPLE"].concat();
        let gh = ["ghp_", "0123456789abcdefghijABCDEFGHIJ012345"].concat();
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----";
        for (value, id) in [
            (pem, "private-key"),
            (aws.as_str(), "aws-access-key-id"),
            (gh.as_str(), "github-token"),
        ] {
            assert_eq!(
                value_signal(value, &[], true),
                Some(Signal::Format(id)),
                "{id}"
            );
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(pem);
        assert_eq!(
            value_signal(&encoded, &[], true),
            Some(Signal::Encoded("private-key"))
        );
        for quiet in [
            "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
            "https://auth.example.com/.well-known/jwks.json",
            "sha256:6b2f5b8d4e0f7c6a1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c",
            "9fceb02d0ae598e95dc970b74767f19372d61af8",
        ] {
            assert_eq!(value_signal(quiet, &[], true), None, "{quiet}");
        }
    }

    #[test]
    fn placeholders_and_pins() {
        for v in [
            "",
            "$(DB_PASSWORD)",
            "${DB_PASSWORD}",
            "$DB_PASSWORD",
            "/run/secrets/db",
            "/var/run/secrets/kubernetes.io/serviceaccount/token",
            "true",
            "30s",
        ] {
            assert!(is_placeholder(v), "{v}");
        }
        for v in [
            "hunter2",
            "83920174",
            "NaN",
            "Infinity",
            "/wJalrXUtnFEMIK7MDENGbPxRfiCY3EXAMPLE+KEY",
            "/aB3kQ9zXyLmN0pQrStUvWx",
        ] {
            assert!(!is_placeholder(v), "{v}");
        }
    }

    #[test]
    fn entropy_needs_a_random_looking_word() {
        assert!(random_looking("q8Z3vN1xK7pL0mW4tR9yB2cF"));
        assert!(random_looking(
            "3f9a8c1e7b2d4f6a9c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d1f3a"
        ));
        for v in [
            "users",
            "uploads/avatar.png",
            "abcdef0123456789",
            "aaaaaaaaaaaaaaaa1",
        ] {
            assert!(!random_looking(v), "{v}");
        }
        let n = names();
        assert_eq!(n.key_like("ENCRYPTION_KEY").as_deref(), Some("ENCRYPTION"));
        assert_eq!(n.key_like("STRIPE_KEY").as_deref(), Some("KEY"));
        assert_eq!(n.key_like("JWT_PUBLIC_KEY"), None);
        assert_eq!(n.key_like("AWS_ACCESS_KEY_ID"), None);
        assert_eq!(n.key_like("IMAGE_DIGEST"), None);
    }

    #[test]
    fn expansion_is_the_kubelets() {
        let look = |name: &str| match name {
            "PLAIN" => Some(Feed::Text("hunter2")),
            "FROM_SECRET" => Some(Feed::Opaque),
            _ => None,
        };
        let e = expand("$(PLAIN)", look);
        assert_eq!((e.text.as_str(), e.opaque), ("hunter2", false));
        assert_eq!(e.plain, ["PLAIN"]);
        let e = expand("u:$(FROM_SECRET)@db", look);
        assert_eq!((e.text.as_str(), e.opaque), ("u:$(FROM_SECRET)@db", true));
        assert_eq!(expand("$$(PLAIN)", look).text, "$(PLAIN)");
        assert_eq!(expand("$(UNDEFINED)", look).text, "$(UNDEFINED)");
        assert_eq!(expand("a$b$(", look).text, "a$b$(");
        assert_eq!(expand("cost: 5$", look).text, "cost: 5$");
    }
}
