//! A loopback stand-in for the Kubernetes API server, for `--lookup`: no real
//! API server can be installed here. It speaks the API's wire format for the
//! only requests `--lookup` may make, GETs of one object by name
//! (`/api/v1/namespaces/{ns}/secrets/{name}`, `…/configmaps/{name}`): the
//! object as JSON (`data` base64, as the server returns it), or a `Status`
//! for 401, 403 and 404 written the way the API server writes them. It serves
//! HTTPS with a certificate from a test CA and checks a bearer token.
//! Everything else is answered 405 and recorded, so a test can assert that
//! nothing was listed.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};
use tokio_rustls::rustls;

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// The bearer token was the expected one.
    pub authorized: bool,
}

#[derive(Default)]
struct State {
    /// (resource, namespace, name) → the object's JSON.
    objects: HashMap<(String, String, String), Value>,
    /// (resource, namespace) the caller may not get.
    forbidden: HashSet<(String, String)>,
    /// Objects answered only after this long.
    slow: HashMap<(String, String, String), Duration>,
    seen: Vec<Seen>,
    /// A proxy in front that answers with this status code and echoes the
    /// request's Authorization header: a 403 as a Status message, anything
    /// else as a plain-text body.
    echo: HashMap<(String, String), u16>,
}

pub struct ApiServer {
    pub addr: SocketAddr,
    /// The CA that signed the server's certificate, PEM.
    pub ca_pem: String,
    pub token: String,
    state: Arc<Mutex<State>>,
}

/// The identity the 403 message names, as RBAC's message does.
pub const USER: &str = "system:serviceaccount:ci:deployer";

impl ApiServer {
    /// Listen on 127.0.0.1 (a free port) until the test process ends.
    pub fn start(token: &str) -> ApiServer {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "secret-rollout test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let (shared, expected) = (state.clone(), token.to_string());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let (acceptor, state, token) =
                        (acceptor.clone(), shared.clone(), expected.clone());
                    tokio::spawn(async move {
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let service = hyper::service::service_fn(move |req| {
                            let (state, token) = (state.clone(), token.clone());
                            async move {
                                Ok::<_, std::convert::Infallible>(answer(req, &state, &token).await)
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                            .await;
                    });
                }
            });
        });
        ApiServer {
            addr,
            ca_pem: ca.pem(),
            token: token.to_string(),
            state,
        }
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Serve a Secret as `kubectl create secret generic` would have made it.
    pub fn put_secret(&self, namespace: &str, name: &str, data: &[(&str, &str)]) {
        let b64 = base64::engine::general_purpose::STANDARD;
        let data: serde_json::Map<String, Value> = data
            .iter()
            .map(|(k, v)| (k.to_string(), json!(b64.encode(v))))
            .collect();
        let object = json!({
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": meta(namespace, name),
            "data": data,
            "type": "Opaque",
        });
        self.put("secrets", namespace, name, object);
    }

    pub fn put_config_map(&self, namespace: &str, name: &str, data: &[(&str, &str)]) {
        let data: serde_json::Map<String, Value> = data
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let object = json!({
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": meta(namespace, name),
            "data": data,
        });
        self.put("configmaps", namespace, name, object);
    }

    fn put(&self, resource: &str, namespace: &str, name: &str, object: Value) {
        let key = (
            resource.to_string(),
            namespace.to_string(),
            name.to_string(),
        );
        self.state.lock().unwrap().objects.insert(key, object);
    }

    pub fn remove(&self, resource: &str, namespace: &str, name: &str) {
        let key = (
            resource.to_string(),
            namespace.to_string(),
            name.to_string(),
        );
        self.state.lock().unwrap().objects.remove(&key);
    }

    /// RBAC: `USER` may not get `resource` in `namespace`.
    pub fn forbid(&self, resource: &str, namespace: &str) {
        let key = (resource.to_string(), namespace.to_string());
        self.state.lock().unwrap().forbidden.insert(key);
    }

    /// Answer every get of `resource` in `namespace` with `code`, echoing
    /// the request's bearer token back (as a careless proxy does).
    pub fn echo(&self, resource: &str, namespace: &str, code: u16) {
        let key = (resource.to_string(), namespace.to_string());
        self.state.lock().unwrap().echo.insert(key, code);
    }

    /// Answer this object only after `delay`.
    pub fn slow(&self, resource: &str, namespace: &str, name: &str, delay: Duration) {
        let key = (
            resource.to_string(),
            namespace.to_string(),
            name.to_string(),
        );
        self.state.lock().unwrap().slow.insert(key, delay);
    }

    /// The requests so far, and forget them.
    pub fn take_seen(&self) -> Vec<Seen> {
        std::mem::take(&mut self.state.lock().unwrap().seen)
    }

    /// A kubeconfig whose current context points here with `namespace`, the
    /// CA inline and the user `user` (YAML of a kubeconfig `user:`).
    pub fn kubeconfig(&self, dir: &Path, namespace: Option<&str>, user: &str) -> PathBuf {
        let b64 = base64::engine::general_purpose::STANDARD;
        let ns = namespace
            .map(|n| format!("\n    namespace: {n}"))
            .unwrap_or_default();
        let text = format!(
            "apiVersion: v1
kind: Config
clusters:
- name: loopback
  cluster:
    server: {url}
    certificate-authority-data: {ca}
contexts:
- name: the0-prod
  context:
    cluster: loopback
    user: deployer{ns}
current-context: the0-prod
users:
- name: deployer
  user:
{user}
",
            url = self.url(),
            ca = b64.encode(&self.ca_pem),
            user = indent(user, 4),
        );
        let path = dir.join("kubeconfig");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The token user: `user: {token: …}`.
    pub fn token_user(&self) -> String {
        format!("token: {}", self.token)
    }
}

fn indent(text: &str, by: usize) -> String {
    text.lines()
        .map(|l| format!("{}{l}", " ".repeat(by)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn meta(namespace: &str, name: &str) -> Value {
    json!({
        "name": name,
        "namespace": namespace,
        "uid": "6f1c1d2e-1111-4c3b-9a57-0d1e2f3a4b5c",
        "resourceVersion": "4242",
        "creationTimestamp": "2026-11-01T12:00:00Z",
    })
}

/// A `Status` as the API server writes it.
fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Value {
    let mut v = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(d) = details {
        v["details"] = d;
    }
    v
}

async fn answer(
    req: Request<hyper::body::Incoming>,
    state: &Mutex<State>,
    token: &str,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {token}"));
    state.lock().unwrap().seen.push(Seen {
        method: req.method().to_string(),
        path: path.clone(),
        authorized,
    });
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let target = match (req.method().as_str(), parts.as_slice()) {
        ("GET", ["api", "v1", "namespaces", ns, resource @ ("secrets" | "configmaps"), name])
            if req.uri().query().is_none() =>
        {
            Some((resource.to_string(), ns.to_string(), name.to_string()))
        }
        _ => None,
    };
    let Some(key) = target else {
        let body = status(
            405,
            "MethodNotAllowed",
            "only GET of one object by name is served here",
            None,
        );
        return respond(StatusCode::METHOD_NOT_ALLOWED, &body);
    };
    if !authorized {
        return respond(
            StatusCode::UNAUTHORIZED,
            &status(401, "Unauthorized", "Unauthorized", None),
        );
    }
    let (resource, ns, name) = &key;
    let echo = state
        .lock()
        .unwrap()
        .echo
        .get(&(resource.clone(), ns.clone()))
        .copied();
    if let Some(code) = echo {
        let said = format!("upstream refused the request with Authorization: Bearer {token}");
        let code = StatusCode::from_u16(code).unwrap();
        if code == StatusCode::FORBIDDEN {
            return respond(code, &status(403, "Forbidden", &said, None));
        }
        return Response::builder()
            .status(code)
            .header("content-type", "text/plain")
            .body(Full::new(Bytes::from(said)))
            .unwrap();
    }
    let details = json!({"name": name, "kind": resource});
    let (delay, forbidden, object) = {
        let s = state.lock().unwrap();
        (
            s.slow.get(&key).copied(),
            s.forbidden.contains(&(resource.clone(), ns.clone())),
            s.objects.get(&key).cloned(),
        )
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if forbidden {
        let message = format!(
            "{resource} \"{name}\" is forbidden: User \"{USER}\" cannot get resource \"{resource}\" in API group \"\" in the namespace \"{ns}\""
        );
        return respond(
            StatusCode::FORBIDDEN,
            &status(403, "Forbidden", &message, Some(details)),
        );
    }
    match object {
        Some(object) => respond(StatusCode::OK, &object),
        None => respond(
            StatusCode::NOT_FOUND,
            &status(
                404,
                "NotFound",
                &format!("{resource} \"{name}\" not found"),
                Some(details),
            ),
        ),
    }
}

fn respond(code: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .header("audit-id", "00000000-0000-0000-0000-000000000000")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}
