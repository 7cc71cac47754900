//! Properties over generated streams: stamping is idempotent, and digests
//! depend on consumed content only, never on how it is written.

use base64::Engine as _;
use proptest::prelude::*;
use secret_rollout::{analyze, apply, Options};

fn render(input: &str) -> String {
    let mut analysis = analyze(input, &Options::default()).expect("valid input");
    assert!(!analysis.has_errors(), "{:?}", analysis.findings);
    apply(input, &mut analysis)
}

/// The value of one of our annotations in a rendered stream.
fn stamp_of(output: &str, key: &str) -> Option<String> {
    let line = output.lines().find(|l| l.trim_start().starts_with(key))?;
    Some(line.split_once(": ")?.1.trim_matches('"').to_string())
}

/// Ways a pod template's annotations can be written before we stamp.
fn template_metadata() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "",
        "    metadata:\n",
        "    metadata: {}\n",
        "    metadata:\n      labels: {app: web}\n",
        "    metadata:\n      annotations:\n",
        "    metadata:\n      annotations: {}\n",
        "    metadata:\n      annotations: {team: core}\n",
        "    metadata:\n      annotations:\n        team: core\n        note: |+\n          kept\n\n",
        "    metadata:\n      annotations:\n        secret-rollout/secret.gone: \"sha256:00\"\n",
        "    metadata:\n      annotations:\n        secret-rollout/secret.db: stale\n        other: \"yes\"\n",
        "    metadata:\n      annotations: {secret-rollout/secret.db: stale, x: y}\n",
    ])
}

fn consumer() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "        env:\n        - name: DB_PASSWORD\n          valueFrom: {secretKeyRef: {name: db, key: password}}\n",
        "        envFrom:\n        - secretRef: {name: db}\n",
        "        envFrom:\n        - configMapRef: {name: settings}\n",
        "        env: []\n",
    ])
    .prop_map(str::to_string)
}

fn stream() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((template_metadata(), consumer()), 1..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(workloads, crlf, trailing_newline)| {
            let mut s = String::from(
                "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: pw, user: u}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {LOG: info}\n",
            );
            for (i, (meta, container)) in workloads.iter().enumerate() {
                s.push_str(&format!(
                    "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: w{i}}}\nspec:\n  template:\n{meta}    spec:\n      containers:\n      - name: c\n{container}"
                ));
            }
            if !trailing_newline {
                s.pop();
            }
            if crlf {
                s = s.replace('\n', "\r\n");
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_second_run_changes_nothing(input in stream()) {
        let once = render(&input);
        let twice = render(&once);
        prop_assert_eq!(&once, &twice);
        // and the first run really stamped every consumer
        prop_assert!(!input.contains("secretKeyRef") || once.contains("secret-rollout/secret.db: \"sha256:"));
    }

    #[test]
    fn only_our_annotations_change(input in stream()) {
        let out = render(&input);
        let strip = |s: &str| -> Vec<String> {
            s.lines()
                // Lines we may add or empty: our keys, and the maps that hold them.
                .filter(|l| {
                    let t = l.trim();
                    !(l.contains("secret-rollout/")
                        || t.starts_with("annotations:")
                        || t.starts_with("metadata:")
                        || t == "{}")
                })
                .map(|l| l.trim_end_matches('\r').to_string())
                .collect()
        };
        prop_assert_eq!(strip(&input), strip(&out));
    }
}

/// A Secret with `entries` written as `data` (base64, wrapped every `wrap`
/// characters when given) or as `stringData`, plus a consumer of `consumed`.
fn secret_stream(
    entries: &[(String, String)],
    as_data: bool,
    wrap: Option<usize>,
    consumed: &str,
) -> String {
    let mut s = String::from("apiVersion: v1\nkind: Secret\nmetadata: {name: app}\n");
    s.push_str(if as_data { "data:\n" } else { "stringData:\n" });
    for (k, v) in entries {
        if as_data {
            let b64 = base64::engine::general_purpose::STANDARD.encode(v);
            match wrap {
                Some(w) if w > 0 => {
                    s.push_str(&format!("  {k}: |\n"));
                    for chunk in b64.as_bytes().chunks(w) {
                        s.push_str(&format!("    {}\n", std::str::from_utf8(chunk).unwrap()));
                    }
                }
                _ => s.push_str(&format!("  {k}: {b64}\n")),
            }
        } else {
            s.push_str(&format!("  {k}: {}\n", serde_json::to_string(v).unwrap()));
        }
    }
    s.push_str(&format!(
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        env:\n        - name: X\n          valueFrom: {{secretKeyRef: {{name: app, key: {consumed}}}}}\n"
    ));
    s
}

fn entries() -> impl Strategy<Value = Vec<(String, String)>> {
    // Keys Go reads as strings when plain (`n`, `y`, `on` are booleans to it).
    prop::collection::btree_map("k[a-z]{0,7}", "[ -~]{0,40}", 2..6)
        .prop_map(|m| m.into_iter().collect())
}

const KEY: &str = "secret-rollout/secret.app";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn data_and_string_data_digest_alike(entries in entries(), wrap in prop::option::of(4usize..20), reverse in any::<bool>()) {
        let consumed = entries[0].0.clone();
        let mut shuffled = entries.clone();
        if reverse { shuffled.reverse(); }
        let a = stamp_of(&render(&secret_stream(&entries, false, None, &consumed)), KEY);
        let b = stamp_of(&render(&secret_stream(&shuffled, true, wrap, &consumed)), KEY);
        prop_assert!(a.is_some());
        prop_assert_eq!(a, b);
    }

    #[test]
    fn only_consumed_keys_move_the_digest(entries in entries(), change in "[ -~]{1,10}") {
        let consumed = entries[0].0.clone();
        let base = stamp_of(&render(&secret_stream(&entries, false, None, &consumed)), KEY);

        let mut other = entries.clone();
        other[1].1.push_str(&change);
        let unrelated = stamp_of(&render(&secret_stream(&other, false, None, &consumed)), KEY);
        prop_assert_eq!(&base, &unrelated);

        let mut mine = entries.clone();
        mine[0].1.push_str(&change);
        let rotated = stamp_of(&render(&secret_stream(&mine, false, None, &consumed)), KEY);
        prop_assert_ne!(&base, &rotated);
    }
}

#[test]
fn a_digest_key_turns_digests_into_hmacs_that_depend_on_it() {
    let input = secret_stream(
        &[("a".into(), "1".into()), ("b".into(), "2".into())],
        false,
        None,
        "a",
    );
    let with = |key: &[u8]| {
        let options = Options {
            digest_key: Some(key.to_vec()),
            ..Options::default()
        };
        let mut analysis = analyze(&input, &options).unwrap();
        stamp_of(&apply(&input, &mut analysis), KEY).unwrap()
    };
    let one = with(b"one");
    assert!(one.starts_with("hmac-sha256:"), "{one}");
    assert_ne!(one, with(b"two"));
    assert_eq!(one, with(b"one"));
    assert!(stamp_of(&render(&input), KEY)
        .unwrap()
        .starts_with("sha256:"));
}

mod flux_entry {
    //! `secret-rollout flux` over generated HelmRelease files: every layout
    //! of `spec` and `spec.postRenderers` gets our entry, finds it again,
    //! keeps it on a second run, and gives the rest back when it goes.

    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use secret_rollout::front::flux::{current, update};
    use secret_rollout::front::patch::Stamp;

    fn stamp((name, ns, digest): (&'static str, bool, u8)) -> Stamp {
        Stamp {
            kind: "Deployment".into(),
            name: name.into(),
            namespace: ns.then(|| "the0".into()),
            api_version: "apps/v1".into(),
            template_path: vec!["spec".into(), "template".into()],
            annotations: BTreeMap::from([(
                "secret-rollout/secret.db".into(),
                Some(format!("sha256:{digest:02x}")),
            )]),
        }
    }

    fn stamps() -> impl Strategy<Value = Vec<Stamp>> {
        prop::collection::vec(
            (
                prop::sample::select(vec!["the0-api", "web", "yes"]),
                any::<bool>(),
                any::<u8>(),
            ),
            0..3,
        )
        .prop_map(|v| {
            let mut s: Vec<Stamp> = v.into_iter().map(stamp).collect();
            s.sort();
            s.dedup_by(|a, b| a.name == b.name && a.namespace == b.namespace);
            s
        })
    }

    /// `spec.postRenderers` as users write it, at key indentation `pad`.
    fn post_renderers(pad: &'static str) -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            String::new(),
            format!("{pad}postRenderers:\n"),
            format!("{pad}postRenderers: [] # none yet\n"),
            format!("{pad}postRenderers:\n{pad}  # theirs\n{pad}  - kustomize:\n{pad}      images: [{{name: x, newTag: \"1\"}}]\n"),
            format!("{pad}postRenderers:\n{pad}- kustomize:\n{pad}    patches:\n{pad}    - patch: |\n{pad}        - op: add\n{pad}          path: /x\n{pad}          value: 1\n{pad}      target: {{kind: Service}}\n"),
            format!("{pad}postRenderers: [{{kustomize: {{images: [{{name: x}}]}}}}]\n"),
        ])
    }

    fn helmrelease() -> impl Strategy<Value = String> {
        let pad = prop::sample::select(vec!["  ", "    "]);
        (pad, any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>())
            .prop_flat_map(|(pad, comment, after, crlf, final_newline)| {
                (post_renderers(pad), Just((pad, comment, after, crlf, final_newline)))
            })
            .prop_map(|(post, (pad, comment, after, crlf, final_newline))| {
                let mut s = String::new();
                if comment {
                    s.push_str("# the0 # in prod\n");
                }
                s.push_str("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: the0\nspec:\n");
                s.push_str(&format!("{pad}interval: 10m # keep\n{pad}values:\n{pad}{pad}a: on\n"));
                s.push_str(&post);
                if after {
                    s.push_str("status: {}\n");
                }
                if crlf {
                    s = s.replace('\n', "\r\n");
                }
                if !final_newline {
                    s.truncate(s.trim_end().len());
                }
                s
            })
    }

    /// The file's meaning with an absent, null or empty postRenderers alike.
    /// (Read with serde_yaml: only the structure is compared, the same way
    /// on both sides.)
    fn meaning(text: &str) -> serde_json::Value {
        let v: serde_yaml::Value = serde_yaml::from_str(text).expect("parses");
        let mut v: serde_json::Value = serde_json::to_value(v).unwrap();
        let spec = v["spec"].as_object_mut().unwrap();
        if spec
            .get("postRenderers")
            .is_some_and(|p| p.is_null() || p.as_array().is_some_and(Vec::is_empty))
        {
            spec.remove("postRenderers");
        }
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn added_found_again_kept_and_removed(text in helmrelease(), wanted in stamps()) {
            let out = update(&text, None, &wanted).unwrap();
            prop_assert_eq!(current(&out, None).unwrap(), wanted.clone(), "{}", out);
            prop_assert_eq!(&update(&out, None, &wanted).unwrap(), &out, "a second run changes nothing");
            if text.contains("\r\n") {
                prop_assert!(!out.replace("\r\n", "").contains('\n'), "CRLF stays CRLF:\n{:?}", out);
            }
            let back = update(&out, None, &[]).unwrap();
            prop_assert_eq!(current(&back, None).unwrap(), vec![]);
            prop_assert_eq!(meaning(&back), meaning(&text), "{}\n---\n{}", text, back);
            if wanted.is_empty() {
                prop_assert_eq!(&out, &text);
            }
            let stripped = |t: &str| t.trim_end().to_string();
            // An empty list goes with our entry; anything else comes back byte for byte.
            let empty_list = text.lines().any(|l| matches!(l.trim(), "postRenderers:" | "postRenderers: [] # none yet"));
            if !empty_list {
                prop_assert_eq!(stripped(&back), stripped(&text), "removing gives the bytes back");
            }
        }
    }
}
