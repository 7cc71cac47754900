//! The stream is read as Go reads it (goyaml.v2 through sigs.k8s.io/yaml, as
//! kubectl and Helm's kube client decode): one test per way a reader that
//! differs from Go would judge or stamp something Kubernetes never gets.
//! Where the meaning matters, the real kubectl confirms the premise.

mod common;

use std::path::PathBuf;

use common::oracle;
use serde_json::Value;

const ADMIN_SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata: {name: the0-admin}\nstringData: {password: correct-horse}\n";

/// A the0-api Deployment whose container carries `container` (YAML at the
/// container's indentation, 8 spaces).
fn api(container: &str) -> String {
    deployment(
        "the0-api",
        "{app.kubernetes.io/name: the0, app.kubernetes.io/component: api}",
        container,
    )
}

/// A Deployment the0's policy does not single out.
fn web(container: &str) -> String {
    deployment("web", "{app: web}", container)
}

fn deployment(name: &str, labels: &str, container: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  labels: {labels}\nspec:\n  template:\n    spec:\n      containers:\n      - name: api\n        image: the0/api\n{container}"
    )
}

struct Run {
    code: i32,
    out: Vec<u8>,
    err: String,
}

fn render_bytes(input: &[u8]) -> Run {
    let mut cmd = common::bin();
    let out = common::run_cmd_bytes(&mut cmd, input);
    Run {
        code: out.status.code().unwrap_or(-1),
        out: out.stdout,
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn render(input: &str) -> Run {
    render_bytes(input.as_bytes())
}

fn scratch(name: &str) -> PathBuf {
    common::temp_dir(&format!("go-reading-{name}"))
}

/// kubectl's objects for these bytes.
fn kubectl(name: &str, bytes: &[u8]) -> Vec<Value> {
    let dir = scratch(name);
    let file = dir.join("in.yaml");
    std::fs::write(&file, bytes).unwrap();
    oracle::decode(&dir, &[&file]).unwrap_or_else(|e| panic!("{e}"))
}

fn find<'v>(objects: &'v [Value], id: &str) -> &'v Value {
    objects
        .iter()
        .find(|o| oracle::object_id(o) == id)
        .unwrap_or_else(|| panic!("kubectl sees no {id}"))
}

fn first_env(objects: &[Value]) -> &Value {
    &find(objects, "Deployment/the0-api")["spec"]["template"]["spec"]["containers"][0]["env"][0]
}

fn refused_by_policy(input: &str, rule: &str) {
    let r = render(input);
    assert_eq!(r.code, 1, "expected {rule}; stderr:\n{}", r.err);
    assert!(r.out.is_empty(), "nothing on stdout when refusing");
    assert!(r.err.contains(&format!("error[{rule}]")), "{}", r.err);
}

fn stamped(input: &str) -> String {
    let r = render(input);
    assert_eq!(r.code, 0, "stderr:\n{}", r.err);
    String::from_utf8(r.out).unwrap()
}

#[test]
fn a_merge_key_that_overrides_value_from_gives_a_plain_value() {
    for merge in ["<<", "!!merge <<"] {
        let container = format!(
            "        env:\n        - name: THE0_ADMIN_PASSWORD\n          valueFrom: {{secretKeyRef: {{name: the0-admin, key: password}}}}\n          {merge}: {{valueFrom: null, value: plain-text}}\n"
        );
        let input = format!("{ADMIN_SECRET}---\n{}", api(&container));
        let env = first_env(&kubectl("merge", input.as_bytes())).clone();
        assert_eq!(env["value"], "plain-text", "premise: Go merges in order");
        assert!(env.get("valueFrom").is_none_or(Value::is_null), "{env}");
        refused_by_policy(&input, "admin-password-not-from-secret");
    }
}

#[test]
fn unicode_line_breaks_end_a_comment_and_what_follows_is_read() {
    for brk in ["\u{2028}", "\u{2029}", "\u{85}"] {
        let container = format!(
            "        env: # note{brk}        - name: THE0_ADMIN_PASSWORD{brk}          value: plain-text\n"
        );
        let input = format!("{ADMIN_SECRET}---\n{}", api(&container));
        assert_eq!(
            first_env(&kubectl("breaks", input.as_bytes()))["value"],
            "plain-text",
            "premise: Go reads the entry after the line break"
        );
        refused_by_policy(&input, "admin-password-not-from-secret");
    }
}

#[test]
fn unicode_line_breaks_in_a_quoted_value_digest_as_go_reads_them() {
    // Go folds a NEL in a double-quoted scalar to a space and keeps LS.
    let stamp = |value: &str| {
        let input = format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData:\n  k: \"{value}\"\n---\n{}",
            web("        envFrom: [{secretRef: {name: s}}]\n")
        );
        let out = stamped(&input);
        let line = out
            .lines()
            .find(|l| l.contains("secret-rollout/secret.s"))
            .unwrap()
            .to_string();
        line
    };
    assert_eq!(stamp("a\u{85}b"), stamp("a b"));
    assert_ne!(stamp("a\u{2028}b"), stamp("a b"));
}

#[test]
fn tags_are_honoured_on_optional_and_null() {
    let container = "        env:\n        - name: THE0_ADMIN_PASSWORD\n          valueFrom: {secretKeyRef: {name: the0-admin, key: password}}\n        - name: EXTRA\n          valueFrom: {secretKeyRef: {name: the0-admin, key: absent, optional: !!bool true}}\n";
    let input = format!("{ADMIN_SECRET}---\n{}", api(container));
    let r = render(&input);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(!r.err.contains("missing-secret-key"), "{}", r.err);
}

#[test]
fn keys_resolve_as_yaml_1_1_so_on_is_true() {
    let secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {on: x}\n";
    let with_key = |key: &str| {
        format!(
            "{secret}---\n{}",
            web(&format!("        env:\n        - name: X\n          valueFrom: {{secretKeyRef: {{name: s, key: {key}}}}}\n"))
        )
    };
    let objects = kubectl("on", with_key("'true'").as_bytes());
    assert_eq!(
        find(&objects, "Secret/s")["stringData"]["true"],
        "x",
        "premise"
    );
    let r = render(&with_key("'on'"));
    assert_eq!(r.code, 1, "{}", r.err);
    assert!(r.err.contains("error[missing-secret-key]"), "{}", r.err);
    assert_eq!(render(&with_key("'true'")).code, 0);
}

#[test]
fn any_object_with_items_is_a_list_as_kubectl_expands_it() {
    for kind in ["List", "DeploymentList", "SecretList"] {
        let container =
            "        env:\n        - name: THE0_ADMIN_PASSWORD\n          value: plain-text\n";
        let item = api(container).replace('\n', "\n  ");
        let input = format!("apiVersion: v1\nkind: {kind}\nitems:\n- {item}\n");
        assert_eq!(
            first_env(&kubectl("list", input.as_bytes()))["value"],
            "plain-text",
            "premise: kubectl applies the items of a {kind}"
        );
        refused_by_policy(&input, "admin-password-not-from-secret");
    }
}

#[test]
fn a_byte_order_mark_after_a_separator_reads_as_kubectl_reads_it() {
    // kubectl's stream reader drops the `---` line of every document but the
    // first piece; Go then skips a byte order mark at the start of the text
    // it decodes, and reads one anywhere else as text.
    let deployment = web("        envFrom: [{secretRef: {name: the0-admin}}]\n");
    let later = format!("{ADMIN_SECRET}---\n\u{feff}{deployment}");
    let object = find(&kubectl("bom-later", later.as_bytes()), "Deployment/web").clone();
    assert_eq!(object["apiVersion"], "apps/v1", "premise: {object}");
    let out = stamped(&later);
    assert!(out.contains("secret-rollout/secret.the0-admin"), "{out}");

    let first = format!("---\n\u{feff}{deployment}---\n{ADMIN_SECRET}");
    let object = find(&kubectl("bom-first", first.as_bytes()), "Deployment/web").clone();
    assert!(
        object.get("apiVersion").is_none() && object.get("\u{feff}apiVersion").is_some(),
        "premise: {object}"
    );
    // An object without apiVersion is no Deployment to us either.
    assert_eq!(stamped(&first), first);
}

#[test]
fn utf16_with_a_byte_order_mark_is_read_and_written_back_as_utf16() {
    let text = format!(
        "{ADMIN_SECRET}---\n{}",
        web("        envFrom: [{secretRef: {name: the0-admin}}]\n        args: [\"é\"]\n")
    );
    for big_endian in [false, true] {
        let mut bytes = if big_endian {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for unit in text.encode_utf16() {
            bytes.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        let r = render_bytes(&bytes);
        assert_eq!(r.code, 0, "{}", r.err);
        assert_eq!(r.out[..2], bytes[..2], "the byte order mark is kept");
        let units: Vec<u16> = r.out[2..]
            .chunks(2)
            .map(|c| {
                if big_endian {
                    u16::from_be_bytes([c[0], c[1]])
                } else {
                    u16::from_le_bytes([c[0], c[1]])
                }
            })
            .collect();
        let out = String::from_utf16(&units).unwrap();
        assert!(out.starts_with(&text[..40]) && out.contains("secret-rollout/secret.the0-admin"));
        let objects = kubectl("utf16", &r.out);
        let args =
            &find(&objects, "Deployment/web")["spec"]["template"]["spec"]["containers"][0]["args"];
        assert_eq!(args[0], "é");
    }
}

#[test]
fn bytes_that_are_not_utf8_read_as_go_reads_them_and_are_kept() {
    // kubectl decodes each such byte as U+FFFD; we read the same and copy the
    // bytes through unchanged.
    let mut input = b"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: \"a\xffb\"} # \xfe\n---\n".to_vec();
    input.extend(web("        envFrom: [{secretRef: {name: s}}]\n").as_bytes());
    let objects = kubectl("utf8", &input);
    assert_eq!(
        find(&objects, "Secret/s")["stringData"]["k"],
        "a\u{fffd}b",
        "premise"
    );
    let r = render_bytes(&input);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out.starts_with(&input[..input.len() - 20]),
        "bytes before the edit are kept"
    );
    assert!(
        r.out.windows(2).any(|w| w == b"\xffb"),
        "the bad byte is kept"
    );
    let stamp_of = |out: &[u8]| {
        let text = String::from_utf8_lossy(out).into_owned();
        text.lines()
            .find(|l| l.contains("secret-rollout/"))
            .map(str::to_string)
    };
    // The digest is that of the value Go reads.
    let replaced = String::from_utf8_lossy(&input).into_owned();
    assert_eq!(stamp_of(&r.out), stamp_of(&render(&replaced).out));
}

#[test]
fn flow_nesting_deeper_than_256_levels_is_accepted_as_go_accepts_it() {
    let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
    let input = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata: {{}}\nextra: {deep}\n---\n{}",
        web("        envFrom: [{configMapRef: {name: c}}]\n")
    );
    let dir = scratch("deep");
    let file = dir.join("in.yaml");
    std::fs::write(&file, &input).unwrap();
    let status = oracle::kubectl(&dir)
        .args([
            "patch", "--local", "--type", "merge", "-p", "{}", "-o", "name", "-f",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(status.status.success(), "premise: Go reads it");
    let out = stamped(&input);
    assert!(out.contains("secret-rollout/configmap.c"), "{out}");
}

#[test]
fn errors_name_the_place_never_the_content() {
    // A one-line JSON Secret: its line holds its values.
    let input = "{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"s\"}, \"stringData\": {\"password\": \"hunter2-secret\", \"token\": \"tok-3\" \"x\"}}\n";
    let r = render(input);
    assert_eq!(r.code, 2);
    assert!(r.out.is_empty());
    assert!(r.err.contains("line 1, column"), "{}", r.err);
    assert!(
        r.err.contains("stringData"),
        "the key path is named: {}",
        r.err
    );
    for secret in ["hunter2", "tok-3"] {
        assert!(!r.err.contains(secret), "a value leaked: {}", r.err);
    }
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: !!int hunter2}\n";
    let r = render(input);
    assert_eq!(r.code, 2);
    assert!(!r.err.contains("hunter2"), "{}", r.err);
}

#[test]
fn lone_cr_line_ends_are_read_and_kept() {
    let input = web("        envFrom: [{secretRef: {name: the0-admin}}]\n").replace('\n', "\r");
    // One object per `---` section; a CR-only stream is one section.
    let input = format!("{}\n---\n{input}", ADMIN_SECRET.trim_end());
    let out = stamped(&input);
    assert!(out.contains("secret-rollout/secret.the0-admin"), "{out:?}");
    let section = &out[out.find("---\n").unwrap() + 4..];
    assert!(
        !section.contains('\n'),
        "a LF in a CR-only document: {section:?}"
    );
    let objects = kubectl("cr", out.as_bytes());
    let template = &find(&objects, "Deployment/web")["spec"]["template"];
    assert!(template["metadata"]["annotations"]["secret-rollout/secret.the0-admin"].is_string());
    assert_eq!(stamped(&out), out, "a second run changes nothing");
}

// ------------------------------------------- tags, `!` and commas, JSON input

/// Every stamp of ours kubectl sees on the pod templates of `bytes`, by object.
fn stamps_seen(name: &str, bytes: &[u8]) -> Vec<(String, Value)> {
    kubectl(name, bytes)
        .iter()
        .filter_map(|o| {
            let annotations = oracle::template_of(o)?["metadata"]["annotations"].as_object()?;
            let ours: serde_json::Map<String, Value> = annotations
                .iter()
                .filter(|(k, _)| oracle::is_ours(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Some((oracle::object_id(o), Value::Object(ours)))
        })
        .collect()
}

/// A JSON string that reads the same to every YAML and JSON reader: ASCII
/// only, everything else escaped (`\U` past the BMP, which only YAML reads:
/// [`canonical`] streams are YAML).
fn ascii(v: &Value) -> String {
    let mut out = String::new();
    for c in serde_json::to_string(v).unwrap().chars() {
        match c as u32 {
            0x20..=0x7e => out.push(c),
            n @ 0..=0xffff => out.push_str(&format!("\\u{n:04x}")),
            n => out.push_str(&format!("\\U{n:08x}")),
        }
    }
    out
}

/// kubectl's objects written back as plain ASCII JSON documents in a YAML
/// stream (the leading comment makes it YAML to kubectl too): the meaning
/// kubectl read, in a form no reader can take two ways.
fn canonical(objects: &[Value]) -> String {
    let mut out = String::from("# kubectl's reading\n");
    for o in objects {
        out.push_str("---\n");
        out.push_str(&ascii(o));
        out.push('\n');
    }
    out
}

/// `input` is read as kubectl reads it: we accept it, kubectl sees our
/// output mean the input plus our stamps, and those stamps (digests of the
/// content) equal the ones we write for kubectl's own reading of the input.
/// Returns our output.
fn read_as_kubectl(name: &str, input: &[u8]) -> Vec<u8> {
    let objects = kubectl(name, input);
    let r = render_bytes(input);
    assert_eq!(r.code, 0, "{name}: refused what Go reads:\n{}", r.err);
    let after = kubectl(name, &r.out);
    assert_eq!(objects.len(), after.len(), "{name}: objects");
    for (i, o) in objects.iter().zip(&after) {
        assert_eq!(
            oracle::without_ours(i.clone()),
            oracle::without_ours(o.clone()),
            "{name}: the output means something else"
        );
    }
    let ours = stamps_seen(name, &r.out);
    assert!(
        ours.iter()
            .any(|(_, s)| s.as_object().is_some_and(|m| !m.is_empty())),
        "{name}: nothing stamped: {ours:?}"
    );
    let reference = render(&canonical(&objects));
    assert_eq!(reference.code, 0, "{name}: {}", reference.err);
    assert_eq!(
        ours,
        stamps_seen(name, &reference.out),
        "{name}: our digests differ from those of kubectl's reading"
    );
    r.out
}

const API_FROM_SECRET: &str = "        env:\n        - name: THE0_ADMIN_PASSWORD\n          valueFrom: {secretKeyRef: {name: the0-admin, key: password}}\n";

#[test]
fn verbatim_tags_read_as_go_reads_them_in_block_and_flow_context() {
    let block = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: !<tag:yaml.org,2002:str> the0-admin\nstringData:\n  password: !<tag:yaml.org,2002:str> hunter!2\n---\n{}",
        api(API_FROM_SECRET)
    );
    read_as_kubectl("verbatim-block", block.as_bytes());
    let flow = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: !<tag:yaml.org,2002:str> the0-admin}}\nstringData: {{password: !<tag:yaml.org,2002:str> 0644, other: [!<tag:yaml.org,2002:str> x, !<!local,x> y]}}\n---\n{}",
        api("        env: [{name: THE0_ADMIN_PASSWORD, valueFrom: {secretKeyRef: {name: !<tag:yaml.org,2002:str> the0-admin, key: !<tag:yaml.org,2002:str> password}}}]\n")
    )
    .replace("other: [!<tag:yaml.org,2002:str> x, !<!local,x> y]", "other: !<tag:yaml.org,2002:str> x");
    read_as_kubectl("verbatim-flow", flow.as_bytes());
    // The tag decides: `0644` is a string here, not the integer 420.
    let objects = kubectl("verbatim-premise", flow.as_bytes());
    assert_eq!(
        find(&objects, "Secret/the0-admin")["stringData"]["password"],
        "0644"
    );
}

#[test]
fn a_comma_or_bracket_after_a_tag_is_part_of_the_tag_as_in_go() {
    // Go's yaml.v2 reads `,` `[` `]` as tag characters: `!x,y` is one tag.
    let input = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: the0-admin, labels: {{a: !x,y b, c: !q] d}}}}\nstringData: {{password: !x,y,z hunter2, user: [!t,u] v]}}\n---\n{}",
        api(API_FROM_SECRET)
    )
    .replace("user: [!t,u] v]", "user: !t,u] v");
    let objects = kubectl("tag-commas", input.as_bytes());
    let secret = find(&objects, "Secret/the0-admin");
    assert_eq!(secret["metadata"]["labels"]["a"], "b", "premise");
    assert_eq!(secret["stringData"]["password"], "hunter2", "premise");
    read_as_kubectl("tag-commas", input.as_bytes());
    // What the tag swallows is gone: `{a: !!null, b: c}` has no key `b`, and
    // `c` cannot follow; Go refuses it, and so do we, naming the line.
    let bad = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: the0-admin}}\nstringData: {{password: !!null, b: c}}\n---\n{}",
        api(API_FROM_SECRET)
    );
    let r = render(&bad);
    assert_eq!(r.code, 2, "{}", r.err);
    assert!(r.out.is_empty());
    assert!(r.err.contains("line 4"), "{}", r.err);
}

#[test]
fn a_bang_in_quoted_scalars_before_flow_indicators_is_text() {
    for (q, password) in [('"', "correct!"), ('\'', "correct!")] {
        for (before, after) in [("{password: ", ", x: y}"), ("{x: y, password: ", "}")] {
            let secret = format!(
                "apiVersion: v1\nkind: Secret\nmetadata: {{name: the0-admin}}\nstringData: {before}{q}{password}{q}{after}\n"
            );
            let container = format!(
                "{API_FROM_SECRET}        args: [{q}a!{q}, {q}b!,c{q}, {q}!{q}]\n        command: [{q}x!{q}]\n"
            );
            let input = format!("{secret}---\n{}", api(&container));
            let out = read_as_kubectl("bang-quoted", input.as_bytes());
            let objects = kubectl("bang-quoted", &out);
            let c =
                &find(&objects, "Deployment/the0-api")["spec"]["template"]["spec"]["containers"][0];
            assert_eq!(c["args"], serde_json::json!(["a!", "b!,c", "!"]));
            assert_eq!(c["command"], serde_json::json!(["x!"]));
        }
    }
}

#[test]
fn a_json_secret_with_a_bang_in_its_password_is_read() {
    let secret = "{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"the0-admin\"}, \"stringData\": {\"password\": \"c0rrect!horse\", \"user\": \"admin!\"}}\n";
    let deployment = "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"the0-api\",\"labels\":{\"app.kubernetes.io/name\":\"the0\",\"app.kubernetes.io/component\":\"api\"}},\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"api\",\"image\":\"the0/api\",\"env\":[{\"name\":\"THE0_ADMIN_PASSWORD\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"the0-admin\",\"key\":\"password\"}}}]}]}}}}\n";
    // As the first documents of a stream (kubectl reads them as JSON), and
    // after a YAML one (read as YAML).
    read_as_kubectl(
        "json-secret-sep",
        format!("{secret}---\n{deployment}").as_bytes(),
    );
    read_as_kubectl(
        "json-after-yaml",
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\n---\n{secret}---\n{deployment}").as_bytes(),
    );
}

#[test]
fn kube_prometheus_stack_field_selector_args_in_flow_and_json_form() {
    let selector = "--secret-field-selector=type!=kubernetes.io/dockercfg,type!=kubernetes.io/service-account-token";
    let flow = format!(
        "{ADMIN_SECRET}---\n{}",
        web(&format!(
            "        envFrom: [{{secretRef: {{name: the0-admin}}}}]\n        args: [\"{selector}\", '{selector}']\n"
        ))
    );
    let out = read_as_kubectl("kps-flow", flow.as_bytes());
    let objects = kubectl("kps-flow", &out);
    assert_eq!(
        find(&objects, "Deployment/web")["spec"]["template"]["spec"]["containers"][0]["args"],
        serde_json::json!([selector, selector])
    );
    let json = format!(
        "{ADMIN_SECRET}---\n{{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{{\"name\":\"web\"}},\"spec\":{{\"template\":{{\"spec\":{{\"containers\":[{{\"name\":\"c\",\"image\":\"i\",\"args\":[\"{selector}\"],\"envFrom\":[{{\"secretRef\":{{\"name\":\"the0-admin\"}}}}]}}]}}}}}}}}\n"
    );
    read_as_kubectl("kps-json", json.as_bytes());
}

/// A JSON Secret the0-api reads its password from.
fn json_admin_secret(password_json: &str) -> String {
    format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {{\"name\": \"the0-admin\"}}, \"stringData\": {{\"password\": \"{password_json}\"}}}}\n"
    )
}

#[test]
fn raw_line_breaks_in_a_json_string_read_as_kubectl_reads_json() {
    // A stream that starts with a JSON object is JSON to kubectl: a raw NEL,
    // LS or PS in its strings is a character. After a `---` it is YAML.
    for brk in ["\u{85}", "\u{2028}", "\u{2029}"] {
        let secret = json_admin_secret(&format!("p{brk}  q"));
        let first = format!("{secret}---\n{}", api(API_FROM_SECRET));
        let objects = kubectl("nel-json", first.as_bytes());
        assert_eq!(
            find(&objects, "Secret/the0-admin")["stringData"]["password"],
            format!("p{brk}  q"),
            "premise: kubectl keeps the character"
        );
        let as_json = read_as_kubectl("nel-json", first.as_bytes());

        let later = format!("{}---\n{secret}", api(API_FROM_SECRET));
        let objects = kubectl("nel-yaml", later.as_bytes());
        let yaml_reading = if brk == "\u{85}" {
            "p q".to_string()
        } else {
            format!("p{brk}q")
        };
        assert_eq!(
            find(&objects, "Secret/the0-admin")["stringData"]["password"],
            yaml_reading,
            "premise: after `---` kubectl reads YAML, which folds the line"
        );
        let as_yaml = read_as_kubectl("nel-yaml", later.as_bytes());
        assert_ne!(
            stamps_seen("nel-json", &as_json),
            stamps_seen("nel-yaml", &as_yaml),
            "the two readings differ, and so do the digests"
        );
    }
}

#[test]
fn surrogate_pair_escapes_in_a_json_stream_are_read_as_kubectl_reads_them() {
    // Python's json.dumps writes an emoji as a pair of `\u` escapes: JSON
    // reads one character; YAML refuses them, and so does kubectl after `---`.
    let secret = json_admin_secret("pass\\ud83d\\ude00 \\ud800 lone");
    let input = format!("{secret}---\n{}", api(API_FROM_SECRET));
    let objects = kubectl("surrogates", input.as_bytes());
    assert_eq!(
        find(&objects, "Secret/the0-admin")["stringData"]["password"],
        "pass\u{1f600} \u{fffd} lone",
        "premise"
    );
    read_as_kubectl("surrogates", input.as_bytes());

    let later = format!("{}---\n{secret}", api(API_FROM_SECRET));
    let r = render(&later);
    assert_eq!(r.code, 2, "{}", r.err);
    assert!(r.out.is_empty());
    assert!(
        !r.err.contains("pass"),
        "no value in the message: {}",
        r.err
    );
}

#[test]
fn json_objects_one_after_another_are_refused_with_the_way_out() {
    // kubectl reads `{…}{…}` (jq -c output) as a stream of JSON objects; we
    // read one object per `---` section and say so, naming the place.
    let deployment = "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"envFrom\":[{\"secretRef\":{\"name\":\"the0-admin\"}}]}]}}}}\n";
    let secret = json_admin_secret("hunter2");
    let objects = kubectl("jsonl", format!("{secret}{deployment}").as_bytes());
    assert_eq!(objects.len(), 2, "premise");
    let r = render(&format!("{secret}{deployment}"));
    assert_eq!(r.code, 2, "{}", r.err);
    assert!(r.out.is_empty());
    assert!(r.err.contains("line 2, column 1"), "{}", r.err);
    assert!(r.err.contains("put a `---` line"), "{}", r.err);
    assert!(!r.err.contains("hunter2"), "{}", r.err);
    read_as_kubectl("jsonl", format!("{secret}---\n{deployment}").as_bytes());
}

#[test]
fn a_colon_before_a_flow_indicator_is_scalar_text_as_in_go() {
    // libyaml refuses these ("found unexpected ':'"); Go's yaml.v2 reads the
    // `:` as part of the plain scalar. The scanner is patched to read them
    // so (vendor/libyaml-safer/PATCHES.md, item 4), with no text rewritten.
    let input = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: flow-colons}\n\
                 data: {k: a:,b: c, x:, l: '[e:, f::]'}\n---\n\
                 apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {p: [q:]}\n";
    let go = kubectl("flow-colons", input.as_bytes());
    let cm = find(&go, "ConfigMap/flow-colons");
    assert_eq!(cm["data"]["k"], "a:", "premise: {cm}");
    assert!(
        cm["data"].get("x:").is_some_and(Value::is_null),
        "premise: {cm}"
    );
    let ours = secret_rollout::fuzzing::decode(input).expect("we read what Go reads");
    assert_eq!(
        ours.iter()
            .find(|o| oracle::object_id(o) == "ConfigMap/flow-colons"),
        Some(cm)
    );
    assert_eq!(
        ours.iter().find(|o| oracle::object_id(o) == "Secret/s"),
        Some(find(&go, "Secret/s"))
    );
    // And render leaves the documents as they were.
    let r = render(input);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.out, input.as_bytes());
}

#[test]
fn a_question_mark_ends_a_plain_scalar_in_a_flow_collection_as_in_go() {
    // Go ends the scalar at `?` and then meets a key indicator where `,` or
    // the end must come: refused (PATCHES.md item 7). Quoted, or outside a
    // flow collection, the `?` is text.
    let doc = |data: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: q}}\ndata: {data}\n")
    };
    for (n, refused) in ["{a?b: c}", "[a?b]", "{k: a?}"].into_iter().enumerate() {
        let input = doc(refused);
        let dir = scratch(&format!("question-refused-{n}"));
        let file = dir.join("in.yaml");
        std::fs::write(&file, &input).unwrap();
        assert!(
            oracle::decode(&dir, &[&file]).is_err(),
            "premise: kubectl refuses {refused}"
        );
        // `check` parses every document (render skips a ConfigMap no pod reads).
        let out = common::run(&["check"], &input);
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{refused}: {err}");
        assert!(
            err.contains("did not find expected ','"),
            "{refused}: {err}"
        );
    }
    for read in ["{k: \"a?\"}", "a?b"] {
        let input = doc(read);
        let go = kubectl(&format!("question-read-{}", read.len()), input.as_bytes());
        let ours = secret_rollout::fuzzing::decode(&input).expect("we read what Go reads");
        assert_eq!(ours, go, "{read}");
    }
}
