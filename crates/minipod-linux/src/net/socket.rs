//! A blocking route-netlink request: one message out, its replies in.
//!
//! The kernel answers a request on a `NETLINK_ROUTE` socket with the
//! messages it asked for (one, or a multi-part dump ending in
//! `NLMSG_DONE`) and, because every request here sets `NLM_F_ACK`, an
//! `NLMSG_ERROR` whose code is 0 (the acknowledgement) or a negative errno
//! (the failure) (<https://docs.kernel.org/userspace-api/netlink/intro.html>,
//! rtnetlink(7)). Blocking calls suit minipod's threads (decision 0005) and
//! the threads that enter a pod's namespace: a netlink socket acts in the
//! namespace it was created in, whatever thread uses it later.

use std::io;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// Large enough for any one datagram: a dump's datagrams are at most
/// 32 KiB (net/netlink/af_netlink.c caps the buffer it fills there), and
/// answers to requests are far smaller. A longer one is reported as
/// truncated, never parsed in part.
const RECEIVE_BUFFER: usize = 64 * 1024;

/// A route-netlink socket of the calling thread's network namespace at
/// the time it was opened.
#[derive(Debug)]
pub(crate) struct RouteSocket {
    socket: Socket,
    sequence: u32,
    buffer: Vec<u8>,
}

impl RouteSocket {
    /// Opens a socket in the calling thread's current network namespace.
    pub(crate) fn open() -> io::Result<RouteSocket> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        // Port 0 is the kernel: every send goes there.
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(RouteSocket {
            socket,
            sequence: 0,
            buffer: Vec::with_capacity(RECEIVE_BUFFER),
        })
    }

    /// Sends `message` with `NLM_F_REQUEST | NLM_F_ACK | flags` and returns
    /// the kernel's replies once it has acknowledged the request (or ended
    /// a dump). A negative acknowledgement is the errno as an
    /// [`io::Error`] (`ENODEV`, `EEXIST` …).
    pub(crate) fn request(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.sequence = self.sequence.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = self.sequence;
        let mut request = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
        request.finalize();
        let mut bytes = vec![0; request.buffer_len()];
        request.serialize(&mut bytes);
        self.socket.send(&bytes, 0)?;

        let mut replies = Vec::new();
        loop {
            self.buffer.clear();
            let received = self.socket.recv(&mut self.buffer, 0)?;
            if received > self.buffer.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a netlink reply of {received} bytes was truncated"),
                ));
            }
            if read_datagram(&self.buffer, self.sequence, &mut replies)? {
                return Ok(replies);
            }
        }
    }
}

/// Reads the messages of one datagram into `replies`, those answering
/// request `sequence` only. Returns whether the answer is complete (the
/// acknowledgement, or the end of a dump); a refusal is its errno.
fn read_datagram(
    datagram: &[u8],
    sequence: u32,
    replies: &mut Vec<RouteNetlinkMessage>,
) -> io::Result<bool> {
    let mut offset = 0;
    while offset < datagram.len() {
        let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&datagram[offset..])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let length = reply.header.length as usize;
        if length == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a netlink reply of length 0",
            ));
        }
        // Messages are aligned to 4 bytes (NLMSG_ALIGN).
        offset += (length + 3) & !3;
        // A late answer to an earlier request (an ACK after a dump's
        // DONE) is not ours.
        if reply.header.sequence_number != sequence {
            continue;
        }
        match reply.payload {
            NetlinkPayload::Error(error) => {
                return match error.code {
                    None => Ok(true),
                    Some(_) => Err(error.to_io()),
                };
            }
            // A dump the kernel could not finish ends with a negative
            // errno in its DONE.
            NetlinkPayload::Done(done) if done.code < 0 => {
                return Err(io::Error::from_raw_os_error(-done.code));
            }
            NetlinkPayload::Done(_) => return Ok(true),
            NetlinkPayload::InnerMessage(message) => replies.push(message),
            _ => {}
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroI32;

    use netlink_packet_core::{
        DoneMessage, ErrorMessage, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    };
    use netlink_packet_route::RouteNetlinkMessage;
    use netlink_packet_route::link::{LinkAttribute, LinkMessage};

    use super::read_datagram;

    /// One datagram made of `messages`, each with its sequence number.
    fn datagram(messages: Vec<(u32, NetlinkPayload<RouteNetlinkMessage>)>) -> Vec<u8> {
        let mut bytes = Vec::new();
        for (sequence, payload) in messages {
            let mut header = NetlinkHeader::default();
            header.sequence_number = sequence;
            let mut message = NetlinkMessage::new(header, payload);
            message.finalize();
            let mut one = vec![0; message.buffer_len()];
            message.serialize(&mut one);
            one.resize(one.len().next_multiple_of(4), 0);
            bytes.extend(one);
        }
        bytes
    }

    fn link(name: &str) -> NetlinkPayload<RouteNetlinkMessage> {
        let mut link = LinkMessage::default();
        link.attributes.push(LinkAttribute::IfName(name.to_owned()));
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link))
    }

    fn error(code: i32) -> NetlinkPayload<RouteNetlinkMessage> {
        let mut error = ErrorMessage::default();
        error.code = NonZeroI32::new(code);
        NetlinkPayload::Error(error)
    }

    fn done(code: i32) -> NetlinkPayload<RouteNetlinkMessage> {
        let mut done = DoneMessage::default();
        done.code = code;
        NetlinkPayload::Done(done)
    }

    #[test]
    fn replies_are_kept_until_the_acknowledgement() {
        let mut replies = Vec::new();
        let bytes = datagram(vec![(7, link("eth0")), (7, error(0))]);
        assert!(read_datagram(&bytes, 7, &mut replies).expect("an answer"));
        assert_eq!(replies.len(), 1);
    }

    #[test]
    fn a_refusal_is_its_errno() {
        let mut replies = Vec::new();
        let bytes = datagram(vec![(3, error(-libc::EEXIST))]);
        let err = read_datagram(&bytes, 3, &mut replies).expect_err("refused");
        assert_eq!(err.raw_os_error(), Some(libc::EEXIST));
    }

    #[test]
    fn a_dump_ends_with_done_or_its_error() {
        let mut replies = Vec::new();
        let part = datagram(vec![(5, link("lo")), (5, link("eth0"))]);
        assert!(!read_datagram(&part, 5, &mut replies).expect("a part"));
        assert!(read_datagram(&datagram(vec![(5, done(0))]), 5, &mut replies).expect("the end"));
        assert_eq!(replies.len(), 2);
        let err = read_datagram(&datagram(vec![(6, done(-libc::EINTR))]), 6, &mut replies)
            .expect_err("an interrupted dump");
        assert_eq!(err.raw_os_error(), Some(libc::EINTR));
    }

    #[test]
    fn answers_to_other_requests_are_skipped() {
        let mut replies = Vec::new();
        let bytes = datagram(vec![(1, error(0)), (1, link("old")), (2, link("new"))]);
        assert!(!read_datagram(&bytes, 2, &mut replies).expect("ours"));
        assert_eq!(replies.len(), 1);
    }

    #[test]
    fn a_garbled_datagram_is_an_error() {
        let mut replies = Vec::new();
        let err = read_datagram(&[1, 2, 3], 1, &mut replies).expect_err("garbled");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    }
}
