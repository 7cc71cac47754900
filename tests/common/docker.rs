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
        unmount_under(&dir);
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
        self.clean();
        status
    }

    /// Unmount what the daemon mounted under its directory and remove its
    /// data root (the log stays).
    fn clean(&self) {
        unmount_under(&self.dir);
        let _ = std::fs::remove_dir_all(self.dir.join("data"));
    }

    /// Mount points under the daemon's directory, as /proc/self/mountinfo
    /// lists them.
    pub fn mounts(&self) -> Vec<PathBuf> {
        mounts_under(&self.dir)
    }
}

/// Also when a test fails: the daemon is stopped and its mounts undone, so
/// the directory (and the work tree holding it) can be removed.
impl Drop for Dockerd {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.stop();
        } else {
            self.clean();
        }
    }
}

/// dockerd bind-mounts its data root onto itself (and a container's mounts
/// sit below it); a daemon that was killed leaves them, and then nothing
/// under them can be removed ("Device or resource busy").
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(unescape_mount_point)
        .filter(|p| p.starts_with(&dir))
        .collect()
}

/// Undo every mount under `dir`, deepest first; lazily (MNT_DETACH), so a
/// mount still busy goes as soon as it is free.
fn unmount_under(dir: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let mut points = mounts_under(dir);
    points.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    for point in points {
        let c = std::ffi::CString::new(point.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path; umount2 reads it and nothing else.
        unsafe {
            libc::umount2(c.as_ptr(), libc::MNT_DETACH);
        }
    }
}

/// mountinfo writes space, tab, newline and backslash as `\NNN` (octal).
fn unescape_mount_point(field: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).and_then(|d| {
            std::str::from_utf8(d)
                .ok()
                .and_then(|d| u8::from_str_radix(d, 8).ok())
        });
        match (b[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
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
