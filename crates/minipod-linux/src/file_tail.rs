//! The end of a file a container could write, read without trusting it:
//! the termination message file and the container's log.
//!
//! The path is minipod's own (a file it created on the host), but a
//! read must still not follow a symlink at its last component
//! (`O_NOFOLLOW`), block on a FIFO (`O_NONBLOCK`, then a regular-file
//! check), or read more than asked however large the file has grown.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// At most the last `max` bytes of the regular file at `path`, without
/// following a symlink at `path` (`ELOOP`). A file that is not a regular
/// one is refused (`InvalidInput`).
pub fn read_tail_nofollow(path: &Path, max: usize) -> io::Result<Vec<u8>> {
    let mut file = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let max = u64::try_from(max).unwrap_or(u64::MAX);
    let start = meta.len().saturating_sub(max);
    file.seek(SeekFrom::Start(start))?;
    let mut data = Vec::new();
    // `take`: the file may grow between the stat and the read.
    file.take(max).read_to_end(&mut data)?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_a_long_file_and_the_whole_of_a_short_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_tail_nofollow(&path, 4).unwrap(), b"6789");
        assert_eq!(read_tail_nofollow(&path, 64).unwrap(), b"0123456789");
        std::fs::write(&path, b"").unwrap();
        assert_eq!(read_tail_nofollow(&path, 4).unwrap(), b"");
    }

    #[test]
    fn a_symlink_or_a_fifo_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, b"secret").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        let err = read_tail_nofollow(&link, 64).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP), "{err}");

        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let err = read_tail_nofollow(&fifo, 64).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    }
}
