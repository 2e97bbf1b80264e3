//! Running a [`Script`] with the system's `nft -f -` (nft(8), package
//! `nftables`): the script on stdin, one batch, a timeout that kills it,
//! its stderr in the error. The process runner is the CNI plugins' own
//! ([`crate::exec`]): a cleared environment, bounded output, the process
//! group killed at the deadline.

use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::attachment::PortMapping;
use crate::cidr::Ipv4Net;
use crate::exec::{CommandExec, ExecFailure, PluginCall, PluginOutput};

use super::NatError;
use super::input::TableName;
use super::script::{self, Script};

/// Where `nft` is looked for: Debian installs it as `/usr/sbin/nft`.
pub const NFT_DIRS: [&str; 4] = ["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin"];

/// How long one `nft -f -` may take: a batch of ours takes 5–20 ms; a
/// host whose firewall is held by another program's long batch waits on
/// the nfnetlink mutex.
pub const NFT_TIMEOUT: Duration = Duration::from_secs(10);

/// Something that runs `nft` with a script on stdin: [`CommandExec`], or a
/// fake in tests.
pub trait NftExec {
    fn run(
        &self,
        binary: &Path,
        args: &[&str],
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<PluginOutput, ExecFailure>;
}

impl NftExec for CommandExec {
    fn run(
        &self,
        binary: &Path,
        args: &[&str],
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<PluginOutput, ExecFailure> {
        // nft needs no environment: it is cleared, as a plugin's is.
        let call = PluginCall {
            binary,
            env: &[],
            stdin,
        };
        self.exec_with_args(&call, args, timeout)
    }
}

/// The `nft` command, found once.
#[derive(Debug, Clone)]
pub struct Nft<E: NftExec = CommandExec> {
    binary: PathBuf,
    exec: E,
    timeout: Duration,
}

impl Nft<CommandExec> {
    /// The system's `nft`, from [`NFT_DIRS`].
    pub fn find() -> Result<Nft<CommandExec>, NatError> {
        Nft::find_in(&NFT_DIRS.map(PathBuf::from), CommandExec)
    }
}

impl<E: NftExec> Nft<E> {
    /// The first executable `nft` of `dirs`, run by `exec`.
    pub fn find_in(dirs: &[PathBuf], exec: E) -> Result<Nft<E>, NatError> {
        dirs.iter()
            .map(|dir| dir.join("nft"))
            .find(|path| is_executable(path))
            .map(|binary| Nft::new(binary, exec))
            .ok_or_else(|| NatError::NftNotInstalled {
                dirs: dirs.to_vec(),
            })
    }

    pub fn new(binary: PathBuf, exec: E) -> Nft<E> {
        Nft {
            binary,
            exec,
            timeout: NFT_TIMEOUT,
        }
    }

    pub fn with_timeout(self, timeout: Duration) -> Nft<E> {
        Nft { timeout, ..self }
    }

    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// Runs one script: `nft -f -`, the script on stdin. nft applies it as
    /// one batch: on an error nothing of it is applied.
    pub fn apply(&self, script: &Script) -> Result<(), NatError> {
        let step = || script.step().to_owned();
        // No shell: the binary, `-f -`, and the script on stdin.
        let out = self
            .exec
            .run(
                &self.binary,
                &["-f", "-"],
                script.text().as_bytes(),
                self.timeout,
            )
            .map_err(|failure| match failure {
                ExecFailure::Spawn(source) => NatError::Spawn {
                    binary: self.binary.clone(),
                    step: step(),
                    source,
                },
                ExecFailure::Timeout => NatError::Timeout {
                    step: step(),
                    after: self.timeout,
                },
                ExecFailure::StdoutTooLarge => NatError::OutputTooLarge { step: step() },
            })?;
        if out.success {
            Ok(())
        } else {
            Err(NatError::Refused {
                step: step(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    }

    /// The node's table made or brought up to date (with the bridge).
    pub fn set_up_node(
        &self,
        table: &TableName,
        bridge: &str,
        pod_cidr: Ipv4Net,
    ) -> Result<(), NatError> {
        self.apply(&script::node_table(table, bridge, pod_cidr)?)
    }

    /// A pod's host ports added (after its link is up). Nothing runs when
    /// it has none.
    pub fn add_host_ports(
        &self,
        table: &TableName,
        pod_ip: Ipv4Addr,
        ports: &[PortMapping],
    ) -> Result<(), NatError> {
        match script::add_host_ports(table, pod_ip, ports)? {
            Some(script) => self.apply(&script),
            None => Ok(()),
        }
    }

    /// A pod's host ports removed (at teardown), there or not.
    pub fn remove_host_ports(
        &self,
        table: &TableName,
        pod_ip: Ipv4Addr,
        ports: &[PortMapping],
    ) -> Result<(), NatError> {
        match script::remove_host_ports(table, pod_ip, ports)? {
            Some(script) => self.apply(&script),
            None => Ok(()),
        }
    }

    /// The whole table deleted, there or not.
    pub fn delete_table(&self, table: &TableName) -> Result<(), NatError> {
        self.apply(&script::delete_table(table))
    }
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::fs;

    /// Records what it was asked to run and answers as told.
    struct Fake {
        calls: RefCell<Vec<(PathBuf, Vec<String>, String)>>,
        answer: fn() -> Result<PluginOutput, ExecFailure>,
    }

    impl NftExec for Fake {
        fn run(
            &self,
            binary: &Path,
            args: &[&str],
            stdin: &[u8],
            _: Duration,
        ) -> Result<PluginOutput, ExecFailure> {
            self.calls.borrow_mut().push((
                binary.to_owned(),
                args.iter().map(|a| (*a).to_owned()).collect(),
                String::from_utf8_lossy(stdin).into_owned(),
            ));
            (self.answer)()
        }
    }

    fn nft(answer: fn() -> Result<PluginOutput, ExecFailure>) -> Nft<Fake> {
        Nft::new(
            PathBuf::from("/usr/sbin/nft"),
            Fake {
                calls: RefCell::default(),
                answer,
            },
        )
    }

    fn ok() -> Result<PluginOutput, ExecFailure> {
        Ok(PluginOutput {
            success: true,
            stdout: Vec::new(),
            stderr: Vec::new(),
        })
    }

    fn mapping() -> PortMapping {
        PortMapping {
            host_port: 8080,
            container_port: 80,
            protocol: "tcp".to_owned(),
            host_ip: None,
        }
    }

    const POD: Ipv4Addr = Ipv4Addr::new(10, 88, 0, 2);

    #[test]
    fn a_script_goes_to_nft_f_on_stdin() {
        let nft = nft(ok);
        let table = TableName::minipod();
        nft.add_host_ports(&table, POD, &[mapping()]).expect("ok");
        let calls = nft.exec.calls.borrow();
        assert_eq!(
            *calls,
            vec![(
                PathBuf::from("/usr/sbin/nft"),
                vec!["-f".to_owned(), "-".to_owned()],
                "add element ip minipod hostports_any { tcp . 8080 : 10.88.0.2 . 80 }\n".to_owned()
            )]
        );
    }

    #[test]
    fn a_pod_without_host_ports_runs_nothing() {
        let nft = nft(ok);
        let table = TableName::minipod();
        nft.add_host_ports(&table, POD, &[]).expect("ok");
        nft.remove_host_ports(&table, POD, &[]).expect("ok");
        assert!(nft.exec.calls.borrow().is_empty());
    }

    #[test]
    fn bad_input_runs_nothing() {
        let nft = nft(ok);
        let bad = PortMapping {
            protocol: "tcp }; flush ruleset".to_owned(),
            ..mapping()
        };
        let err = nft
            .add_host_ports(&TableName::minipod(), POD, &[bad])
            .expect_err("refused");
        assert!(matches!(err, NatError::Invalid { .. }), "{err:?}");
        assert!(nft.exec.calls.borrow().is_empty());
    }

    #[test]
    fn nfts_refusal_carries_its_message() {
        let nft = nft(|| {
            Ok(PluginOutput {
                success: false,
                stdout: Vec::new(),
                stderr: b"/dev/stdin:1:33-55: Error: Could not process rule: File exists\n"
                    .to_vec(),
            })
        });
        let err = nft
            .add_host_ports(&TableName::minipod(), POD, &[mapping()])
            .expect_err("refused");
        assert_eq!(
            err.to_string(),
            "nft could not add the host ports of 10.88.0.2 to the table ip minipod: \
             /dev/stdin:1:33-55: Error: Could not process rule: File exists"
        );
    }

    #[test]
    fn a_timeout_and_a_failed_start_name_the_step() {
        let nft = nft(|| Err(ExecFailure::Timeout)).with_timeout(Duration::from_secs(2));
        assert_eq!(
            nft.delete_table(&TableName::minipod())
                .expect_err("timeout")
                .to_string(),
            "nft did not delete the table ip minipod within 2s (killed)"
        );
        let nft = self::nft(|| Err(ExecFailure::Spawn(std::io::ErrorKind::NotFound.into())));
        assert_eq!(
            nft.delete_table(&TableName::minipod())
                .expect_err("spawn")
                .to_string(),
            "cannot start /usr/sbin/nft to delete the table ip minipod"
        );
    }

    #[test]
    fn nft_is_found_in_the_dirs_or_named_as_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (empty, with) = (dir.path().join("empty"), dir.path().join("with"));
        fs::create_dir_all(&empty).expect("mkdir");
        fs::create_dir_all(&with).expect("mkdir");
        let err = Nft::find_in(std::slice::from_ref(&empty), CommandExec).expect_err("missing");
        assert_eq!(
            err.to_string(),
            format!(
                "the nft command is not installed (looked in {}): install the nftables package",
                empty.display()
            )
        );
        // Not executable: not it.
        fs::write(with.join("nft"), "#!/bin/sh\n").expect("write");
        assert!(Nft::find_in(std::slice::from_ref(&with), CommandExec).is_err());
        fs::set_permissions(with.join("nft"), fs::Permissions::from_mode(0o755)).expect("chmod");
        let found = Nft::find_in(&[empty, with.clone()], CommandExec).expect("found");
        assert_eq!(found.binary(), with.join("nft"));
    }

    #[test]
    fn a_real_process_gets_the_script_and_its_stderr_comes_back() {
        // A stand-in for nft: checks its arguments, echoes stdin to stderr
        // and fails, as nft does with a script it refuses.
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = dir.path().join("nft");
        fs::write(
            &fake,
            "#!/bin/sh\n[ \"$1 $2\" = \"-f -\" ] || exit 3\n/bin/cat >&2\nexit 1\n",
        )
        .expect("write");
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).expect("chmod");
        let nft = Nft::find_in(&[dir.path().to_owned()], CommandExec).expect("found");
        let err = nft
            .delete_table(&TableName::new("mpn1").expect("name"))
            .expect_err("refused");
        assert_eq!(
            err.to_string(),
            "nft could not delete the table ip mpn1: add table ip mpn1\ndelete table ip mpn1"
        );
    }
}
