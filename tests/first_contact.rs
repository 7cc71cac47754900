//! What a newcomer meets first: the README's first command, and the small
//! things around it that must not surprise (an empty pipe, a forgotten pipe,
//! an unreadable input, a rule's documentation away from the checkout).
//!
//! A person's terminal is a real pseudo-terminal here: util-linux `script`
//! runs the command on one and records what it shows.

mod common;

use std::process::{Command, Stdio};

use common::{root, stderr, stdout, temp_dir};

/// The README's first command: the first line of its first `sh` block.
fn first_command() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = readme
        .find("```sh\n")
        .expect("README opens with an sh block");
    let line = readme[block + "```sh\n".len()..].lines().next().unwrap();
    line.split("   #").next().unwrap().trim().to_string()
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_secret-rollout")
}

/// Run `command` (a shell command line) on a pseudo-terminal from the
/// checkout, with stdin at its end; what the terminal showed, and the exit.
fn on_terminal(command: &str) -> (String, Option<i32>) {
    let out = Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .current_dir(root())
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("SECRET_ROLLOUT_TERMINAL")
        .stdin(Stdio::null())
        .output()
        .expect("util-linux `script` runs commands on a pseudo-terminal");
    (
        String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"),
        out.status.code(),
    )
}

#[test]
fn the_first_command_shows_which_pod_templates_got_which_stamps() {
    let command = first_command();
    // The same command on the binary cargo built for the tests (no second
    // compile), writing its manifests into the test's own directory.
    let rest = command
        .strip_prefix("cargo run --release -q -- ")
        .unwrap_or_else(|| panic!("the first command runs the release build: {command}"));
    let rest = rest
        .strip_suffix(" > stamped.yaml")
        .unwrap_or_else(|| panic!("the first command keeps the manifests in a file: {command}"));
    let dir = temp_dir("first-contact/first-command");
    let stamped = dir.join("stamped.yaml");
    let (shown, code) = on_terminal(&format!("{} {rest} > {}", binary(), stamped.display()));
    assert_eq!(code, Some(0), "{shown}");
    let lines = shown.lines().count();
    assert!(lines <= 40, "{lines} lines on the terminal:\n{shown}");
    assert!(
        shown.contains("secret-rollout: stamped 10 pod templates\n"),
        "{shown}"
    );
    let api = shown
        .lines()
        .find(|l| l.trim_start().starts_with("Deployment/the0-api "))
        .unwrap_or_else(|| panic!("the api's line:\n{shown}"));
    assert!(
        api.contains("<- Secret/the0-root-admin (testdata/gitops/clusters/prod/the0-root-admin.sealed.yaml:2)"),
        "{api}"
    );
    // The manifests went where the command sent them, stamps and all.
    let manifests = std::fs::read_to_string(&stamped).unwrap();
    assert_eq!(
        manifests
            .matches("secret-rollout/secret.the0-root-admin: ")
            .count(),
        1
    );
}

#[test]
fn a_render_into_a_pipe_that_nobody_watches_says_nothing_more() {
    // Helm and CI: neither stdout nor stderr is a terminal.
    let out = common::run(
        &["--secrets-from", "testdata/gitops/clusters/prod"],
        &common::fixture("helm4/the0-good.yaml"),
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !stderr(&out).contains("secret-rollout: stamped"),
        "{}",
        stderr(&out)
    );
}

fn check_stdin(args: &[&str], input: &str) -> std::process::Output {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    common::run(&all, input)
}

#[test]
fn check_refuses_an_empty_input_unless_asked_to_accept_it() {
    for empty in ["", "\n", "---\n", "# Source: x\n---\n\n"] {
        let out = check_stdin(&[], empty);
        assert_eq!(out.status.code(), Some(2), "{empty:?}");
        assert!(stdout(&out).is_empty(), "{empty:?}: {}", stdout(&out));
        assert!(
            stderr(&out).contains("standard input holds no Kubernetes object")
                && stderr(&out).contains("--allow-empty"),
            "{}",
            stderr(&out)
        );
        let out = check_stdin(&["--allow-empty"], empty);
        assert_eq!(out.status.code(), Some(0), "{empty:?}: {}", stderr(&out));
    }
    // The case it guards: a failed render piped into the gate by a shell
    // without pipefail.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("false | {} check", binary()))
        .env("SECRET_ROLLOUT_TERMINAL", "never")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_gate_over_unreadable_input_prints_no_count_that_reads_as_a_pass() {
    let dir = temp_dir("first-contact/unreadable");
    let missing = dir.join("missing.yaml");
    let out = common::run(&["check", missing.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(!stdout(&out).contains("0 errors"), "{}", stdout(&out));
    assert!(stderr(&out).contains("missing.yaml"), "{}", stderr(&out));

    // Beside a readable file, the count says what could not be read.
    let good = dir.join("good.yaml");
    std::fs::write(&good, common::fixture("helm4/the0-good.yaml")).unwrap();
    let out = common::run(
        &["check", good.to_str().unwrap(), missing.to_str().unwrap()],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).contains("in 1 files; 1 input could not be read\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_forgotten_pipe_gets_a_hint_not_a_silent_wait() {
    let (shown, code) = on_terminal(&format!("{} check", binary()));
    assert_eq!(code, Some(2), "{shown}");
    let first = shown.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("secret-rollout: reading manifests from standard input"),
        "{shown}"
    );
    // Not when something is piped in.
    let out = check_stdin(&[], &common::fixture("helm4/the0-good.yaml"));
    assert!(
        !stderr(&out).contains("reading manifests"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_error_is_said_once() {
    // Chart templates are not manifests: the reader's error is one line,
    // not that line repeated by every layer it passed through.
    let out = common::run(
        &["--secrets-from", "testdata/charts/the0/templates"],
        &common::fixture("helm4/the0-good.yaml"),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(err.matches("did not find expected").count(), 1, "{err}");
}

#[test]
fn rules_prints_a_rules_documentation_from_the_binary() {
    // Run from a directory with no checkout in it: an installed binary.
    let elsewhere = std::env::temp_dir();
    let run = |args: &[&str]| {
        common::bin()
            .args(args)
            .current_dir(&elsewhere)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let list = run(&["rules"]);
    assert_eq!(list.status.code(), Some(0));
    assert!(
        stdout(&list).contains("`secret-rollout rules RULE`"),
        "{}",
        stdout(&list)
    );
    assert!(!stdout(&list).contains("docs/rules.md"));
    let doc = run(&["rules", "unkeyed-digest"]);
    assert_eq!(doc.status.code(), Some(0), "{}", stderr(&doc));
    let text = stdout(&doc);
    assert!(text.starts_with("## unkeyed-digest\n"), "{text}");
    let rules_md = std::fs::read_to_string(root().join("docs/rules.md")).unwrap();
    assert!(
        rules_md.contains(&text),
        "the section as docs/rules.md has it"
    );
    assert!(!text.contains("\n## "), "one section: {text}");
    let unknown = run(&["rules", "no-such-rule"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("no rule \"no-such-rule\""));
}

#[test]
fn check_reads_every_document_as_kubectl_would() {
    // An object of a kind nothing reads, in YAML kubectl refuses.
    let bad = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: a}\nspec: a: b\n";
    let dir = temp_dir("first-contact/read-all");
    let file = dir.join("widget.yaml");
    std::fs::write(&file, bad).unwrap();
    let kubectl = Command::new(common::tool("kubectl"))
        .args([
            "patch", "--local", "--type", "merge", "-p", "{}", "-o", "json", "-f",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!kubectl.status.success(), "kubectl refuses it");
    let out = check_stdin(&[], bad);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("document 1: line 4, column 8: mapping values are not allowed"),
        "{}",
        stderr(&out)
    );
}

/// The README's before/after: the lines it adds to the api's pod template
/// are the lines the first command adds, in place (digests shortened with
/// `…` in the README).
#[test]
fn the_readme_before_and_after_is_what_the_first_command_writes() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let at = readme.find("```diff\n").expect("README shows a diff");
    let block = &readme[at + "```diff\n".len()..];
    let block = &block[..block.find("```\n").unwrap()];
    let out = common::run(
        &["--secrets-from", "testdata/gitops/clusters/prod"],
        &common::fixture("helm4/the0-good.yaml"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rendered = stdout(&out);
    let lines: Vec<&str> = rendered.lines().collect();
    let want: Vec<(char, &str)> = block
        .lines()
        .map(|l| (l.chars().next().unwrap(), &l[1..]))
        .collect();
    let matches = |got: &str, want: &str| match want.split_once('…') {
        Some((head, _)) => got.starts_with(head),
        None => got == want,
    };
    let found = (0..lines.len()).find(|&start| {
        want.len() <= lines.len() - start
            && want
                .iter()
                .zip(&lines[start..])
                .all(|((_, w), g)| matches(g, w))
    });
    let start =
        found.unwrap_or_else(|| panic!("the README's after is not in the output:\n{block}"));
    // And the lines it marks as added are the ones the input lacks there.
    let input = common::fixture("helm4/the0-good.yaml");
    let before: Vec<&str> = want
        .iter()
        .filter(|(mark, _)| *mark == ' ')
        .map(|(_, l)| *l)
        .collect();
    assert!(
        input.contains(&(before.join("\n") + "\n")),
        "the README's before is in the input"
    );
    assert!(start > 0);
}

/// Every relative link of the user documentation names a file that exists
/// and, with a `#fragment`, a heading of it.
#[test]
fn every_link_in_the_documentation_resolves() {
    let mut pages = vec![root().join("README.md"), root().join("CONTRIBUTING.md")];
    for e in std::fs::read_dir(root().join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            pages.push(p);
        }
    }
    let link = regex::Regex::new(r"\[[^\]]+\]\(([^)\s]+)\)").unwrap();
    let mut broken = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for prose in outside_code(&text) {
            for m in link.captures_iter(&prose) {
                let url = &m[1];
                if url.starts_with("http") {
                    continue;
                }
                let (path, fragment) = url.split_once('#').unwrap_or((url, ""));
                let target = if path.is_empty() {
                    page.clone()
                } else {
                    page.parent().unwrap().join(path)
                };
                if !target.exists() {
                    broken.push(format!("{}: {url}: no such file", page.display()));
                } else if !fragment.is_empty()
                    && target.extension().is_some_and(|x| x == "md")
                    && !anchors(&std::fs::read_to_string(&target).unwrap())
                        .iter()
                        .any(|a| a == fragment)
                {
                    broken.push(format!("{}: {url}: no such heading", page.display()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// The text of `markdown` outside fenced code blocks.
fn outside_code(markdown: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut fenced = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            out.push(String::new());
        } else if !fenced {
            let last = out.last_mut().unwrap();
            last.push_str(line);
            last.push('\n');
        }
    }
    out
}

/// GitHub's anchors of the headings of `markdown`.
fn anchors(markdown: &str) -> Vec<String> {
    outside_code(markdown)
        .iter()
        .flat_map(|t| t.lines().map(str::to_string).collect::<Vec<_>>())
        .filter_map(|l| {
            let title = l.trim_start_matches('#');
            (l.starts_with('#') && title.starts_with(' ')).then(|| {
                title
                    .trim()
                    .to_lowercase()
                    .chars()
                    .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
                    .map(|c| if c == ' ' { '-' } else { c })
                    .collect()
            })
        })
        .collect()
}

#[test]
fn explain_names_a_key_the_secret_does_not_have() {
    let run = |key: &str| {
        common::run(
            &[
                "explain",
                "--secret",
                "the0-secrets",
                "--key",
                key,
                "testdata/helm4/the0-good.yaml",
            ],
            "",
        )
    };
    let out = run("NOPE");
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(
        err.contains("Secret the0-secrets has no key NOPE (its keys: ")
            && err.contains("JWT_SECRET"),
        "{err}"
    );
    let out = run("JWT_SECRET");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("Rotating key JWT_SECRET of Secret the0-secrets affects:"));
}

/// The sealing steps of docs/gitops.md ("Secrets outside the chart"), run
/// as written by bash in a copy of the GitOps directory: with kubeseal they
/// replace the sealed file and leave no plain Secret behind; without it
/// they leave the sealed file as it was, not truncated.
#[test]
fn the_sealing_steps_never_truncate_the_sealed_file_or_leave_the_secret_in_plain_text() {
    let docs = std::fs::read_to_string(root().join("docs/gitops.md")).unwrap();
    let start = docs
        .find("# 1. The Secret, made the way the0's docs make it")
        .expect("docs/gitops.md shows the sealing steps");
    let steps = &docs[start..start + docs[start..].find("# 3.").unwrap()];
    let sealed = "testdata/gitops/clusters/prod/the0-root-admin.sealed.yaml";
    let original = std::fs::read_to_string(root().join(sealed)).unwrap();

    let run = |name: &str, with_kubeseal: bool| -> (std::path::PathBuf, std::process::Output) {
        let dir = temp_dir(&format!("first-contact/sealing-{name}"));
        common::copy_dir(
            &root().join("testdata/gitops/clusters/prod"),
            &dir.join("testdata/gitops/clusters/prod"),
        );
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let kubectl = common::tool("kubectl");
        std::os::unix::fs::symlink(&kubectl, bin.join("kubectl")).unwrap();
        if with_kubeseal {
            // kubeseal's format through kubesealpy (kubeseal has no package here).
            let stand_in = format!(
                "#!/bin/sh\n[ \"$1 $2\" = \"--format yaml\" ] || exit 2\nexec {} {} seal {} /dev/stdin\n",
                common::python().display(),
                common::gitops::seal_py().display(),
                common::gitops::seal_keys().display()
            );
            let path = bin.join("kubeseal");
            std::fs::write(&path, stand_in).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let out = Command::new("bash")
            .arg("-c")
            .arg(steps)
            .current_dir(&dir)
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("NEW_PASSWORD", "n3w-pa55word")
            .output()
            .unwrap();
        (dir, out)
    };
    let leftovers = |dir: &std::path::Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "testdata" && n != "bin")
            .collect();
        names.sort();
        names
    };

    let (dir, out) = run("without-kubeseal", false);
    assert!(stderr(&out).contains("kubeseal"), "{}", stderr(&out));
    let now = std::fs::read_to_string(dir.join(sealed)).unwrap();
    assert_eq!(now, original, "the sealed file is left as it was");
    assert_eq!(leftovers(&dir), Vec::<String>::new());

    let (dir, out) = run("with-kubeseal", true);
    assert!(out.status.success(), "{}", stderr(&out));
    let now = std::fs::read_to_string(dir.join(sealed)).unwrap();
    assert_ne!(now, original, "sealed anew");
    assert!(
        now.contains("kind: SealedSecret") && now.contains("password: "),
        "{now}"
    );
    assert!(!now.contains("n3w-pa55word"));
    assert_eq!(leftovers(&dir), Vec::<String>::new());
}

/// docs/ci.md's workflow, its `run:` steps in order as GitHub runs them
/// (bash, `-e` per step) with helm 4.3.1 on the bundled chart: the SARIF is
/// written whatever the findings, only the last step fails the job, and both
/// the SARIF and the annotations point at the chart's template in the
/// repository, at the line that writes the admin password.
#[test]
fn the_ci_workflow_writes_the_sarif_before_the_gate_fails() {
    let docs = std::fs::read_to_string(root().join("docs/ci.md")).unwrap();
    let at = docs
        .find("```yaml\n# .github/workflows/secrets.yaml")
        .expect("docs/ci.md shows the workflow");
    let block = &docs[at + "```yaml\n".len()..];
    let block = &block[..block.find("```\n").unwrap()];
    let steps: serde_yaml::Value = serde_yaml::from_str(block).unwrap();
    let steps = steps.as_sequence().unwrap();
    let upload = steps.iter().position(|s| s.get("uses").is_some()).unwrap();
    assert_eq!(steps[upload]["if"].as_str(), Some("always()"));
    let dir = temp_dir("first-contact/ci-workflow");
    let bin = std::path::Path::new(binary())
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}:/usr/bin:/bin",
        bin.display(),
        common::tool("helm").parent().unwrap().display()
    );
    let mut codes = Vec::new();
    let mut uploaded = None;
    let mut annotations = String::new();
    for step in steps {
        let Some(run) = step.get("run").and_then(|r| r.as_str()) else {
            // The upload: what it would send must be there.
            uploaded = Some(std::fs::read_to_string(root().join("secret-rollout.sarif")).unwrap());
            continue;
        };
        let out = Command::new("bash")
            .args(["-e", "-c", run])
            .current_dir(root())
            .env("PATH", &path)
            .env("SECRET_ROLLOUT_TERMINAL", "never")
            .env("HELM_CACHE_HOME", dir.join("cache"))
            .env("HELM_CONFIG_HOME", dir.join("config"))
            .env("HELM_DATA_HOME", dir.join("data"))
            .output()
            .unwrap();
        codes.push(out.status.code());
        annotations = stdout(&out);
    }
    for f in ["rendered.yaml", "secret-rollout.sarif"] {
        let _ = std::fs::remove_file(root().join(f));
    }
    assert_eq!(codes, [Some(0), Some(0), Some(1)]);

    // The line of the template that writes THE0_ADMIN_PASSWORD, which the
    // bad values set in the0Api.env: the `- name:` of the range over it.
    let template = "testdata/charts/the0/templates/the0-api.yaml";
    let lines: Vec<String> = std::fs::read_to_string(root().join(template))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let values =
        std::fs::read_to_string(root().join("testdata/charts/values/bad-plain-env.yaml")).unwrap();
    assert!(values.contains("the0Api:\n  env:\n") && values.contains("    THE0_ADMIN_PASSWORD: "));
    let holds_the_password = |line: usize| {
        let loop_head = lines[..line]
            .iter()
            .rposition(|l| l.contains("{{- range"))
            .unwrap();
        lines[loop_head].contains("range $key, $value := .Values.the0Api.env")
            && lines[line - 1].trim() == "- name: {{ $key }}"
            && lines[line].trim() == "value: {{ $value | quote }}"
    };

    let sarif = uploaded.expect("the workflow uploads the SARIF");
    common::assert_schema_valid(&sarif);
    let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let error = results
        .iter()
        .find(|r| r["ruleId"] == "admin-password-not-from-secret")
        .expect("the SARIF holds the admin password's error");
    let location = &error["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], template, "{error:#}");
    let line = location["region"]["startLine"].as_u64().unwrap() as usize;
    assert!(holds_the_password(line), "line {line}: {}", lines[line - 1]);
    // Every result names a file of the repository.
    for r in results {
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(
            uri.starts_with("testdata/charts/the0/templates/") && root().join(uri).is_file(),
            "{r:#}"
        );
    }

    let annotation = format!(
        "::error file={template},line={line},title=admin-password-not-from-secret::THE0_ADMIN_PASSWORD in Deployment/the0-api "
    );
    assert!(annotations.contains(&annotation), "{annotations}");
    // docs/ci.md shows that annotation and names that line.
    assert!(
        docs.contains(&annotation),
        "docs/ci.md shows another annotation"
    );
    assert!(docs.contains(&format!("Line {line} is `- name: {{{{ $key }}}}`")));
    assert!(
        !annotations.contains("rendered.yaml"),
        "every annotation is on a file of the repository:\n{annotations}"
    );
}

/// The README's quick start, line by line in one bash, with helm 4.3.1 in a
/// clean home; the plugin runs the binary cargo built for the tests
/// (`SECRET_ROLLOUT_BIN`) instead of a second, release, build.
#[test]
fn the_quick_start_stamps_the_bundled_chart_through_the_helm_4_plugin() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let at = readme
        .find("## Quick start")
        .expect("README has a quick start");
    let block = &readme[at..];
    let block = &block[block.find("```sh\n").unwrap() + "```sh\n".len()..];
    let block = &block[..block.find("```\n").unwrap()];
    let (build, rest) = block.split_once('\n').unwrap();
    assert!(build.starts_with("cargo build --release"), "{build}");
    let dir = temp_dir("first-contact/quick-start");
    let out = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", rest])
        .current_dir(root())
        .env(
            "PATH",
            format!(
                "{}:/usr/bin:/bin",
                common::tool("helm").parent().unwrap().display()
            ),
        )
        .env("HELM_CACHE_HOME", dir.join("cache"))
        .env("HELM_CONFIG_HOME", dir.join("config"))
        .env("HELM_DATA_HOME", dir.join("data"))
        .env("SECRET_ROLLOUT_BIN", binary())
        .env("SECRET_ROLLOUT_TERMINAL", "never")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let manifests = stdout(&out);
    assert_eq!(
        manifests
            .matches("secret-rollout/secret.the0-secrets: ")
            .count(),
        9,
        "{manifests}"
    );
}
