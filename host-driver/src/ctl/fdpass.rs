//! A message and the descriptors that go with it, over a Unix socket
//! (`SCM_RIGHTS`): how the control process hands an application its queue
//! page and its memory, and nothing else.

use anyhow::{bail, Context, Result};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Longest message: a grant is a short JSON object.
const MAX_MESSAGE: usize = 4096;
/// Most descriptors one message carries.
const MAX_FDS: usize = 8;

pub fn send(sock: &impl AsRawFd, message: &[u8], fds: &[RawFd]) -> Result<()> {
    if message.len() > MAX_MESSAGE || fds.len() > MAX_FDS {
        bail!("a control message of {} bytes and {} descriptors is too large", message.len(), fds.len());
    }
    let iov = [IoSlice::new(message)];
    let cmsg = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsg };
    sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None).context("sending a control message")?;
    Ok(())
}

/// The next message and its descriptors; an empty message means the
/// other side hung up.
pub fn recv(sock: &impl AsRawFd) -> Result<(Vec<u8>, Vec<OwnedFd>)> {
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        .context("receiving a control message")?;
    let mut fds = Vec::new();
    for c in msg.cmsgs().context("reading a control message's descriptors")? {
        if let ControlMessageOwned::ScmRights(raw) = c {
            // SAFETY: the kernel just installed these descriptors in this
            // process for this message; nothing else owns them.
            fds.extend(raw.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
        }
    }
    let n = msg.bytes;
    if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
        bail!("a control message carried more than {MAX_FDS} descriptors");
    }
    buf.truncate(n);
    Ok((buf, fds))
}
