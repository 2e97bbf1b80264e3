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
            let mut offset = 0;
            while offset < self.buffer.len() {
                let reply =
                    NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buffer[offset..])
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
                // A late answer to an earlier request (an ACK after a
                // dump's DONE) is not ours.
                if reply.header.sequence_number != self.sequence {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::Error(error) => {
                        return match error.code {
                            None => Ok(replies),
                            Some(_) => Err(error.to_io()),
                        };
                    }
                    // A dump the kernel could not finish ends with a
                    // negative errno in its DONE.
                    NetlinkPayload::Done(done) if done.code < 0 => {
                        return Err(io::Error::from_raw_os_error(-done.code));
                    }
                    NetlinkPayload::Done(_) => return Ok(replies),
                    NetlinkPayload::InnerMessage(message) => replies.push(message),
                    _ => {}
                }
            }
        }
    }
}
