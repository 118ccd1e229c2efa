//! A named network namespace: a private Linux network stack (links,
//! addresses, routes, sockets) that nothing outside it sees, made with
//! iproute2 so that `ip netns` lists it while it lives and a user can
//! look inside (`ip netns exec NAME ...`) while debugging.

use anyhow::{anyhow, bail, Context, Result};
use nix::sched::{setns, CloneFlags};
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::thread::JoinHandle;

/// Where `ip netns add` mounts a namespace, and so where its handle is found.
pub(crate) const NETNS_DIR: &str = "/run/netns";

/// Shared by namespaces and TAP names, so one process never reuses a name.
pub(crate) static COUNTER: AtomicU32 = AtomicU32::new(0);

pub struct Namespace {
    name: String,
}

impl Namespace {
    /// Creates a namespace named `arsenic-<pid>-<counter>`. Only `lo`
    /// exists in it, down.
    pub fn create() -> Result<Namespace> {
        let pid = std::process::id();
        let name = loop {
            let name = format!("arsenic-{pid}-{}", COUNTER.fetch_add(1, Ordering::Relaxed));
            // A namespace by this name outlives a process killed before its
            // Drop ran; a later process with the same pid steps past it.
            if !Path::new(NETNS_DIR).join(&name).exists() {
                break name;
            }
        };
        let out = run(ip_binary()?, ["netns", "add", name.as_str()])?;
        if !out.status.success() {
            // iproute2 makes the mount point first and, when it fails to
            // get back into our namespace afterwards (fake root in a user
            // namespace), leaves it behind, sometimes mounted, for `ip
            // netns list` to show. The name has our pid in it, so no one
            // else's namespace can be behind it.
            let _ = run(ip_binary()?, ["netns", "del", name.as_str()]);
            let _ = std::fs::remove_file(Path::new(NETNS_DIR).join(&name));
            let stderr = one_line(&out.stderr);
            if stderr.contains("not permitted") || stderr.contains("Permission denied") {
                bail!("creating network namespace {name} was refused ({stderr}): it needs CAP_SYS_ADMIN, run as root outside any user namespace (not in a rootless container)");
            }
            bail!("`ip netns add {name}` failed: {stderr}");
        }
        Ok(Namespace { name })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n NAME args...`, so the command acts inside the namespace.
    pub fn ip(&self, args: &[&str]) -> Result<()> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        ip(&full)
    }

    /// Sets a sysctl as seen inside the namespace, e.g.
    /// `("net.ipv4.tcp_timestamps", "0")` or, for names with dots in them,
    /// the path under /proc/sys (`"net/ipv4/conf/eth0.5/forwarding"`).
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        let rel = if key.contains('/') { key.to_string() } else { key.replace('.', "/") };
        if rel.is_empty() || rel.starts_with('/') || rel.split('/').any(|c| c.is_empty() || c == "..") {
            bail!("sysctl key {key:?} is not a sysctl name: write it like net.ipv4.ip_forward");
        }
        let path = PathBuf::from("/proc/sys").join(rel);
        let value = value.to_string();
        let (key, name) = (key.to_string(), self.name.clone());
        // /proc/sys/net shows the namespace of the thread that opens it,
        // so the write must come from a thread inside.
        self.spawn(move || {
            let mut f = OpenOptions::new().write(true).open(&path).map_err(|e| match e.kind() {
                ErrorKind::NotFound => anyhow!("sysctl {key} does not exist in namespace {name}: check its spelling (and that the link it names exists there)"),
                ErrorKind::PermissionDenied => anyhow!("setting sysctl {key} in namespace {name} was refused: run as root"),
                _ => anyhow!("opening {} in namespace {name}: {e}", path.display()),
            })?;
            f.write_all(value.as_bytes()).with_context(|| format!("setting sysctl {key} to {value:?} in namespace {name}"))
        })
        .join()
        .map_err(|_| anyhow!("the thread setting sysctl in namespace {} panicked", self.name))?
    }

    /// Runs `f` on a new thread that has entered this namespace, so the
    /// sockets it makes with `std::net` live in the namespace's Linux
    /// stack. If entering fails, `f` is not run and the handle gives the
    /// error. The thread keeps the namespace alive while it runs, even
    /// after this `Namespace` is dropped (it is then nameless).
    ///
    /// Like `std::thread::spawn`, panics only if the OS cannot make a thread.
    pub fn spawn<F, R>(&self, f: F) -> JoinHandle<Result<R>>
    where
        F: FnOnce() -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        // Opened here rather than in the thread: the handle pins this very
        // namespace even if `self` is dropped before the thread gets going.
        let handle = File::open(self.path()).with_context(|| format!("opening network namespace {} (is it deleted?)", self.name));
        let name = self.name.clone();
        std::thread::spawn(move || {
            // setns(CLONE_NEWNET) moves only the calling thread; the rest of
            // the process stays where it was.
            setns(handle?, CloneFlags::CLONE_NEWNET).map_err(|e| match e {
                nix::errno::Errno::EPERM => anyhow!("entering network namespace {name} was refused: it needs CAP_SYS_ADMIN, run as root"),
                e => anyhow!("entering network namespace {name}: {e}"),
            })?;
            f()
        })
    }

    fn path(&self) -> PathBuf {
        Path::new(NETNS_DIR).join(&self.name)
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // The kernel frees the namespace, and deletes the virtual links in
        // it, once the last thread and socket in it are gone as well.
        let result = ip_binary().and_then(|bin| run(bin, ["netns", "del", self.name.as_str()]));
        match result {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!("arsenic: could not delete network namespace {} ({}): delete it with `ip netns del {}`", self.name, one_line(&out.stderr), self.name),
            Err(e) => eprintln!("arsenic: could not delete network namespace {} ({e:#}): delete it with `ip netns del {}`", self.name, self.name),
        }
    }
}

/// Runs `ip args...` in the caller's namespace; the error names the
/// command and what it printed.
pub(crate) fn ip(args: &[&str]) -> Result<()> {
    let out = run(ip_binary()?, args)?;
    if !out.status.success() {
        bail!("`ip {}` failed: {}", args.join(" "), one_line(&out.stderr));
    }
    Ok(())
}

/// The iproute2 `ip` program. Looked for on PATH and then where Debian and
/// others install it, because a root shell's PATH does not always have
/// the sbin directories (`sudo` with a secure_path, cron, CI runners).
pub(crate) fn ip_binary() -> Result<&'static Path> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
        let usual = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"].into_iter().map(PathBuf::from);
        on_path.chain(usual).map(|dir| dir.join("ip")).find(|p| p.is_file())
    });
    found.as_deref().ok_or_else(|| anyhow!("the `ip` command was not found: install iproute2 (`apt-get install iproute2`)"))
}

fn run<I, S>(bin: &Path, args: I) -> Result<std::process::Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}: install iproute2 (`apt-get install iproute2`)", bin.display()))
}

/// A command's stderr as one line, for error messages that must stay one.
pub(crate) fn one_line(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let joined: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if joined.is_empty() {
        "no message".to_string()
    } else {
        joined.join("; ")
    }
}
