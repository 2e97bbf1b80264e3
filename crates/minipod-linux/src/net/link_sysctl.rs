//! Per-link IPv4 settings of minipod's own links
//! (`/proc/sys/net/ipv4/conf/<link>/…`, ip-sysctl.rst:
//! <https://docs.kernel.org/networking/ip-sysctl.html>):
//!
//! * `forwarding`: whether packets that *arrive* on the link may be routed
//!   on (the kernel checks the input link's setting, `IN_DEV_FORWARD` in
//!   `ip_route_input_slow`). On the bridge it lets the pods' traffic out
//!   without the host-wide switch; the answers, arriving on the host's
//!   uplink, still need that link's forwarding, which is why the runtime
//!   also turns `ip_forward` on for real use ([`super::forwarding`]).
//!   Writing the host-wide `ip_forward` later sets every link's
//!   `forwarding` to the same value.
//! * `route_localnet`: whether a packet with a loopback address may be
//!   routed out of the link. A host port reached on `127.0.0.1` is DNATed
//!   to the pod with its source still `127.0.0.1`; the kernel refuses to
//!   route it out of the bridge (`__mkroute_output`) unless this is on
//!   there, as portmap sets it.
//!
//! Both are written only when they read 0, and never turned back off: the
//! bridge is shared by every pod and left in place.

use std::fs;
use std::path::PathBuf;

use super::{NetError, check_link_name};

/// A per-link IPv4 setting minipod turns on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkSetting {
    Forwarding,
    RouteLocalnet,
}

impl LinkSetting {
    fn file(self) -> &'static str {
        match self {
            LinkSetting::Forwarding => "forwarding",
            LinkSetting::RouteLocalnet => "route_localnet",
        }
    }
}

/// The file of `setting` for `link`. `all` and `default` are not links:
/// they name the settings of every link and of links to come (writing
/// `conf/all/forwarding` is the host-wide switch), so they are refused, as
/// is any name the kernel would not give a link.
pub fn link_setting_path(link: &str, setting: LinkSetting) -> Result<PathBuf, NetError> {
    check_link_name("link", link)?;
    if link == "all" || link == "default" {
        return Err(NetError::BadLinkName {
            field: "link",
            name: link.to_owned(),
            problem: "names the settings of every link, not a link",
        });
    }
    Ok(PathBuf::from("/proc/sys/net/ipv4/conf")
        .join(link)
        .join(setting.file()))
}

/// Whether `setting` is on for `link` (in the calling thread's namespace).
pub fn link_setting(link: &str, setting: LinkSetting) -> Result<bool, NetError> {
    let path = link_setting_path(link, setting)?;
    let text = fs::read_to_string(&path).map_err(|source| NetError::Sysctl {
        path: path.clone(),
        source,
    })?;
    Ok(text.trim() != "0")
}

/// Turns `setting` on for `link` if it is off. Returns whether it was off.
pub fn enable_link_setting(link: &str, setting: LinkSetting) -> Result<bool, NetError> {
    if link_setting(link, setting)? {
        return Ok(false);
    }
    let path = link_setting_path(link, setting)?;
    fs::write(&path, "1").map_err(|source| NetError::Sysctl { path, source })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_links_setting_is_its_own_file() {
        assert_eq!(
            link_setting_path("minipod0", LinkSetting::Forwarding).expect("ok"),
            PathBuf::from("/proc/sys/net/ipv4/conf/minipod0/forwarding")
        );
        assert_eq!(
            link_setting_path("minipod0", LinkSetting::RouteLocalnet).expect("ok"),
            PathBuf::from("/proc/sys/net/ipv4/conf/minipod0/route_localnet")
        );
    }

    /// `all` would be the host-wide switch, `..` or a `/` another file.
    /// (Only the path is checked here: [`enable_link_setting`] goes
    /// through it, and a test must never write the host's settings.)
    #[test]
    fn names_that_are_not_one_link_are_refused() {
        for (name, problem) in [
            ("all", "names the settings of every link, not a link"),
            ("default", "names the settings of every link, not a link"),
            ("..", "is . or .."),
            ("../../ipv4", "contains '/', ':' or white space"),
            ("", "is empty"),
        ] {
            let err = link_setting_path(name, LinkSetting::Forwarding).expect_err("refused");
            assert_eq!(err.to_string(), format!("link: {name:?} {problem}"));
        }
    }
}
