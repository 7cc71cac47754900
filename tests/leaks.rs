//! No value of the input reaches a message. Every scalar value of the
//! generated inputs carries one marker (a random `LEAK…` token); names carry
//! it too, after a character no name holds (a space, a line break). Across
//! every line-end style Go reads (LF, CRLF, lone CR, NEL, LS, PS), in JSON
//! form, and broken in the ways that make the tool fail (duplicate keys, bad
//! escapes, bad base64, unknown kinds, an unclosed flow), the marker must not
//! appear in stderr, the `--report` file, the step summary, or any format of
//! `check`, `explain` and `diff`. (Render's stdout is the input's own bytes.)

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{bin, run_cmd, temp_dir};
use proptest::prelude::*;

#[derive(Clone, Copy, Debug)]
enum Ends {
    Lf,
    CrLf,
    Cr,
    Nel,
    Ls,
    Ps,
}

impl Ends {
    fn apply(self, text: &str) -> String {
        let brk = match self {
            Ends::Lf => return text.to_string(),
            Ends::CrLf => "\r\n",
            Ends::Cr => "\r",
            Ends::Nel => "\u{85}",
            Ends::Ls => "\u{2028}",
            Ends::Ps => "\u{2029}",
        };
        text.replace('\n', brk)
    }
}

#[derive(Clone, Copy, Debug)]
enum Broken {
    No,
    DuplicateKey,
    BadEscape,
    BadBase64,
    UnknownKind,
    UnclosedFlow,
}

/// How a value holding the marker is written.
#[derive(Clone, Copy, Debug)]
enum Style {
    Plain,
    Single,
    Double,
}

/// How a name is written: plain and clean, or with the marker after a
/// character no name holds.
#[derive(Clone, Copy, Debug)]
enum NameForm {
    Clean,
    Space,
    EscapedBreak,
    Continued,
}

#[derive(Clone, Debug)]
struct Case {
    marker: String,
    ends: Ends,
    json: bool,
    broken: Broken,
    style: Style,
    names: NameForm,
    helm3: bool,
}

impl Case {
    fn value(&self, tail: &str) -> String {
        let m = &self.marker;
        if self.json {
            return format!("\"{m}{tail}\"");
        }
        match self.style {
            Style::Plain => format!("{m}{tail}"),
            Style::Single => format!("'{m}{tail}: x'"),
            Style::Double => format!("\"{m}{tail}\\u2028{m}\""),
        }
    }

    fn name(&self, name: &str) -> String {
        let m = &self.marker;
        match (self.names, self.json) {
            (NameForm::Clean, false) => name.to_string(),
            (NameForm::Clean, true) => format!("\"{name}\""),
            (NameForm::Space, _) => format!("\"{name} {m}\""),
            (NameForm::EscapedBreak, _) => format!("\"{name}\\r{m}\""),
            (NameForm::Continued, false) => format!("{name}\n        {m}"),
            (NameForm::Continued, true) => format!("\"{name}\\u2029{m}\""),
        }
    }

    fn base64(&self) -> String {
        let m = &self.marker;
        match self.broken {
            Broken::BadBase64 => format!("\"{m}!!\""),
            // base64 of the marker, which decodes to it.
            _ => {
                use base64::Engine as _;
                format!(
                    "\"{}\"",
                    base64::engine::general_purpose::STANDARD.encode(m)
                )
            }
        }
    }

    fn yaml(&self) -> String {
        let v = |t: &str| self.value(t);
        let m = &self.marker;
        let template = |file: &str| format!("'c/templates/{file}.yaml'");
        let source = |file: &str| {
            if self.helm3 {
                format!("---\n# Source: c/templates/{file}.yaml\n")
            } else {
                String::new()
            }
        };
        let filename = |file: &str| {
            if self.helm3 {
                String::new()
            } else {
                format!(
                    "    postrenderer.helm.sh/postrender-filename: {}\n",
                    template(file)
                )
            }
        };
        let kind = match self.broken {
            Broken::UnknownKind => "Frobnicator",
            _ => "Secret",
        };
        let dup = match self.broken {
            Broken::DuplicateKey => format!("  password: {}\n", v("dup")),
            _ => String::new(),
        };
        let escape = match self.broken {
            Broken::BadEscape => format!("  broken: \"{m}\\q{m}\"\n"),
            _ => String::new(),
        };
        let flow = match self.broken {
            Broken::UnclosedFlow => format!("  open: [{m}, {m}\n"),
            _ => String::new(),
        };
        let sep = if self.helm3 { "" } else { "---\n" };
        format!(
            "{src_s}apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {db}\n  annotations:\n{fn_s}    note: {n1}\nstringData:\n  password: {p}\n{dup}{escape}{flow}data:\n  token: {b64}\n\
             {sep}{src_d}apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {web}\n  labels:\n    app: {n2}\n  annotations:\n{fn_d}    note: {n3}\nspec:\n  template:\n    metadata:\n      annotations:\n        note: {n4}\n    spec:\n      containers:\n      - name: {c}\n        image: {img}\n        env:\n        - name: THE0_ADMIN_PASSWORD\n          value: {admin}\n        - name: API_TOKEN\n          value: {tok}\n        - name: DB_PASSWORD\n          valueFrom:\n            secretKeyRef:\n              name: {db}\n              key: password\n        envFrom:\n        - configMapRef:\n            name: cfg\n\
             {sep}{src_c}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  SECRET_KEY: {cm}\n",
            src_s = source("secret"),
            fn_s = filename("secret"),
            src_d = source("deployment"),
            fn_d = filename("deployment"),
            src_c = source("configmap"),
            db = self.name("db"),
            web = self.name("web"),
            c = self.name("app"),
            n1 = v("n1"),
            p = v("p"),
            b64 = self.base64(),
            n2 = v("n2"),
            n3 = v("n3"),
            n4 = v("n4"),
            img = v("img"),
            admin = v("admin"),
            tok = v("tok"),
            cm = v("cm"),
        )
    }

    /// One line of JSON per object, as `kubectl … -o json | jq -c` writes.
    fn json(&self) -> String {
        let v = |t: &str| self.value(t);
        let m = &self.marker;
        let kind = match self.broken {
            Broken::UnknownKind => "Frobnicator",
            _ => "Secret",
        };
        let extra = match self.broken {
            Broken::DuplicateKey => format!(",\"password\":{}", v("dup")),
            Broken::BadEscape => format!(",\"broken\":\"{m}\\q{m}\""),
            Broken::UnclosedFlow => format!(",\"open\":[\"{m}\""),
            _ => String::new(),
        };
        let filename = |file: &str| {
            format!("\"postrenderer.helm.sh/postrender-filename\":\"c/templates/{file}.yaml\"")
        };
        let secret = format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"{kind}\",\"metadata\":{{\"name\":{db},\"annotations\":{{{f},\"note\":{n1}}}}},\"stringData\":{{\"password\":{p}{extra}}},\"data\":{{\"token\":{b64}}}}}",
            db = self.name("db"),
            f = filename("secret"),
            n1 = v("n1"),
            p = v("p"),
            b64 = self.base64(),
        );
        let deployment = format!(
            "{{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{{\"name\":{web},\"annotations\":{{{f},\"note\":{n3}}}}},\"spec\":{{\"template\":{{\"spec\":{{\"containers\":[{{\"name\":{c},\"image\":{img},\"env\":[{{\"name\":\"THE0_ADMIN_PASSWORD\",\"value\":{admin}}},{{\"name\":\"API_TOKEN\",\"value\":{tok}}},{{\"name\":\"DB_PASSWORD\",\"valueFrom\":{{\"secretKeyRef\":{{\"name\":{db},\"key\":\"password\"}}}}}}]}}]}}}}}}}}",
            web = self.name("web"),
            f = filename("deployment"),
            n3 = v("n3"),
            c = self.name("app"),
            img = v("img"),
            admin = v("admin"),
            tok = v("tok"),
            db = self.name("db"),
        );
        format!("{secret}\n---\n{deployment}\n")
    }

    fn input(&self) -> String {
        let text = if self.json { self.json() } else { self.yaml() };
        self.ends.apply(&text)
    }
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<u32>(),
        prop_oneof![
            Just(Ends::Lf),
            Just(Ends::CrLf),
            Just(Ends::Cr),
            Just(Ends::Nel),
            Just(Ends::Ls),
            Just(Ends::Ps)
        ],
        any::<bool>(),
        prop_oneof![
            Just(Broken::No),
            Just(Broken::DuplicateKey),
            Just(Broken::BadEscape),
            Just(Broken::BadBase64),
            Just(Broken::UnknownKind),
            Just(Broken::UnclosedFlow)
        ],
        prop_oneof![Just(Style::Plain), Just(Style::Single), Just(Style::Double)],
        prop_oneof![
            Just(NameForm::Clean),
            Just(NameForm::Space),
            Just(NameForm::EscapedBreak),
            Just(NameForm::Continued)
        ],
        any::<bool>(),
    )
        .prop_map(|(n, ends, json, broken, style, names, helm3)| Case {
            marker: format!("LEAK{n:08X}"),
            ends,
            json,
            broken,
            style,
            names,
            helm3: helm3 && !json,
        })
}

/// Everything one run says where a person or CI reads it.
fn said(dir: &Path, args: &[&str], stdin: &str, with_stdout: bool) -> (Output, String) {
    let report = dir.join("report.txt");
    let summary = dir.join("summary.md");
    let _ = std::fs::remove_file(&report);
    let _ = std::fs::remove_file(&summary);
    let mut cmd = bin();
    cmd.args(args)
        .arg("--report")
        .arg(&report)
        .env("GITHUB_STEP_SUMMARY", &summary);
    let out = run_cmd(&mut cmd, stdin);
    let mut all = String::from_utf8_lossy(&out.stderr).into_owned();
    if with_stdout {
        all.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    for file in [&report, &summary] {
        all.push_str(&std::fs::read_to_string(file).unwrap_or_default());
    }
    (out, all)
}

fn scratch() -> PathBuf {
    let dir = temp_dir(&format!("leaks/{}", std::process::id()));
    let clean = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: x\n";
    std::fs::write(dir.join("clean.yaml"), clean).unwrap();
    dir
}

fn assert_nothing_said(case: &Case, what: &str, out: &Output, said: &str) {
    assert!(
        !said.contains(&case.marker),
        "{what} shows the marker (exit {:?}) for {case:?}:\n{said}",
        out.status.code()
    );
    assert!(
        matches!(out.status.code(), Some(0..=2)),
        "{what}: no crash for {case:?}: {said}"
    );
}

proptest! {
    // Each case runs the binary 13 times: few cases, each with every form
    // (about 20 s in a debug build on an idle 2-core machine).
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn no_value_reaches_a_message(case in case()) {
        let dir = scratch();
        let input = case.input();
        let file = dir.join("input.yaml");
        std::fs::write(&file, &input).unwrap();
        let file = file.to_str().unwrap();
        let clean = dir.join("clean.yaml");
        let clean = clean.to_str().unwrap();

        let (out, text) = said(&dir, &["render"], &input, false);
        assert_nothing_said(&case, "render", &out, &text);
        for format in ["text", "json", "sarif", "github", "markdown"] {
            let (out, text) = said(&dir, &["check", "--format", format, file], "", true);
            assert_nothing_said(&case, &format!("check --format {format}"), &out, &text);
        }
        for format in ["text", "json", "dot"] {
            let (out, text) = said(&dir, &["explain", "--format", format], &input, true);
            assert_nothing_said(&case, &format!("explain --format {format}"), &out, &text);
        }
        for format in ["text", "json", "markdown"] {
            let (out, text) = said(&dir, &["diff", "--format", format, clean, file], "", true);
            assert_nothing_said(&case, &format!("diff --format {format}"), &out, &text);
        }
        let (out, text) = said(&dir, &["diff", file, clean], "", true);
        assert_nothing_said(&case, "diff (reversed)", &out, &text);
    }
}
