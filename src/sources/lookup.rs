//! `--lookup`: Secrets and ConfigMaps that exist only in the cluster (made
//! with `kubectl create secret`, unsealed by the Sealed Secrets controller,
//! synced by External Secrets from a vault). After a stream's facts are read,
//! the objects its pods use that neither the render nor `--secrets-from`
//! holds are fetched by name with the user's kubeconfig and added as the
//! lowest-precedence sources: render, then files, then the cluster.
//!
//! Bounded by construction: the requests run in parallel on a thread of
//! their own and the caller waits for them until one deadline, never longer;
//! whatever has not answered by then (or was refused, or does not exist) is a
//! finding, and the stream is stamped with what did answer. Objects are only
//! ever got by name, never listed.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};

use crate::kube::gvk::Gvk;
use crate::kube::inventory::{Index, ObjectId, Origin, Position, Protection, Source, TargetKind};
use crate::kube::plan::Referenced;
use crate::kube::workload::{Rollout, Workload};
use crate::policy::config::Policy;
use crate::policy::finding::{Finding, Location};
use crate::policy::rule::{Rule, RuleId};

/// How long all the lookups of a run may take together.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why `--lookup` cannot start. Never about one object: those are findings.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(
        "--lookup needs --digest-key-file (SECRET_ROLLOUT_DIGEST_KEY_FILE): a plain sha256 of a \
         cluster Secret's values, written on a Deployment, lets anyone who can read Deployments \
         test guesses of those values offline, and many more people can read Deployments than \
         Secrets; make a key once (e.g. `head -c 32 /dev/urandom > digest.key`), keep it out of \
         the cluster, and give it on every run"
    )]
    NeedsDigestKey,
    #[error("--lookup: {0}")]
    Kubeconfig(String),
    #[error(
        "--lookup found no cluster to read from: no kubeconfig ({kubeconfig}) and not running in a \
         pod ({in_cluster})"
    )]
    NoCluster {
        kubeconfig: String,
        in_cluster: String,
    },
}

/// An object pods use that neither the render nor the files hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    pub target: TargetKind,
    pub namespace: String,
    pub name: String,
    /// Every reference to it is `optional: true`: not finding it is fine.
    pub optional: bool,
    /// The first reference to it, where a finding about it points.
    pub first: Location,
    /// The workload of that reference, `Deployment/the0-api`.
    pub workload: String,
}

impl Wanted {
    /// `Secret the0/the0-root-admin`.
    pub fn display(&self) -> String {
        format!("{} {}/{}", self.target.as_str(), self.namespace, self.name)
    }

    /// The API's resource name, as RBAC rules spell it.
    fn resource(&self) -> &'static str {
        match self.target {
            TargetKind::Secret => "secrets",
            TargetKind::ConfigMap => "configmaps",
        }
    }
}

/// Why an object could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The API server says it does not exist.
    NotFound,
    /// RBAC refused the `get`. The server's message (which names the
    /// identity) is not kept: an answer's words are the server's (or a
    /// proxy's, which may echo the request and its bearer token), so only
    /// the status code and reason reach a message.
    Forbidden,
    /// The credentials were refused.
    Unauthorized,
    /// No answer before the deadline.
    Timeout(Duration),
    /// Any other answer from the server.
    Status { code: u16, reason: String },
    /// No answer at all: connection, TLS, credentials plugin.
    Client(String),
}

impl Failure {
    /// Whether it is about this object, rather than about reaching the
    /// cluster at all (then one finding names every object it hit).
    fn is_about_object(&self) -> bool {
        matches!(
            self,
            Failure::NotFound | Failure::Forbidden | Failure::Status { .. }
        )
    }

    /// For `explain`: a few words.
    pub fn short(&self) -> String {
        match self {
            Failure::NotFound => "not in the cluster".into(),
            Failure::Forbidden => "get forbidden by RBAC".into(),
            Failure::Unauthorized => "credentials refused".into(),
            Failure::Timeout(t) => format!("no answer within {}", seconds(*t)),
            Failure::Status { code, reason, .. } => format!("the cluster answered {code} {reason}"),
            Failure::Client(why) => format!("cluster not reached: {why}"),
        }
    }
}

/// What a lookup found: sources for some of the wanted objects, and why the
/// others are missing.
#[derive(Clone, Debug, Default)]
pub struct Fetched {
    pub sources: Vec<Source>,
    pub failures: Vec<(Wanted, Failure)>,
    /// The kubeconfig context asked, for messages.
    pub context: String,
}

impl Fetched {
    /// Why the object a pod in `namespace` calls `name` was not read.
    pub fn failure(&self, target: TargetKind, namespace: &str, name: &str) -> Option<&Failure> {
        self.failures
            .iter()
            .find(|(w, _)| w.target == target && w.namespace == namespace && w.name == name)
            .map(|(_, f)| f)
    }

    /// One `lookup-failed` finding per object the cluster said something
    /// about, and one per other cause naming every object it hit. A missing
    /// object that every pod reads as optional is no failure.
    pub fn findings(&self, policy: &Policy) -> Vec<Finding> {
        let Some(severity) = policy.level(&RuleId::BuiltIn(Rule::LookupFailed)) else {
            return Vec::new();
        };
        let ctx = &self.context;
        let mut out = Vec::new();
        let mut shared: BTreeMap<String, Vec<&Wanted>> = BTreeMap::new();
        for (w, failure) in &self.failures {
            if !failure.is_about_object() {
                shared.entry(failure_key(failure)).or_default().push(w);
                continue;
            }
            let (message, help) = match failure {
                Failure::NotFound if w.optional => continue,
                Failure::NotFound => (
                    format!(
                        "{} uses {}, which is in neither the render, the --secrets-from files nor the cluster (context {ctx}): its pods will not start until it exists",
                        w.workload,
                        w.display()
                    ),
                    format!(
                        "create it before the upgrade (`kubectl -n {} get {} {}` shows whether it exists), or fix the name or the release namespace (--namespace)",
                        w.namespace,
                        w.resource(),
                        w.name
                    ),
                ),
                Failure::Forbidden => (
                    format!(
                        "--lookup may not read {}, which {} uses (context {ctx}): the cluster answered 403 Forbidden",
                        w.display(),
                        w.workload
                    ),
                    format!(
                        "grant this identity the verb `get` on `{res}` in namespace `{ns}` (a Role with rules `[{{apiGroups: [\"\"], resources: [{res}], verbs: [get], resourceNames: [{name}]}}]` and a RoleBinding); secret-rollout only gets objects by name, never lists them",
                        res = w.resource(),
                        ns = w.namespace,
                        name = w.name
                    ),
                ),
                Failure::Status { code, reason } => (
                    format!(
                        "--lookup could not read {}, which {} uses: the cluster (context {ctx}) answered {code} {reason}",
                        w.display(),
                        w.workload
                    ),
                    "check the cluster with the same kubeconfig (`kubectl get`), or run without --lookup".to_string(),
                ),
                _ => unreachable!("is_about_object"),
            };
            out.push(finding(w, Some(&w.workload), severity, message, help));
        }
        for (_, hit) in shared {
            let failure = self
                .failure(hit[0].target, &hit[0].namespace, &hit[0].name)
                .expect("grouped from failures");
            let objects = hit
                .iter()
                .map(|w| w.display())
                .collect::<Vec<_>>()
                .join(", ");
            let (message, help) = match failure {
                Failure::Timeout(t) => (
                    format!(
                        "no answer from the cluster (context {ctx}) within {} for {objects}: their rotation is not stamped this time",
                        seconds(*t)
                    ),
                    "check that the cluster answers with the same kubeconfig (`kubectl get`), or raise --lookup-timeout (SECRET_ROLLOUT_LOOKUP_TIMEOUT)".to_string(),
                ),
                Failure::Unauthorized => (
                    format!(
                        "the cluster (context {ctx}) refused the credentials (401 Unauthorized) when --lookup read {objects}"
                    ),
                    format!("log in again or refresh the credentials of context {ctx}; kubectl with the same kubeconfig fails the same way"),
                ),
                Failure::Client(why) => (
                    format!("--lookup could not reach the cluster (context {ctx}) to read {objects}: {why}"),
                    "check the kubeconfig's server, certificate authority and credentials (`kubectl get` with the same KUBECONFIG), or run without --lookup".to_string(),
                ),
                _ => unreachable!("grouped failures are not about one object"),
            };
            out.push(finding(hit[0], None, severity, message, help));
        }
        out
    }
}

fn failure_key(f: &Failure) -> String {
    match f {
        Failure::Timeout(_) => "timeout".into(),
        Failure::Unauthorized => "unauthorized".into(),
        Failure::Client(why) => format!("client {why}"),
        _ => String::new(),
    }
}

fn finding(
    w: &Wanted,
    workload: Option<&str>,
    severity: crate::policy::rule::Severity,
    message: String,
    help: String,
) -> Finding {
    Finding {
        rule: RuleId::BuiltIn(Rule::LookupFailed),
        severity,
        location: w.first.clone(),
        workload: workload.map(str::to_string),
        container: None,
        variable: None,
        message,
        help,
        suppressed: None,
    }
}

fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// Something that can fetch objects by name: the cluster, or in tests a
/// table.
pub trait Fetch: Send + Sync + std::fmt::Debug {
    /// Where objects without `metadata.namespace` live when `--namespace`
    /// was not given: the kubeconfig context's namespace.
    fn default_namespace(&self) -> &str;
    fn fetch(&self, wanted: &[Wanted]) -> Fetched;
}

/// The objects stamped pod templates use that `index` (the render and the
/// files) does not resolve, each once, in stream order. Pods that are never
/// stamped (immutable Jobs, bare Pods) and, when the policy does not stamp
/// them, ConfigMaps are not fetched: nothing would use them. Names that are
/// not valid object names are not asked for.
pub fn unresolved(
    workloads: &[Workload],
    index: &Index<'_>,
    release_namespace: &str,
    config_maps: bool,
) -> Vec<Wanted> {
    let mut out: Vec<Wanted> = Vec::new();
    let mut seen: HashMap<(TargetKind, &str, &str), usize> = HashMap::new();
    for w in workloads.iter().filter(|w| w.rollout == Rollout::Rolls) {
        let own = w.object.namespace.as_deref();
        let namespace = own.unwrap_or(release_namespace);
        for r in &w.refs {
            if (r.target == TargetKind::ConfigMap && !config_maps)
                || !is_dns_subdomain(&r.name)
                || !is_dns_label(namespace)
                || index.find(r.target, &r.name, own).is_some()
            {
                continue;
            }
            match seen.get(&(r.target, namespace, r.name.as_str())) {
                Some(&i) => out[i].optional &= r.optional,
                None => {
                    seen.insert((r.target, namespace, &r.name), out.len());
                    out.push(Wanted {
                        target: r.target,
                        namespace: namespace.to_string(),
                        name: r.name.clone(),
                        optional: r.optional,
                        first: Location {
                            file: None,
                            doc: w.object.at.doc,
                            template: w.object.at.template.as_deref().map(str::to_string),
                            line: r.span.line,
                            col: r.span.col,
                            place: w.object.place(r.span),
                            path: None,
                        },
                        workload: w.object.display(),
                    });
                }
            }
        }
    }
    out
}

/// The lowest level of sources: fetch from `cluster` what the stream's pod
/// templates name that `index` (the stream and the files) leaves
/// unresolved. `namespace`: where objects without one live.
pub(crate) fn fetch_unresolved(
    cluster: &dyn Fetch,
    namespace: &str,
    config_maps: bool,
    referenced: &Referenced<'_>,
    index: &Index<'_>,
) -> Fetched {
    cluster.fetch(&unresolved(
        referenced.workloads,
        index,
        namespace,
        config_maps,
    ))
}

/// RFC 1123 subdomain: what Secret and ConfigMap names must be.
fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253 && !name.is_empty() && name.split('.').all(is_dns_label)
}

/// RFC 1123 label: what namespace names must be.
fn is_dns_label(label: &str) -> bool {
    let b = label.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Parse `--lookup-timeout`: seconds, as `10`, `2.5` or `10s`.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let number = text.strip_suffix('s').unwrap_or(text);
    match number.parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() && s <= 3600.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "`{text}` is not a number of seconds between 0 and 3600 (e.g. 10 or 2.5)"
        )),
    }
}

/// A cluster as the user's kubeconfig (or the pod's service account)
/// describes it.
pub struct Cluster {
    config: kube::Config,
    context: String,
    namespace: String,
    /// The exec credential plugin, named in messages instead of its output.
    exec_command: Option<String>,
    timeout: Duration,
    /// Set by the first fetch: every fetch of the run ends by then.
    deadline: OnceLock<Instant>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &self.config.cluster_url.to_string())
            .field("context", &self.context)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Like kubectl: `KUBECONFIG` (several files merged) or
    /// `~/.kube/config` and its current context; else, in a pod, the service
    /// account.
    pub fn from_environment(timeout: Duration) -> Result<Cluster, LookupError> {
        // Reading a kubeconfig involves no I/O but files; kube's loader is
        // async only in signature.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| LookupError::Kubeconfig(format!("starting the client: {e}")))?;
        let kubeconfig = match kube::config::Kubeconfig::read() {
            Ok(k) => Some(k),
            Err(e) if is_missing(&e) => None,
            Err(e) => return Err(LookupError::Kubeconfig(kubeconfig_error(&e))),
        };
        let Some(kubeconfig) = kubeconfig else {
            let config = kube::Config::incluster().map_err(|e| LookupError::NoCluster {
                kubeconfig: match std::env::var_os("KUBECONFIG") {
                    Some(v) => format!("KUBECONFIG={}", v.to_string_lossy()),
                    None => "KUBECONFIG is not set and ~/.kube/config does not exist".into(),
                },
                in_cluster: e.to_string(),
            })?;
            return Ok(Cluster {
                namespace: config.default_namespace.clone(),
                context: "in-cluster".into(),
                exec_command: None,
                config,
                timeout,
                deadline: OnceLock::new(),
            });
        };
        let context = kubeconfig.current_context.clone().unwrap_or_default();
        let options = kube::config::KubeConfigOptions::default();
        let config = runtime
            .block_on(kube::Config::from_custom_kubeconfig(kubeconfig, &options))
            .map_err(|e| LookupError::Kubeconfig(kubeconfig_error(&e)))?;
        Ok(Cluster {
            namespace: config.default_namespace.clone(),
            exec_command: config
                .auth_info
                .exec
                .as_ref()
                .and_then(|e| e.command.clone()),
            context,
            config,
            timeout,
            deadline: OnceLock::new(),
        })
    }

    pub fn context(&self) -> &str {
        &self.context
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }
}

fn is_missing(e: &kube::config::KubeconfigError) -> bool {
    use kube::config::KubeconfigError as E;
    match e {
        E::FindPath => true,
        E::ReadConfig(io, _) => io.kind() == std::io::ErrorKind::NotFound,
        _ => false,
    }
}

/// A kubeconfig error, without quoting the file: it holds credentials.
fn kubeconfig_error(e: &kube::config::KubeconfigError) -> String {
    use kube::config::KubeconfigError as E;
    match e {
        E::Parse(_) => {
            "the kubeconfig is not valid YAML (`kubectl config view` shows where)".into()
        }
        E::CurrentContextNotSet => {
            "the kubeconfig has no current-context (`kubectl config use-context NAME`)".into()
        }
        other => format!("reading the kubeconfig: {other}"),
    }
}

impl Fetch for Cluster {
    fn default_namespace(&self) -> &str {
        &self.namespace
    }

    fn fetch(&self, wanted: &[Wanted]) -> Fetched {
        let mut fetched = Fetched {
            context: self.context.clone(),
            ..Fetched::default()
        };
        if wanted.is_empty() {
            return fetched;
        }
        let deadline = *self.deadline.get_or_init(|| Instant::now() + self.timeout);
        let (tx, rx) = mpsc::channel();
        let jobs: Vec<(TargetKind, String, String)> = wanted
            .iter()
            .map(|w| (w.target, w.namespace.clone(), w.name.clone()))
            .collect();
        let config = self.config.clone();
        let origin = |ns: &str| Origin::Cluster {
            context: self.context.clone(),
            namespace: ns.to_string(),
        };
        let exec_command = self.exec_command.clone();
        // The requests run on a thread of their own, so that nothing they do
        // (a credentials plugin that never exits, a server that never
        // answers) can hold the caller past the deadline: it stops waiting,
        // and the thread ends with the process.
        let spawned = std::thread::Builder::new()
            .name("lookup".into())
            .spawn(move || requests(config, jobs, exec_command, tx));
        let mut answers: Vec<Option<Result<Answer, Failure>>> = vec![None; wanted.len()];
        if let Err(e) = spawned {
            let why = format!("starting the lookup thread: {e}");
            answers.fill(Some(Err(Failure::Client(why))));
        }
        let mut left = answers.iter().filter(|a| a.is_none()).count();
        while left > 0 {
            let wait = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok((i, answer)) => {
                    answers[i] = Some(answer);
                    left -= 1;
                }
                Err(_) => break,
            }
        }
        for (w, answer) in wanted.iter().zip(answers) {
            match answer.unwrap_or(Err(Failure::Timeout(self.timeout))) {
                Ok(answer) => fetched.sources.push(answer.source(w, origin(&w.namespace))),
                Err(failure) => fetched.failures.push((w.clone(), failure)),
            }
        }
        fetched
    }
}

/// An object as the API server returned it.
#[derive(Clone)]
enum Answer {
    Secret(Box<Secret>),
    ConfigMap(Box<ConfigMap>),
}

impl Answer {
    /// The source pods see, digested like the same object in the render.
    fn source(self, w: &Wanted, origin: Origin) -> Source {
        let mut entries = BTreeMap::new();
        let immutable = match &self {
            Answer::Secret(s) => s.immutable,
            Answer::ConfigMap(c) => c.immutable,
        }
        .unwrap_or(false);
        let secret_type = match self {
            Answer::Secret(s) => {
                for (k, v) in s.data.unwrap_or_default() {
                    entries.insert(k, v.0);
                }
                // Write-only in the API, so never returned; merged as the
                // server would if a stand-in returns it.
                for (k, v) in s.string_data.unwrap_or_default() {
                    entries.insert(k, v.into_bytes());
                }
                s.type_.unwrap_or_else(|| "Opaque".into())
            }
            Answer::ConfigMap(c) => {
                for (k, v) in c.data.unwrap_or_default() {
                    entries.insert(k, v.into_bytes());
                }
                for (k, v) in c.binary_data.unwrap_or_default() {
                    entries.insert(k, v.0);
                }
                String::new()
            }
        };
        Source {
            object: ObjectId {
                gvk: Gvk::new("v1", w.target.as_str()).owned(),
                name: w.name.clone(),
                namespace: Some(w.namespace.clone()),
                // Read from the cluster: it stands in no document.
                at: Position::default(),
            },
            origin,
            target: w.target,
            name: w.name.clone(),
            entries,
            shared: None,
            secret_type,
            keys_known: true,
            protection: Protection::Plaintext,
            has_plaintext: true,
            digest_kind: w.target.as_str(),
            immutable,
        }
    }
}

type Sent = (usize, Result<Answer, Failure>);

/// Every GET at once on one client; each answer is sent as it arrives.
fn requests(
    config: kube::Config,
    jobs: Vec<(TargetKind, String, String)>,
    exec_command: Option<String>,
    tx: mpsc::Sender<Sent>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let why = format!("starting the client: {e}");
            for i in 0..jobs.len() {
                let _ = tx.send((i, Err(Failure::Client(why.clone()))));
            }
            return;
        }
    };
    runtime.block_on(async move {
        // Building the client runs an exec credentials plugin, if any.
        let client = match kube::Client::try_from(config) {
            Ok(c) => c,
            Err(e) => {
                let why = client_error(&e, exec_command.as_deref());
                for i in 0..jobs.len() {
                    let _ = tx.send((i, Err(Failure::Client(why.clone()))));
                }
                return;
            }
        };
        let mut tasks = tokio::task::JoinSet::new();
        for (i, (target, namespace, name)) in jobs.into_iter().enumerate() {
            let (client, tx, exec) = (client.clone(), tx.clone(), exec_command.clone());
            tasks.spawn(async move {
                let answer = match target {
                    TargetKind::Secret => kube::Api::<Secret>::namespaced(client, &namespace)
                        .get(&name)
                        .await
                        .map(|s| Answer::Secret(Box::new(s))),
                    TargetKind::ConfigMap => kube::Api::<ConfigMap>::namespaced(client, &namespace)
                        .get(&name)
                        .await
                        .map(|c| Answer::ConfigMap(Box::new(c))),
                };
                let _ = tx.send((i, answer.map_err(|e| failure(&e, exec.as_deref()))));
            });
        }
        while tasks.join_next().await.is_some() {}
    });
}

/// What a failed GET means for the user. Never the response body of a
/// success (it holds the values) and never a credentials plugin's output.
fn failure(e: &kube::Error, exec_command: Option<&str>) -> Failure {
    match e {
        // The status code and reason only (the reason as a checked name):
        // never the server's message or body.
        kube::Error::Api(status) => match (status.code, status.reason.as_str()) {
            (404, "NotFound") => Failure::NotFound,
            (403, _) => Failure::Forbidden,
            (401, _) => Failure::Unauthorized,
            (code, reason) => Failure::Status {
                code,
                reason: crate::trust::name::checked(reason)
                    .filter(|r| r.len() == reason.len())
                    .unwrap_or("(no reason)")
                    .to_string(),
            },
        },
        // serde_json quotes what it could not read, which may be a value.
        kube::Error::SerdeError(json) => Failure::Client(format!(
            "the answer is not a valid object (JSON error at line {}, column {})",
            json.line(),
            json.column()
        )),
        other => Failure::Client(client_error(other, exec_command)),
    }
}

/// A transport or credentials error as one line: the chain of causes, but
/// for credentials only which step failed.
fn client_error(e: &kube::Error, exec_command: Option<&str>) -> String {
    let chain = || std::iter::successors(Some(e as &dyn std::error::Error), |e| e.source());
    // Whatever wraps a credentials error may print it whole (kube's does,
    // with the plugin's output), so it is described, never displayed.
    if let kube::Error::Auth(auth) = e {
        return auth_error(auth, exec_command);
    }
    if let Some(auth) = chain().find_map(|e| e.downcast_ref::<kube::client::AuthError>()) {
        return auth_error(auth, exec_command);
    }
    if let Some(json) = chain().find_map(|e| e.downcast_ref::<serde_json::Error>()) {
        return format!(
            "invalid JSON at line {}, column {}",
            json.line(),
            json.column()
        );
    }
    let mut parts: Vec<String> = Vec::new();
    // kube's own wrapper ("ServiceError: …") says nothing its cause does not.
    let skip = usize::from(matches!(e, kube::Error::Service(_)));
    for err in chain().skip(skip) {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    one_line(&parts.join(": "))
}

fn auth_error(e: &kube::client::AuthError, exec_command: Option<&str>) -> String {
    use kube::client::AuthError as A;
    let plugin = match exec_command {
        Some(c) => format!("the exec credential plugin `{c}`"),
        None => "the exec credential plugin".into(),
    };
    match e {
        A::AuthExecStart(io) => format!("{plugin} could not be started: {io}"),
        A::AuthExecRun { out, .. } => format!("{plugin} failed ({})", out.status),
        A::AuthExecParse(_) => format!("{plugin} did not print an ExecCredential"),
        A::ReadTokenFile(io, path) => format!("reading the token file {}: {io}", path.display()),
        _ => {
            "getting credentials failed (details are not shown: they may hold a credential)".into()
        }
    }
}

/// A client error chain on one line, cut to a readable length.
fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Options;
    use std::sync::{Arc, Mutex};

    /// A cluster that is a table: (kind, namespace, name) → one value.
    #[derive(Debug)]
    struct Table {
        namespace: String,
        objects: Vec<(TargetKind, &'static str, &'static str, &'static str)>,
        asked: Mutex<Vec<(TargetKind, String, String)>>,
    }

    impl Table {
        fn new(objects: &[(TargetKind, &'static str, &'static str, &'static str)]) -> Arc<Table> {
            Arc::new(Table {
                namespace: "ctx-ns".into(),
                objects: objects.to_vec(),
                asked: Mutex::new(Vec::new()),
            })
        }

        fn asked(&self) -> Vec<(TargetKind, String, String)> {
            std::mem::take(&mut self.asked.lock().unwrap())
        }
    }

    impl Fetch for Table {
        fn default_namespace(&self) -> &str {
            &self.namespace
        }

        fn fetch(&self, wanted: &[Wanted]) -> Fetched {
            let mut fetched = Fetched {
                context: "table".into(),
                ..Fetched::default()
            };
            for w in wanted {
                let id = (w.target, w.namespace.clone(), w.name.clone());
                self.asked.lock().unwrap().push(id);
                let found = self.objects.iter().find(|(t, ns, name, _)| {
                    *t == w.target && *ns == w.namespace && *name == w.name
                });
                let Some((_, _, _, value)) = found else {
                    fetched.failures.push((w.clone(), Failure::NotFound));
                    continue;
                };
                let data = BTreeMap::from([(
                    "k".to_string(),
                    k8s_openapi::ByteString(value.as_bytes().to_vec()),
                )]);
                let answer = Answer::Secret(Box::new(Secret {
                    data: Some(data),
                    ..Secret::default()
                }));
                let origin = Origin::Cluster {
                    context: "table".into(),
                    namespace: w.namespace.clone(),
                };
                fetched.sources.push(answer.source(w, origin));
            }
            fetched
        }
    }

    fn pod(kind: &str, name: &str, namespace: Option<&str>, secrets: &[&str]) -> String {
        let ns = namespace
            .map(|n| format!("\n  namespace: {n}"))
            .unwrap_or_default();
        let refs: String = secrets
            .iter()
            .map(|s| format!("\n        - secretRef: {{name: {s}}}"))
            .collect();
        format!(
            "apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {name}{ns}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        envFrom:{refs}\n"
        )
    }

    fn options(table: &Arc<Table>, namespace: Option<&str>) -> Options {
        Options {
            namespace: namespace.map(str::to_string),
            digest_key: Some(b"k".to_vec()),
            lookup: Some(table.clone()),
            ..Options::default()
        }
    }

    /// Where each object `Kind/name` reads was found, by secret name.
    fn origins(text: &str, options: &Options) -> BTreeMap<String, Option<String>> {
        crate::query::explain::graph(text, options)
            .unwrap()
            .iter()
            .flat_map(|w| w.uses.iter())
            .map(|u| (u.name.clone(), u.origin.as_ref().map(ToString::to_string)))
            .collect()
    }

    #[test]
    fn the_render_wins_over_files_and_files_over_the_cluster() {
        let table = Table::new(&[
            (TargetKind::Secret, "ctx-ns", "in-render", "cluster"),
            (TargetKind::Secret, "ctx-ns", "in-file", "cluster"),
            (TargetKind::Secret, "ctx-ns", "only-cluster", "cluster"),
        ]);
        let text = format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: in-render}}\nstringData: {{k: render}}\n---\n{}",
            pod("Deployment", "web", None, &["in-render", "in-file", "only-cluster"])
        );
        let files = crate::yaml::stream::parse(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: in-file}\nstringData: {k: file}\n",
        )
        .unwrap();
        let mut files = crate::kube::inventory::sources(&crate::kube::inventory::objects(
            &files,
            &Default::default(),
        ))
        .unwrap();
        files[0].origin = Origin::File {
            path: "f.yaml".into(),
            line: 1,
        };
        let mut opts = options(&table, None);
        opts.secrets_from = crate::sources::files::Files::from_sources(files);
        let found = origins(&text, &opts);
        assert_eq!(found["in-render"].as_deref(), Some("render"));
        assert_eq!(found["in-file"].as_deref(), Some("f.yaml:1"));
        assert_eq!(
            found["only-cluster"].as_deref(),
            Some("cluster context table, namespace ctx-ns")
        );
        // Only what neither holds is asked for.
        assert_eq!(
            table.asked(),
            [(TargetKind::Secret, "ctx-ns".into(), "only-cluster".into())]
        );
    }

    #[test]
    fn the_index_keeps_the_cluster_below_whatever_is_already_there() {
        let parsed = crate::yaml::stream::parse(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: a}\nstringData: {k: render}\n",
        )
        .unwrap();
        let render = crate::kube::inventory::sources(&crate::kube::inventory::objects(
            &parsed,
            &Default::default(),
        ))
        .unwrap();
        let table = Table::new(&[
            (TargetKind::Secret, "a", "s", "cluster"),
            (TargetKind::Secret, "b", "s", "cluster"),
        ]);
        let wanted: Vec<Wanted> = ["a", "b"]
            .iter()
            .map(|ns| Wanted {
                target: TargetKind::Secret,
                namespace: ns.to_string(),
                name: "s".into(),
                optional: false,
                first: Location::default(),
                workload: "Deployment/w".into(),
            })
            .collect();
        // Even if a fetch returns an object the render has, the render wins;
        // the same name in another namespace is another object.
        let cluster = table.fetch(&wanted).sources;
        let mut index = Index::new(&render, &[], Some("a"));
        index.add_below(&cluster);
        let origin = |ns| {
            index
                .find(TargetKind::Secret, "s", Some(ns))
                .unwrap()
                .origin
                .clone()
        };
        assert_eq!(origin("a"), Origin::Render);
        assert!(origin("b").is_cluster());
    }

    #[test]
    fn objects_are_asked_for_in_the_pod_s_namespace_else_the_release_s_else_the_context_s() {
        let table = Table::new(&[]);
        let text = format!(
            "{}---\n{}",
            pod("Deployment", "own", Some("own-ns"), &["s"]),
            pod("Deployment", "none", None, &["s"])
        );
        origins(&text, &options(&table, None));
        let ns: Vec<String> = table.asked().into_iter().map(|(_, ns, _)| ns).collect();
        assert_eq!(ns, ["own-ns", "ctx-ns"]);
        origins(&text, &options(&table, Some("release")));
        let ns: Vec<String> = table.asked().into_iter().map(|(_, ns, _)| ns).collect();
        assert_eq!(ns, ["own-ns", "release"]);
    }

    #[test]
    fn pods_that_are_never_stamped_fetch_nothing() {
        let table = Table::new(&[]);
        let job = pod("Job", "once", None, &["j"]).replace("apps/v1", "batch/v1");
        let pod_only = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    envFrom: [{secretRef: {name: p}}]\n";
        origins(&format!("{job}---\n{pod_only}"), &options(&table, None));
        assert_eq!(table.asked(), []);
    }

    #[test]
    fn a_missing_object_is_a_finding_unless_every_reference_is_optional() {
        let table = Table::new(&[]);
        let optional = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        envFrom: [{secretRef: {name: opt, optional: true}}]\n";
        let required = pod("Deployment", "r", None, &["req"]);
        let text = format!("{optional}---\n{required}");
        let analysis = crate::model::analyze(&text, &options(&table, None)).unwrap();
        let failed: Vec<&Finding> = analysis
            .findings
            .iter()
            .filter(|f| f.rule == Rule::LookupFailed)
            .collect();
        assert_eq!(failed.len(), 1, "{failed:#?}");
        assert!(
            failed[0].message.contains("Secret ctx-ns/req"),
            "{}",
            failed[0].message
        );
        assert_eq!(failed[0].workload.as_deref(), Some("Deployment/r"));
        assert_eq!(failed[0].location.doc, 1);
        // The optional one was still asked for: if it exists, it is stamped.
        assert_eq!(table.asked().len(), 2);
    }

    #[test]
    fn timeouts_are_seconds() {
        assert_eq!(parse_timeout("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_timeout("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_timeout("3s"), Ok(Duration::from_secs(3)));
        for bad in ["0", "-1", "ten", "", "1h", "NaN", "inf", "4000"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_valid_names_are_asked_for() {
        assert!(is_dns_subdomain("the0-root-admin"));
        assert!(is_dns_subdomain("a.b-c.d"));
        for bad in ["", "../x", "A", "a/b", "-a", "a-", "a..b", &"a".repeat(254)] {
            assert!(!is_dns_subdomain(bad), "{bad}");
        }
        assert!(is_dns_label("the0"));
        assert!(!is_dns_label("a.b"));
        assert!(!is_dns_label(&"a".repeat(64)));
    }

    #[test]
    fn server_messages_are_one_short_line() {
        assert_eq!(one_line("a\n  b\tc"), "a b c");
        let long = "x".repeat(500);
        assert_eq!(one_line(&long).chars().count(), 301);
    }
}
