//! Who the workload runs as: `runAsUser`/`runAsGroup`, else the image's
//! `USER`, with names looked up in the container's own `/etc/passwd` and
//! `/etc/group` (read after pivot_root, so they are the image's files).

use std::fs;

use super::protocol::User;

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
}

fn passwd() -> Vec<PasswdEntry> {
    let text = fs::read_to_string("/etc/passwd").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            Some(PasswdEntry {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
            })
        })
        .collect()
}

/// (name, gid, members) of each group.
fn groups() -> Vec<(String, u32, Vec<String>)> {
    let text = fs::read_to_string("/etc/group").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            let members = f
                .get(3)
                .map(|m| {
                    m.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            Some((f.first()?.to_string(), f.get(2)?.parse().ok()?, members))
        })
        .collect()
}

/// A user or group name the image's files do not have. (The messages are
/// runc's, which the kubelet shows.)
#[derive(Debug, thiserror::Error)]
pub enum UnknownUser {
    #[error("unable to find user {0}: no matching entries in passwd file")]
    User(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    Group(String),
}

/// The uid, gid and supplementary groups to switch to.
pub fn resolve(user: &User) -> Result<(u32, u32, Vec<u32>), UnknownUser> {
    let users = passwd();
    let (image_user, image_group) = match user.image_user.as_deref() {
        Some(spec) => match spec.split_once(':') {
            Some((u, g)) => (Some(u), Some(g)),
            None => (Some(spec), None),
        },
        None => (None, None),
    };
    let entry = |uid: u32| users.iter().find(|e| e.uid == uid);
    let uid = match (user.uid, image_user) {
        (Some(uid), _) => uid,
        (None, Some(u)) => match u.parse::<u32>() {
            Ok(uid) => uid,
            Err(_) => users
                .iter()
                .find(|e| e.name == u)
                .map(|e| e.uid)
                .ok_or_else(|| UnknownUser::User(u.to_owned()))?,
        },
        (None, None) => 0,
    };
    let all_groups = groups();
    let gid = match (user.gid, image_group.filter(|_| user.uid.is_none())) {
        (Some(gid), _) => gid,
        (None, Some(g)) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => all_groups
                .iter()
                .find(|(name, _, _)| name == g)
                .map(|(_, gid, _)| *gid)
                .ok_or_else(|| UnknownUser::Group(g.to_owned()))?,
        },
        (None, None) => entry(uid).map_or(0, |e| e.gid),
    };
    let mut extra: Vec<u32> = match entry(uid) {
        Some(e) => all_groups
            .iter()
            .filter(|(_, _, members)| members.contains(&e.name))
            .map(|(_, gid, _)| *gid)
            .collect(),
        None => Vec::new(),
    };
    extra.extend(&user.supplemental_groups);
    extra.sort_unstable();
    extra.dedup();
    Ok((uid, gid, extra))
}
