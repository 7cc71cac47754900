//! The guard (issue 17): every place a plaintext credential can sit in a pod,
//! judged by name and by value, each case reported with the value never
//! printed, and every look-alike quiet.
//!
//! Each test feeds a rendered manifest to the real binary (`check`, JSON and
//! text) and asserts which findings come out; [`run`] also asserts that none
//! of the secret values the test names appears anywhere in either output.
//! Credential-shaped test values are assembled from pieces, so this file
//! itself holds no string a secret scanner would take for a real token.

mod common;

use common::{root, run_cmd, temp_dir, write_temp};
use serde_json::Value;

/// One finding, as JSON gives it.
#[derive(Debug, Clone)]
struct F {
    rule: String,
    severity: String,
    workload: String,
    variable: String,
    path: String,
    message: String,
}

/// `check` over `yaml` (under `policy`, when given), in JSON and in text.
/// Panics if any of `secrets` appears in either output or on stderr.
fn run(policy: Option<&str>, yaml: &str, secrets: &[&str]) -> Vec<F> {
    let policy_file = policy.map(|p| {
        let dir = temp_dir(&format!("guard-{:x}", fxhash(p)));
        write_temp(&dir, "policy.yaml", p)
            .to_string_lossy()
            .into_owned()
    });
    let mut outputs = Vec::new();
    let mut json = Value::Null;
    for format in ["json", "text", "sarif"] {
        let mut cmd = common::bin();
        cmd.current_dir(root())
            .env("SECRET_ROLLOUT_DIGEST_KEY_FILE", "testdata/digest.key")
            .args(["check", "--format", format]);
        if let Some(p) = &policy_file {
            cmd.args(["--policy", p]);
        }
        let out = run_cmd(&mut cmd, yaml);
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            out.status.code().is_some_and(|c| c < 2),
            "check failed: {stderr}"
        );
        if format == "json" {
            json = serde_json::from_str(&stdout).expect("JSON");
        }
        outputs.push(stdout);
        outputs.push(stderr);
    }
    for s in secrets {
        for o in &outputs {
            assert!(!o.contains(s), "a secret value was printed:\n{o}");
        }
    }
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["suppressed"] == false)
        // Secrets these pods read are not in the render: their own rule,
        // not the subject here.
        .filter(|f| f["rule"] != "unresolved-reference")
        .map(|f| F {
            rule: f["rule"].as_str().unwrap().to_string(),
            severity: f["severity"].as_str().unwrap().to_string(),
            workload: f["workload"].as_str().unwrap_or_default().to_string(),
            variable: f["variable"].as_str().unwrap_or_default().to_string(),
            path: f["path"].as_str().unwrap_or_default().to_string(),
            message: f["message"].as_str().unwrap().to_string(),
        })
        .collect()
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// (rule, variable) of each finding.
fn pairs(f: &[F]) -> Vec<(String, String)> {
    f.iter()
        .map(|f| (f.rule.clone(), f.variable.clone()))
        .collect()
}

fn p(rule: &str, var: &str) -> (String, String) {
    (rule.to_string(), var.to_string())
}

/// A Deployment whose one container has `body` (container fields, indented
/// for the container), plus `extra` documents.
fn deployment(body: &str, extra: &str) -> String {
    let body: String = body.lines().map(|l| format!("        {l}\n")).collect();
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
{body}{extra}"
    )
}

const ENV: &str = "sensitive-env-plain-value";
const CM: &str = "sensitive-config-map-value";
const CMD: &str = "sensitive-command-value";

// ---------------------------------------------------------------- command lines

#[test]
fn secret_flags_and_credential_urls_in_args_and_command_are_reported() {
    let yaml = deployment(
        "command: [/app/server, --admin-password=Adm1nPw-7731]
args:
- --db-password
- DbPw-88213
- --log-level=info
- postgres://app:UrlPw-4410@db:5432/app
- --password-file=/run/secrets/db/password
- --token-ttl
- 1h",
        "",
    );
    let f = run(None, &yaml, &["Adm1nPw-7731", "DbPw-88213", "UrlPw-4410"]);
    assert_eq!(
        pairs(&f),
        [
            p(CMD, "--admin-password"),
            p(CMD, "--db-password"),
            p(CMD, ""),
        ]
    );
    assert_eq!(f[0].path, "spec.template.spec.containers[web].command[1]");
    assert_eq!(f[1].path, "spec.template.spec.containers[web].args[0]");
    assert_eq!(f[2].path, "spec.template.spec.containers[web].args[3]");
    assert!(
        f[0].message.contains("token `PASSWORD`"),
        "{}",
        f[0].message
    );
    assert!(f[2].message.contains("sensitiveValues"), "{}", f[2].message);
    assert!(f.iter().all(|f| f.severity == "warning"));
}

#[test]
fn lifecycle_and_probe_exec_commands_that_set_a_secret_inline_are_reported() {
    let yaml = deployment(
        "lifecycle:
  postStart:
    exec:
      command: [sh, -c, 'export DB_PASSWORD=Hook-5521 && /app/migrate']
  preStop:
    exec:
      command: [sh, -c, 'curl -s http://localhost/drain']
livenessProbe:
  exec:
    command: [redis-cli, --pass, Probe-9917, ping]
readinessProbe:
  exec:
    command: [sh, -c, 'pg_isready -U $(DB_USER)']",
        "",
    );
    let f = run(None, &yaml, &["Hook-5521", "Probe-9917"]);
    assert_eq!(pairs(&f), [p(CMD, "DB_PASSWORD"), p(CMD, "--pass")]);
    assert_eq!(
        f[0].path,
        "spec.template.spec.containers[web].lifecycle.postStart.exec.command[2]"
    );
    assert_eq!(
        f[1].path,
        "spec.template.spec.containers[web].livenessProbe.exec.command[1]"
    );
}

#[test]
fn args_expand_env_vars_as_the_kubelet_does() {
    // $(DB_PASSWORD) from a Secret stays a reference: quiet. $(PLAIN_PW) is a
    // plain value defined earlier: its text lands in the flag.
    let yaml = deployment(
        "env:
- name: DB_PASSWORD
  valueFrom: {secretKeyRef: {name: db, key: password}}
- name: BOOT
  value: Boot-30917
args: [--db-password=$(DB_PASSWORD), --admin-password=$(BOOT), --api-token=$$(BOOT)]",
        "",
    );
    let f = run(None, &yaml, &["Boot-30917"]);
    assert_eq!(pairs(&f), [p(CMD, "--admin-password")]);
}

// ---------------------------------------------------------------- ConfigMaps

const CONFIG_MAP: &str = "---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  LOG_LEVEL: info
  DB_PASSWORD: CmPw-11802
  TOKEN_URL: https://auth.example.com/oauth/token
  db-password: CmFile-4471
  nginx-auth.conf: |
    auth_basic \"Restricted\";
    auth_basic_user_file /etc/nginx/htpasswd;
";

#[test]
fn a_config_map_key_named_like_a_secret_reaching_a_pod_by_env_from_is_reported() {
    let yaml = deployment("envFrom:\n- configMapRef: {name: app-config}\n- prefix: APP_\n  configMapRef: {name: app-config}", CONFIG_MAP);
    let f = run(None, &yaml, &["CmPw-11802", "CmFile-4471"]);
    assert_eq!(
        pairs(&f),
        [
            p(CM, "DB_PASSWORD"),
            p(CM, "db-password"),
            p(CM, "APP_DB_PASSWORD"),
            p(CM, "APP_db-password"),
        ]
    );
    assert!(
        f[0].message.contains("ConfigMap app-config"),
        "{}",
        f[0].message
    );
    assert_eq!(
        f[0].path,
        "spec.template.spec.containers[web].envFrom[0].configMapRef"
    );
}

#[test]
fn a_config_map_key_read_by_config_map_key_ref_or_mounted_as_a_file_is_reported() {
    let yaml = deployment(
        "env:
- name: DB_PASSWORD
  valueFrom: {configMapKeyRef: {name: app-config, key: DB_PASSWORD}}
- name: LOG_LEVEL
  valueFrom: {configMapKeyRef: {name: app-config, key: LOG_LEVEL}}
- name: SMTP_PASSWORD_FILE
  value: /etc/app/db-password
volumeMounts:
- {name: config, mountPath: /etc/app}",
        &format!(
            "      volumes:\n      - name: config\n        configMap: {{name: app-config}}\n{CONFIG_MAP}"
        ),
    );
    let f = run(None, &yaml, &["CmPw-11802", "CmFile-4471"]);
    let got = pairs(&f);
    assert_eq!(
        got,
        [
            p(CM, "DB_PASSWORD"),
            p(CM, "SMTP_PASSWORD_FILE"),
            p(CM, ""),
            p(CM, ""),
        ],
        "{f:#?}"
    );
    // The two mounted keys: DB_PASSWORD and db-password; nginx-auth.conf
    // is a configuration file judged by its content, which is clean.
    assert!(
        f[2].message.contains("key `DB_PASSWORD`"),
        "{}",
        f[2].message
    );
    assert!(
        f[3].message.contains("key `db-password`"),
        "{}",
        f[3].message
    );
}

// ---------------------------------------------------------------- $(VAR)

#[test]
fn a_sensitive_variable_fed_from_a_plain_one_is_plain() {
    let yaml = deployment(
        "env:
- {name: BOOTSTRAP, value: Bootstrap-6620}
- {name: DB_PASSWORD, value: $(BOOTSTRAP)}
- name: FROM_SECRET
  valueFrom: {secretKeyRef: {name: db, key: password}}
- {name: REDIS_PASSWORD, value: $(FROM_SECRET)}
- {name: CACHE_PASSWORD, value: $(DEFINED_LATER)}
- {name: DEFINED_LATER, value: Later-1290}
- {name: ESCAPED_PASSWORD, value: $$(BOOTSTRAP)}
- {name: DATABASE_URL, value: 'postgres://app:$(FROM_SECRET)@db:5432/app'}
- {name: PLAIN_URL, value: 'postgres://app:$(BOOTSTRAP)@db:5432/app'}",
        "",
    );
    let f = run(None, &yaml, &["Bootstrap-6620", "Later-1290"]);
    assert_eq!(pairs(&f), [p(ENV, "DB_PASSWORD"), p(ENV, "PLAIN_URL")]);
    assert!(
        f[0].message.contains("through $(BOOTSTRAP), a plain value"),
        "{}",
        f[0].message
    );
}

// ---------------------------------------------------------------- names and values

#[test]
fn pins_numbers_slash_keys_and_short_names_are_reported() {
    let yaml = deployment(
        "env:
- {name: DB_PASSWORD, value: \"83920174\"}
- {name: PIN_PASSWORD, value: 4711}
- {name: NAN_PASSWORD, value: NaN}
- {name: INF_PASSWORD, value: Infinity}
- {name: AWS_SECRET_ACCESS_KEY, value: /wJalrXUtnFEMIK7MDENGbPxRfiCY3EXAMPLE+KEY}
- {name: DB_PASS, value: Pass-1}
- {name: MYSQL_PWD, value: Pwd-2}
- {name: REDIS_AUTH, value: Auth-3}
- {name: GITHUB_PAT, value: Pat-4}
- {name: AWS_CREDS, value: Creds-5}
- {name: clientSecret, value: Camel-6}",
        "",
    );
    let f = run(
        None,
        &yaml,
        &[
            "83920174",
            "EXAMPLE+KEY",
            "Pass-1",
            "Pwd-2",
            "Auth-3",
            "Pat-4",
            "Creds-5",
            "Camel-6",
        ],
    );
    let vars: Vec<String> = f.iter().map(|f| f.variable.clone()).collect();
    assert_eq!(
        vars,
        [
            "DB_PASSWORD",
            "PIN_PASSWORD",
            "NAN_PASSWORD",
            "INF_PASSWORD",
            "AWS_SECRET_ACCESS_KEY",
            "DB_PASS",
            "MYSQL_PWD",
            "REDIS_AUTH",
            "GITHUB_PAT",
            "AWS_CREDS",
            "clientSecret",
        ]
    );
    assert!(f.iter().all(|f| f.rule == ENV));
}

/// Credential formats, built from pieces.
fn formats() -> Vec<(&'static str, String, &'static str)> {
    let pem = [
        "-----BEGIN ",
        "RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn\n-----END RSA ",
        "PRIVATE KEY-----",
    ]
    .concat();
    let b64 = |s: &str| {
        use std::io::Write as _;
        let mut child = std::process::Command::new("base64")
            .arg("-w0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("base64 (coreutils)");
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
    };
    vec![
        ("TLS_MATERIAL", pem.clone(), "a PEM private key"),
        ("BUNDLE", b64(&pem), "base64 of a PEM private key"),
        (
            "AWS_ID",
            ["AKIA", "Z7QR3XKWN2LPT6VM"].concat(),
            "an AWS access key id",
        ),
        (
            "CI_HELPER",
            ["ghp_", "R8kXw2ZqL0mN7vB4tY6uP1sA3dF5gH9jK2cE"].concat(),
            "a GitHub token",
        ),
        (
            "RUNNER",
            ["glpat-", "Xw2ZqL0mN7vB4tY6uP1s"].concat(),
            "a GitLab token",
        ),
        (
            "NOTIFY",
            [
                "xoxb-",
                "1234567890123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            ]
            .concat(),
            "a Slack token",
        ),
        (
            "HOOK",
            [
                "https://hooks.slack.com/services/",
                "T0A1B2C3D/B4E5F6G7H/Xw2ZqL0mN7vB4tY6uP1sA3dF",
            ]
            .concat(),
            "a Slack webhook",
        ),
        (
            "BOT",
            ["123456789:", "AAHk2ZqL0mN7vB4tY6uP1sA3dF5gH9jK2cE"].concat(),
            "a Telegram bot token",
        ),
        (
            "SERVICE_JWT",
            [
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
                ".eyJzdWIiOiJzZXJ2aWNlLWEiLCJpYXQiOjE3MDAwMDAwMDB9",
                ".c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWc",
            ]
            .concat(),
            "a JSON Web Token",
        ),
        (
            "BILLING",
            ["sk_live_", "51HxQz2eZvKYlo2C8xW9aB"].concat(),
            "a Stripe secret key",
        ),
    ]
}

#[test]
fn a_well_known_credential_under_a_harmless_name_is_reported_by_its_format() {
    let formats = formats();
    let env: String = formats
        .iter()
        .map(|(name, value, _)| {
            format!(
                "- name: {name}\n  value: {}\n",
                serde_json::to_string(value).unwrap()
            )
        })
        .collect();
    let yaml = deployment(&format!("env:\n{env}"), "");
    let secrets: Vec<&str> = formats.iter().map(|(_, v, _)| v.as_str()).collect();
    // The distinctive tails must not appear either.
    let tails: Vec<&str> = secrets.iter().map(|s| &s[s.len() - 12..]).collect();
    let f = run(
        None,
        &yaml,
        &[secrets.as_slice(), tails.as_slice()].concat(),
    );
    assert_eq!(f.len(), formats.len(), "{f:#?}");
    for (f, (name, _, what)) in f.iter().zip(&formats) {
        assert_eq!((f.rule.as_str(), f.variable.as_str()), (ENV, *name));
        assert!(f.message.contains(what), "{name}: {}", f.message);
    }
}

#[test]
fn a_random_key_under_a_key_like_name_is_reported_by_entropy() {
    let yaml = deployment(
        "env:
- {name: ENCRYPTION_KEY, value: q8Z3vN1xK7pL0mW4tR9yB2cF}
- {name: CACHE_KEY, value: users-by-id}
- {name: S3_KEY, value: uploads/avatar.png}
- {name: JWT_PUBLIC_KEY_ID, value: q8Z3vN1xK7pL0mW4tR9yB2cF}",
        "",
    );
    let f = run(None, &yaml, &["q8Z3vN1xK7pL0mW4tR9yB2cF"]);
    assert_eq!(pairs(&f), [p(ENV, "ENCRYPTION_KEY")]);
    assert!(f[0].message.contains("random-looking"), "{}", f[0].message);
}

// ---------------------------------------------------------------- look-alikes

#[test]
fn look_alikes_stay_quiet() {
    let yaml = deployment(
        "env:
- {name: TOKEN_URL, value: 'https://auth.example.com/realms/app/protocol/openid-connect/token'}
- {name: SECRET_NAME, value: app-credentials}
- {name: API_KEY_HEADER, value: X-Api-Key}
- {name: DB_PASSWORD_FILE, value: /run/secrets/db/password}
- {name: SECRETS_DIR, value: /run/secrets}
- {name: JWKS_URL, value: 'https://auth.example.com/.well-known/jwks.json'}
- {name: OIDC_JWKS_URI, value: 'https://auth.example.com/certs'}
- name: JWT_PUBLIC_KEY
  value: |
    -----BEGIN PUBLIC KEY-----
    MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo
    -----END PUBLIC KEY-----
- {name: SSH_HOST_KEY_PUB, value: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGl2b3Vy host'}
- {name: IMAGE_DIGEST, value: 'sha256:6b2f5b8d4e0f7c6a1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c'}
- {name: GIT_COMMIT, value: 9fceb02d0ae598e95dc970b74767f19372d61af8}
- {name: BUILD_SHA, value: 9fceb02}
- {name: FEATURE_PASSWORD_RESET, value: 'true'}
- {name: AUTH_ENABLED, value: 'false'}
- {name: TOKEN_TTL, value: 15m}
- {name: PASSWORD_MIN_LENGTH, value: '12'}
- {name: AUTH_TYPE, value: oidc}
- {name: BASIC_AUTH_USER, value: admin}
- {name: OAUTH_CLIENT_ID, value: web-frontend}
- {name: PASSPORT_PROVIDER, value: google}
- {name: DB_PASSWORD, value: ''}
- {name: REDIS_PASSWORD, value: '${REDIS_PASSWORD}'}
- name: API_TOKEN
  valueFrom: {secretKeyRef: {name: api, key: token}}
args: [--config=/etc/app/config.yaml, --token-file, /run/secrets/api/token, --auth-mode=oidc]
livenessProbe:
  exec:
    command: [sh, -c, 'redis-cli -a \"$REDIS_PASSWORD\" ping']",
        "",
    );
    let f = run(None, &yaml, &[]);
    assert!(f.is_empty(), "{f:#?}");
}

// ---------------------------------------------------------------- where pods hide

#[test]
fn init_ephemeral_and_core_pod_template_containers_are_judged() {
    let yaml = "apiVersion: v1
kind: PodTemplate
metadata:
  name: worker-template
template:
  metadata:
    labels: {app: worker}
  spec:
    initContainers:
    - name: migrate
      image: migrate:1
      env:
      - {name: DB_PASSWORD, value: Init-4411}
    containers:
    - name: worker
      image: worker:1
---
apiVersion: v1
kind: Pod
metadata:
  name: debug-me
spec:
  containers:
  - name: app
    image: app:1
  ephemeralContainers:
  - name: debugger
    image: busybox:1.36
    env:
    - {name: ADMIN_TOKEN, value: Eph-7720}
";
    let f = run(None, yaml, &["Init-4411", "Eph-7720"]);
    let got: Vec<(String, String, String)> = f
        .iter()
        .filter(|f| f.rule == ENV)
        .map(|f| (f.workload.clone(), f.variable.clone(), f.path.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "PodTemplate/worker-template".to_string(),
                "DB_PASSWORD".to_string(),
                "template.spec.initContainers[migrate].env[DB_PASSWORD]".to_string()
            ),
            (
                "Pod/debug-me".to_string(),
                "ADMIN_TOKEN".to_string(),
                "spec.ephemeralContainers[debugger].env[ADMIN_TOKEN]".to_string()
            ),
        ]
    );
}

#[test]
fn helm_hooks_are_judged_like_any_workload() {
    let yaml = "apiVersion: batch/v1
kind: Job
metadata:
  name: db-migrate
  annotations:
    helm.sh/hook: pre-upgrade
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: migrate:1
        args: ['--database-url=postgres://admin:Hook-2291@db:5432/app']
---
apiVersion: v1
kind: Pod
metadata:
  name: web-test-connection
  annotations:
    helm.sh/hook: test
spec:
  restartPolicy: Never
  containers:
  - name: wget
    image: busybox:1.36
    env:
    - {name: TEST_PASSWORD, value: HookTest-33}
";
    let f = run(None, yaml, &["Hook-2291", "HookTest-33"]);
    let got: Vec<(String, String)> = f
        .iter()
        .filter(|f| f.rule.starts_with("sensitive-"))
        .map(|f| (f.workload.clone(), f.rule.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("Job/db-migrate".to_string(), CMD.to_string()),
            ("Pod/web-test-connection".to_string(), ENV.to_string()),
        ]
    );
}

// ---------------------------------------------------------------- *_FILE

const THE0_API_FILE: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: the0-api
spec:
  template:
    spec:
      containers:
      - name: api
        image: the0/api:1
        env:
        - {name: THE0_ADMIN_PASSWORD_FILE, value: /run/secrets/admin/password}
        volumeMounts:
        - {name: admin, mountPath: /run/secrets/admin, readOnly: true}
      volumes:
      - name: admin
        SOURCE
---
apiVersion: v1
kind: Secret
metadata:
  name: the0-admin
stringData:
  password: File-5512
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: the0-admin-cm
data:
  password: File-5512
";

#[test]
fn a_file_variable_pointing_into_a_mounted_secret_counts_as_from_that_secret() {
    let secret = THE0_API_FILE.replace("SOURCE", "secret: {secretName: the0-admin}");
    let f = run(None, &secret, &["File-5512"]);
    assert!(
        !f.iter().any(|f| f.rule == "admin-password-missing"),
        "{f:#?}"
    );
    // The same file from a ConfigMap is neither a Secret nor quiet.
    let cm = THE0_API_FILE.replace("SOURCE", "configMap: {name: the0-admin-cm}");
    let f = run(None, &cm, &["File-5512"]);
    let rules: Vec<&str> = f.iter().map(|f| f.rule.as_str()).collect();
    assert!(rules.contains(&"admin-password-missing"), "{f:#?}");
    assert!(
        f.iter()
            .any(|f| f.rule == CM && f.variable == "THE0_ADMIN_PASSWORD_FILE"),
        "{f:#?}"
    );
}

// ---------------------------------------------------------------- severity and modes

const MIXED: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  template:
    spec:
      containers:
      - name: worker
        image: worker:1
        env:
        - {name: QUEUE_TOKEN, value: Queue-7781}
        - name: DB_PASSWORD
          valueFrom: {secretKeyRef: {name: db, key: password}}
        envFrom:
        - secretRef: {name: api-keys}
        volumeMounts:
        - {name: tls, mountPath: /tls}
      volumes:
      - name: tls
        secret: {secretName: tls}
";

#[test]
fn plaintext_credentials_are_warnings_by_default_and_errors_by_policy() {
    let f = run(None, MIXED, &["Queue-7781"]);
    let got: Vec<(&str, &str)> = f
        .iter()
        .filter(|f| f.rule == ENV)
        .map(|f| (f.variable.as_str(), f.severity.as_str()))
        .collect();
    assert_eq!(got, [("QUEUE_TOKEN", "warning")]);
    let strict = "apiVersion: secret-rollout/v1
sensitiveNames: [TOKEN, PASSWORD]
rules:
  sensitive-env-plain-value: error
  sensitive-config-map-value: error
  sensitive-command-value: error
  unresolved-reference: off
";
    let f = run(Some(strict), MIXED, &["Queue-7781"]);
    let got: Vec<(&str, &str)> = f
        .iter()
        .map(|f| (f.variable.as_str(), f.severity.as_str()))
        .collect();
    assert_eq!(got, [("QUEUE_TOKEN", "error")]);
}

#[test]
fn secrets_as_files_reports_every_secret_read_into_env_and_the_default_does_not() {
    let quiet = run(None, MIXED, &[]);
    assert!(
        !quiet.iter().any(|f| f.rule == "secret-in-env"),
        "{quiet:#?}"
    );
    let files = "apiVersion: secret-rollout/v1
sensitiveNames: [TOKEN]
guard: {secretsAs: files}
rules: {unresolved-reference: off}
";
    let f = run(Some(files), MIXED, &["Queue-7781"]);
    let got: Vec<(&str, &str)> = f
        .iter()
        .filter(|f| f.rule == "secret-in-env")
        .map(|f| (f.variable.as_str(), f.path.as_str()))
        .collect();
    // The secretKeyRef and the envFrom secretRef; the mounted Secret is fine.
    assert_eq!(
        got,
        [
            (
                "DB_PASSWORD",
                "spec.template.spec.containers[worker].env[DB_PASSWORD].valueFrom.secretKeyRef"
            ),
            (
                "",
                "spec.template.spec.containers[worker].envFrom[0].secretRef"
            ),
        ]
    );
    assert!(f
        .iter()
        .all(|f| f.rule != "secret-in-env" || f.severity == "warning"));
}

#[test]
fn a_policy_can_switch_value_formats_off_and_add_exact_names() {
    let yaml = deployment(
        &format!(
            "env:\n- {{name: CI_HELPER, value: {}}}\n- {{name: WEBHOOK_SIGNATURE_SEED, value: abc}}",
            ["ghp_", "R8kXw2ZqL0mN7vB4tY6uP1sA3dF5gH9jK2cE"].concat()
        ),
        "",
    );
    let policy = "apiVersion: secret-rollout/v1
sensitiveNames: [PASSWORD]
guard:
  names: [webhook-signature-seed]
  formats: false
";
    let f = run(
        Some(policy),
        &yaml,
        &["R8kXw2ZqL0mN7vB4tY6uP1sA3dF5gH9jK2cE"],
    );
    assert_eq!(pairs(&f), [p(ENV, "WEBHOOK_SIGNATURE_SEED")]);
    assert!(
        f[0].message.contains("the policy names it"),
        "{}",
        f[0].message
    );
}

// ---------------------------------------------------------------- rotation reach

const REACH: &str = "apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  updateStrategy: {type: OnDelete}
  template:
    spec:
      containers:
      - name: db
        image: postgres:16
        envFrom: [{secretRef: {name: db-auth}}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  paused: true
  template:
    spec:
      containers:
      - name: api
        image: api:1
        env:
        - name: DB_PASSWORD
          valueFrom: {secretKeyRef: {name: db-auth, key: password}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: web:1
        volumeMounts: [{name: tls, mountPath: /tls}]
      volumes:
      - name: tls
        secret: {secretName: web-tls}
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: backup
spec:
  schedule: '0 3 * * *'
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: backup
            image: backup:1
            envFrom: [{secretRef: {name: db-auth}}]
---
apiVersion: v1
kind: Secret
metadata:
  name: db-auth
stringData: {password: REPLACE}
---
apiVersion: v1
kind: Secret
metadata:
  name: web-tls
immutable: true
stringData: {tls.key: k}
";

#[test]
fn consumers_a_changed_stamp_cannot_restart_and_immutable_sources_are_noted() {
    let f = run(None, &REACH.replace("REPLACE", "Reach-1"), &["Reach-1"]);
    let got: Vec<(&str, &str)> = f
        .iter()
        .filter(|f| f.rule == "rotation-not-reached")
        .map(|f| (f.workload.as_str(), f.severity.as_str()))
        .collect();
    // The CronJob's next run reads the new value: not reported.
    assert_eq!(
        got,
        [
            ("StatefulSet/db", "note"),
            ("Deployment/api", "note"),
            ("Deployment/web", "note"),
        ]
    );
    let on_delete = &f
        .iter()
        .find(|f| f.workload == "StatefulSet/db")
        .unwrap()
        .message;
    assert!(
        on_delete.contains("Secret db-auth") && on_delete.contains("OnDelete"),
        "{on_delete}"
    );
    let paused = &f
        .iter()
        .find(|f| f.workload == "Deployment/api")
        .unwrap()
        .message;
    assert!(paused.contains("paused"), "{paused}");
    let immutable = f.iter().find(|f| f.workload == "Deployment/web").unwrap();
    assert!(
        immutable
            .message
            .contains("Secret web-tls, which is immutable"),
        "{}",
        immutable.message
    );
    assert_eq!(immutable.path, "spec.template.spec.volumes[tls].secret");
}

fn sr(args: &[&str], stdin: &str) -> String {
    let out = run_cmd(common::bin().current_dir(root()).args(args), stdin);
    common::assert_ok(&out, "secret-rollout")
}

#[test]
fn explain_shows_the_rotation_reach_of_each_consumer() {
    let text = sr(&["explain"], &REACH.replace("REPLACE", "x"));
    let block = |w: &str| -> String {
        text.split("\n\n")
            .find(|b| b.starts_with(w))
            .unwrap_or_else(|| panic!("{w} in:\n{text}"))
            .to_string()
    };
    assert!(
        block("StatefulSet/db").contains("rotation reach: updateStrategy OnDelete"),
        "{text}"
    );
    assert!(
        block("Deployment/api").contains("rotation reach: the Deployment is paused"),
        "{text}"
    );
    assert!(
        block("CronJob/backup")
            .contains("rotation reach: a CronJob: running jobs keep the old value"),
        "{text}"
    );
    assert!(
        !block("Deployment/web").contains("rotation reach"),
        "{text}"
    );
    assert!(
        block("Deployment/web").contains("(immutable: rotate by a new name)"),
        "{text}"
    );
    let secret = sr(
        &["explain", "--secret", "db-auth"],
        &REACH.replace("REPLACE", "x"),
    );
    assert!(
        secret.contains("rolls when a key it reads changes, but updateStrategy OnDelete"),
        "{secret}"
    );
    let json: Value = serde_json::from_str(&sr(
        &["explain", "--format", "json"],
        &REACH.replace("REPLACE", "x"),
    ))
    .unwrap();
    let reach: Vec<(String, Value)> = json["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["workload"].as_str().unwrap().to_string(),
                w["reach"].clone(),
            )
        })
        .collect();
    assert_eq!(reach[2], ("Deployment/web".to_string(), Value::Null));
    assert!(reach[0].1.as_str().unwrap().contains("OnDelete"));
}

#[test]
fn diff_does_not_count_an_on_delete_or_paused_consumer_as_rolling() {
    let dir = temp_dir("guard-diff-reach");
    let before = write_temp(&dir, "before.yaml", &REACH.replace("REPLACE", "Old-1"));
    let after = write_temp(&dir, "after.yaml", &REACH.replace("REPLACE", "New-2"));
    let json: Value = serde_json::from_str(&sr(
        &[
            "diff",
            before.to_str().unwrap(),
            after.to_str().unwrap(),
            "--format",
            "json",
        ],
        "",
    ))
    .unwrap();
    let rolls: Vec<(String, bool)> = json["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["workload"].as_str().unwrap().to_string(),
                w["rolls"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rolls,
        [
            ("StatefulSet/db".to_string(), false),
            ("Deployment/api".to_string(), false),
            ("Deployment/web".to_string(), false),
            ("CronJob/backup".to_string(), true),
        ]
    );
    let text = sr(
        &["diff", before.to_str().unwrap(), after.to_str().unwrap()],
        "",
    );
    assert!(
        text.contains("its stamp changes, but updateStrategy OnDelete"),
        "{text}"
    );
    assert!(
        text.contains("its stamp changes, but the Deployment is paused"),
        "{text}"
    );
    assert!(text.contains("the next run reads the new one"), "{text}");
    assert!(!text.contains("Old-1") && !text.contains("New-2"));
}

// ---------------------------------------------------------------- suppressions

fn suppressed(annotation: &str) -> (Vec<F>, Value) {
    let yaml = format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo
  annotations:
    secret-rollout/ignore: \"{annotation}\"
spec:
  template:
    spec:
      containers:
      - name: demo
        image: demo:1
        env:
        - {{name: DEMO_TOKEN, value: Demo-4410}}
"
    );
    let f = run(None, &yaml, &["Demo-4410"]);
    let out = run_cmd(
        common::bin()
            .current_dir(root())
            .env("SECRET_ROLLOUT_DIGEST_KEY_FILE", "testdata/digest.key")
            .args(["check", "--format", "json"]),
        &yaml,
    );
    (f, serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn a_suppression_with_a_reason_and_a_future_date_suppresses() {
    let (f, json) =
        suppressed("sensitive-env-plain-value: dummy values in the demo chart; until 2099-12-31");
    assert!(f.is_empty(), "{f:#?}");
    let all = json["findings"].as_array().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        all[0]["suppression_reason"],
        "dummy values in the demo chart"
    );
}

#[test]
fn a_suppression_past_its_date_stops_working_and_says_so() {
    let (f, _) = suppressed("sensitive-env-plain-value: demo only; until 2020-01-31");
    assert_eq!(
        pairs(&f),
        [p("expired-suppression", ""), p(ENV, "DEMO_TOKEN")]
    );
    assert!(
        f[0].message.contains("expired on 2020-01-31")
            && f[0]
                .message
                .contains("sensitive-env-plain-value reported again"),
        "{}",
        f[0].message
    );
    // A date that cannot be read counts as expired: fail closed.
    let (f, _) = suppressed("sensitive-env-plain-value: demo only; until next sprint");
    assert_eq!(
        pairs(&f),
        [p("expired-suppression", ""), p(ENV, "DEMO_TOKEN")]
    );
    assert!(f[0].message.contains("not a date"), "{}", f[0].message);
}

#[test]
fn a_suppression_without_a_reason_still_suppresses_and_is_reported() {
    let (f, _) = suppressed("sensitive-env-plain-value");
    assert_eq!(pairs(&f), [p("suppression-without-reason", "")]);
    assert_eq!(f[0].severity, "warning");
}

// ---------------------------------------------------------------- SARIF

fn sarif_fingerprints(yaml: &str) -> Vec<(String, String)> {
    let out = run_cmd(
        common::bin()
            .current_dir(root())
            .env("SECRET_ROLLOUT_DIGEST_KEY_FILE", "testdata/digest.key")
            .args(["check", "--format", "sarif"]),
        yaml,
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap().to_string(),
                r["partialFingerprints"]["secretRolloutFinding/v1"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn sarif_fingerprints_follow_a_finding_across_runs_without_its_value_or_line() {
    let first = deployment(
        "env:\n- {name: QUEUE_TOKEN, value: Fp-1111}\n- {name: DB_PASSWORD, value: Fp-2222}",
        "",
    );
    // Lines above moved and both values changed: the same two findings.
    let second = deployment(
        "env:\n- {name: LOG_LEVEL, value: info}\n- {name: FEATURE_X, value: 'true'}\n- {name: QUEUE_TOKEN, value: Fp-3333}\n- {name: DB_PASSWORD, value: Fp-4444}",
        "",
    );
    let a = sarif_fingerprints(&first);
    let b = sarif_fingerprints(&second);
    assert_eq!(a.len(), 2);
    assert_eq!(a, b);
    assert_ne!(a[0].1, a[1].1, "two findings, two fingerprints");
    // Same finding in another workload: another fingerprint.
    let other = sarif_fingerprints(&first.replace("name: web", "name: api"));
    assert_ne!(a[0].1, other[0].1);
    for (_, fp) in &a {
        assert!(!fp.contains("Fp-"));
        let (hash, n) = fp.split_once(':').unwrap();
        assert_eq!((hash.len(), n), (64, "1"));
    }
}

// ---------------------------------------------------------------- docs

/// The block of `text` that starts with the line `first` and ends at a blank
/// line or a fence.
fn block(text: &str, first: &str) -> String {
    let start = text
        .find(&format!("\n{first}\n"))
        .unwrap_or_else(|| panic!("{first}"))
        + 1;
    text[start..]
        .lines()
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("```"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn the_policy_docs_guard_and_severity_examples_are_valid_and_do_what_they_say() {
    let docs = std::fs::read_to_string(root().join("docs/policy.md")).unwrap();
    let guard = format!("apiVersion: secret-rollout/v1\n{}", block(&docs, "guard:"));
    let f = run(Some(&guard), MIXED, &["Queue-7781"]);
    // The docs' example keeps env mode: no secret-in-env; names as documented.
    assert!(f.iter().all(|f| f.rule != "secret-in-env"), "{f:#?}");
    let strict = format!(
        "apiVersion: secret-rollout/v1\nsensitiveNames: [TOKEN]\n{}",
        block(&docs[docs.find("## Severity").unwrap()..], "rules:")
    );
    let f = run(Some(&strict), MIXED, &["Queue-7781"]);
    assert!(
        f.iter()
            .any(|f| f.variable == "QUEUE_TOKEN" && f.severity == "error"),
        "{f:#?}"
    );
    let files = format!(
        "apiVersion: secret-rollout/v1\n{}",
        block(&docs, "guard:").replace("secretsAs: env ", "secretsAs: files")
    );
    let f = run(Some(&files), MIXED, &["Queue-7781"]);
    assert!(f.iter().any(|f| f.rule == "secret-in-env"), "{f:#?}");
}

#[test]
fn a_guarded_variable_from_an_env_from_config_map_is_reported_once_by_its_own_rule() {
    let yaml = deployment(
        "envFrom:\n- configMapRef: {name: admin}",
        "---
apiVersion: v1
kind: ConfigMap
metadata:
  name: admin
data:
  THE0_ADMIN_PASSWORD: Guarded-5150
",
    );
    let f = run(None, &yaml, &["Guarded-5150"]);
    assert_eq!(
        pairs(&f),
        [p("admin-password-not-from-secret", "THE0_ADMIN_PASSWORD")]
    );
    assert_eq!(f[0].severity, "error");
}
