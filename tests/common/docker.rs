//! A container engine of the tests' own: Debian's `dockerd`, started in the
//! background with its state under `target/test-tmp/dockerd-*` and stopped by
//! its PID. A daemon that cannot start fails the test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A `dockerd` of our own: its data root, exec root, pidfile and socket live
/// under the test directory; it is stopped by its PID when dropped.
pub struct Dockerd {
    pub child: Child,
    pub dir: PathBuf,
    pub host: String,
    /// `docker` (Debian's client) first on PATH, for kustomize and the scripts.
    pub path: String,
}

impl Dockerd {
    /// `name` keeps the daemons of different test binaries apart (a runner
    /// such as nextest runs them at once).
    pub fn start(name: &str) -> Dockerd {
        let dockerd = Path::new("/usr/sbin/dockerd");
        let client = Path::new("/usr/bin/docker");
        assert!(
            dockerd.exists() && client.exists(),
            "Debian's docker.io is not installed: run scripts/install-test-tools (it apt-get installs it)"
        );
        let dir = super::root()
            .join("target/test-tmp")
            .join(format!("dockerd-{name}"));
        stop_stale(&dir.join("dockerd.pid"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::os::unix::fs::symlink(client, dir.join("bin/docker")).unwrap();
        let socket = dir.join("docker.sock");
        assert!(
            socket.as_os_str().len() < 90,
            "socket path {} is too long for a unix socket",
            socket.display()
        );
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let child = Command::new(dockerd)
            .args([
                "--storage-driver=vfs",
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
            ])
            .arg(format!("--data-root={}", dir.join("data").display()))
            .arg(format!("--exec-root={}", dir.join("exec").display()))
            .arg(format!("--pidfile={}", dir.join("dockerd.pid").display()))
            .arg(format!("--host=unix://{}", socket.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting dockerd");
        let host = format!("unix://{}", socket.display());
        let path = format!(
            "{}:{}",
            dir.join("bin").display(),
            std::env::var("PATH").unwrap()
        );
        let mut d = Dockerd {
            child,
            dir,
            host,
            path,
        };
        let started = Instant::now();
        loop {
            let ready = d.docker(&["version"]).status.success();
            if ready {
                break;
            }
            let exited = d.child.try_wait().unwrap();
            if exited.is_some() || started.elapsed() > Duration::from_secs(30) {
                let log = std::fs::read_to_string(d.dir.join("dockerd.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                panic!(
                    "dockerd did not start ({exited:?} after {:?}):\n{}",
                    started.elapsed(),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        d
    }

    /// `scripts/build-image TAG`: the static binary, then the Dockerfile.
    pub fn build_image(&self, tag: &str) {
        let mut build = Command::new(super::root().join("scripts/build-image"));
        self.env(&mut build);
        let out = build
            .arg(tag)
            .current_dir(super::root())
            .env_remove("CARGO_TARGET_DIR")
            .stdin(Stdio::null())
            .output()
            .expect("running scripts/build-image");
        assert!(
            out.status.success(),
            "scripts/build-image failed:\n{}",
            super::stderr(&out)
        );
        assert_eq!(super::stdout(&out).trim(), tag);
        let inspect = self.docker(&[
            "image",
            "inspect",
            "--format",
            "{{.Config.User}} {{json .Config.Entrypoint}}",
            tag,
        ]);
        assert_eq!(
            super::stdout(&inspect).trim(),
            r#"65534:65534 ["/usr/local/bin/secret-rollout","krm"]"#
        );
    }

    pub fn env(&self, cmd: &mut Command) {
        cmd.env("DOCKER_HOST", &self.host)
            .env("PATH", &self.path)
            .env("DOCKER_CONFIG", self.dir.join("client"));
    }

    /// `docker ARGS` in `dir`.
    pub fn docker_in(&self, dir: &Path, args: &[&str]) -> Output {
        let mut cmd = Command::new("docker");
        self.env(&mut cmd);
        cmd.args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .expect("running docker")
    }

    pub fn docker(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("docker");
        self.env(&mut cmd);
        cmd.args(args)
            .stdin(Stdio::null())
            .output()
            .expect("running docker")
    }

    /// Stop the daemon by its PID, wait for it, and drop its images (vfs
    /// keeps a full copy of every layer); the log stays.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = self.child.kill();
                break self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let _ = std::fs::remove_dir_all(self.dir.join("data"));
        status
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.stop();
        }
    }
}

/// A daemon an earlier, interrupted run of this test left behind (its
/// pidfile is in our directory): stop it, by its PID.
fn stop_stale(pidfile: &Path) {
    let Ok(pid) = std::fs::read_to_string(pidfile) else {
        return;
    };
    let pid = pid.trim();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if String::from_utf8_lossy(&cmdline).contains(&pidfile.display().to_string()) {
        let _ = Command::new("kill").args(["-TERM", pid]).status();
        let started = Instant::now();
        while Path::new(&format!("/proc/{pid}")).exists()
            && started.elapsed() < Duration::from_secs(20)
        {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
