//! One entry's metadata: read from its tar header (refusing what the store
//! must not write) and applied through a descriptor.

use std::ffi::OsString;
use std::fs::{File, Permissions};
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use xattr::FileExt as _;

use super::error::{Fail, Refusal};

/// Ownership, mode, time and xattrs of one entry.
pub(super) struct Meta {
    pub(super) uid: u32,
    pub(super) gid: u32,
    pub(super) mode: u32,
    pub(super) mtime: u64,
    pub(super) xattrs: Vec<(OsString, Vec<u8>)>,
}

impl Meta {
    pub(super) fn read<R: Read>(entry: &mut tar::Entry<'_, R>) -> Result<Meta, Fail> {
        // The tar crate's messages for a malformed field quote the field:
        // a refusal names the field instead, a PAX record failure goes out
        // as a Stream error, whose message never shows the data.
        let header = entry.header();
        let owner = |id: u64| u32::try_from(id).map_err(|_| Refusal::OwnerOutOfRange(id));
        let bad = |field| move |_| Refusal::MalformedHeader(field);
        let uid = owner(header.uid().map_err(bad("uid"))?)?;
        let gid = owner(header.gid().map_err(bad("gid"))?)?;
        let mode = header.mode().map_err(bad("mode"))? & 0o7777;
        let mtime = header.mtime().map_err(bad("mtime"))?;
        let mut xattrs = Vec::new();
        if let Some(extensions) = entry.pax_extensions().map_err(Fail::Stream)? {
            for extension in extensions {
                let extension = extension.map_err(Fail::Stream)?;
                let Ok(key) = extension.key() else { continue };
                let Some(name) = key.strip_prefix("SCHILY.xattr.") else {
                    continue;
                };
                if name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.") {
                    return Err(Refusal::ReservedXattr(name.to_owned()).into());
                }
                let kept = name.starts_with("user.")
                    || name == "security.capability"
                    || name == "system.posix_acl_access"
                    || name == "system.posix_acl_default";
                if kept {
                    xattrs.push((OsString::from(name), extension.value_bytes().to_vec()));
                } else {
                    tracing::debug!(xattr = name, "layer xattr skipped");
                }
            }
        }
        Ok(Meta {
            uid,
            gid,
            mode,
            mtime,
            xattrs,
        })
    }

    pub(super) fn time(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_secs(self.mtime))
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// The mtime as the kernel takes it (`time_t`), saturated.
    pub(super) fn seconds(&self) -> i64 {
        i64::try_from(self.mtime).unwrap_or(i64::MAX)
    }

    /// chown, then chmod (a chown clears setuid/setgid), then xattrs, through
    /// an open descriptor: nothing here follows a path.
    pub(super) fn apply_to(&self, file: &File) -> io::Result<()> {
        // fchown/fchmod/fsetxattr on the descriptor.
        std::os::unix::fs::fchown(file, Some(self.uid), Some(self.gid))?;
        file.set_permissions(Permissions::from_mode(self.mode))?;
        for (name, value) in &self.xattrs {
            if let Err(e) = file.set_xattr(name, value) {
                // Layer xattrs are kept when the store's file system can hold them.
                tracing::warn!(xattr = ?name, error = %e, "layer xattr not kept");
            }
        }
        Ok(())
    }
}
