//! The cgroup v2 device filter: a small eBPF program, assembled here by
//! hand, that the kernel runs at each `open(2)` or `mknod(2)` of a device
//! node by a process of the cgroup (`BPF_PROG_TYPE_CGROUP_DEVICE`,
//! "Device controller" in
//! <https://docs.kernel.org/admin-guide/cgroup-v2.html>). It returns 1 to
//! allow, 0 to refuse with `EPERM`. runc builds the same kind of program
//! (`libcontainer/cgroups/devices/devicefilter.go`); decision 0009 says why
//! minipod assembles it itself rather than through libcgroups.
//!
//! The program, for a deny-all policy with allow rules:
//!
//! ```text
//! prologue   r2 = ctx.access_type & 0xffff     device type: 1 block, 2 char
//!            r3 = ctx.access_type >> 16        access asked: 1 mknod, 2 read, 4 write
//!            r4 = ctx.major; r5 = ctx.minor
//! per rule   if r2 != TYPE goto next                       (its type)
//!            w1 = w3; w1 &= ACCESS; if r1 != r3 goto next  (only if ACCESS is not rwm:
//!                                                           every bit asked is allowed)
//!            if r4 != MAJOR goto next                      (unless MAJOR is *)
//!            if r5 != MINOR goto next                      (unless MINOR is *)
//!            w0 = 1; exit                                  allow
//! epilogue   w0 = 0; exit                                  nothing matched: refuse
//! ```
//!
//! `ctx` is `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32
//! minor; }` (`include/uapi/linux/bpf.h`), passed in `r1`.

#![allow(unsafe_code)] // the bpf(2) system call and the descriptor it returns: each block says why

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use minipod_plan::devices::{DeviceAccess, DeviceRule, DeviceType};

/// One eBPF instruction (`struct bpf_insn`): opcode, destination and
/// source registers (4 bits each), jump offset, immediate.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// `src << 4 | dst`.
    pub regs: u8,
    /// For jumps: how many instructions to skip after this one.
    pub off: i16,
    pub imm: i32,
}

// The opcodes used (`include/uapi/linux/bpf_common.h`, `bpf.h`): class |
// size or operation | source.
/// `BPF_LDX | BPF_W | BPF_MEM`: `dst = *(u32 *)(src + off)`.
pub const LDX_W: u8 = 0x61;
/// `BPF_ALU | BPF_AND | BPF_K`: `w_dst &= imm`.
pub const AND32_K: u8 = 0x54;
/// `BPF_ALU | BPF_RSH | BPF_K`: `w_dst >>= imm`.
pub const RSH32_K: u8 = 0x74;
/// `BPF_ALU | BPF_MOV | BPF_X`: `w_dst = w_src`.
pub const MOV32_X: u8 = 0xbc;
/// `BPF_ALU | BPF_MOV | BPF_K`: `w_dst = imm`.
pub const MOV32_K: u8 = 0xb4;
/// `BPF_JMP | BPF_JNE | BPF_K`: `if dst != imm goto +off`.
pub const JNE_K: u8 = 0x55;
/// `BPF_JMP | BPF_JNE | BPF_X`: `if dst != src goto +off`.
pub const JNE_X: u8 = 0x5d;
/// `BPF_JMP | BPF_EXIT`: return `r0`.
pub const EXIT: u8 = 0x95;

// `bpf_cgroup_dev_ctx`'s numbers (`BPF_DEVCG_DEV_*`, `BPF_DEVCG_ACC_*`).
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

fn access_bits(access: DeviceAccess) -> i32 {
    let mut bits = 0;
    if access.mknod {
        bits |= ACC_MKNOD;
    }
    if access.read {
        bits |= ACC_READ;
    }
    if access.write {
        bits |= ACC_WRITE;
    }
    bits
}

/// The program that allows exactly `rules` and refuses everything else.
pub fn program(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut prog = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(AND32_K, 2, 0, 0, 0xffff),
        insn(LDX_W, 3, 1, 0, 0),
        insn(RSH32_K, 3, 0, 0, 16),
        insn(LDX_W, 4, 1, 4, 0),
        insn(LDX_W, 5, 1, 8, 0),
    ];
    for rule in rules {
        // Each test jumps to the next rule's first instruction when it
        // fails; the offsets are filled in once the block's length is known.
        let mut block: Vec<Insn> = Vec::new();
        let device_type = match rule.device_type {
            DeviceType::Block => DEV_BLOCK,
            DeviceType::Char => DEV_CHAR,
        };
        block.push(insn(JNE_K, 2, 0, 0, device_type));
        if rule.access != DeviceAccess::RWM {
            block.push(insn(MOV32_X, 1, 3, 0, 0));
            block.push(insn(AND32_K, 1, 0, 0, access_bits(rule.access)));
            block.push(insn(JNE_X, 1, 3, 0, 0));
        }
        // Major numbers are 12 bits and minor numbers 20 bits: both fit an
        // i32 immediate.
        if let Some(major) = rule.major {
            block.push(insn(JNE_K, 4, 0, 0, major as i32));
        }
        if let Some(minor) = rule.minor {
            block.push(insn(JNE_K, 5, 0, 0, minor as i32));
        }
        block.push(insn(MOV32_K, 0, 0, 0, 1));
        block.push(insn(EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, ins) in block.iter_mut().enumerate() {
            if matches!(ins.code, JNE_K | JNE_X) {
                // The target is the instruction after the block.
                ins.off = i16::try_from(len - i - 1).unwrap_or(i16::MAX);
            }
        }
        prog.extend(block);
    }
    prog.push(insn(MOV32_K, 0, 0, 0, 0));
    prog.push(insn(EXIT, 0, 0, 0, 0));
    prog
}

// ---------------------------------------------------------------------------
// bpf(2): load, attach, query (`include/uapi/linux/bpf.h`, `union bpf_attr`).
// ---------------------------------------------------------------------------

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Other programs may be attached next to ours (as runc attaches).
const BPF_F_ALLOW_MULTI: u32 = 2;

/// A zeroed `union bpf_attr`, written at the offsets each command uses.
/// The kernel requires the bytes it does not read to be zero; 144 bytes
/// cover every field used here.
#[repr(C, align(8))]
struct Attr([u8; 144]);

impl Attr {
    fn new() -> Attr {
        Attr([0; 144])
    }
    fn u32_at(&mut self, offset: usize, value: u32) -> &mut Attr {
        self.0[offset..offset + 4].copy_from_slice(&value.to_ne_bytes());
        self
    }
    fn u64_at(&mut self, offset: usize, value: u64) -> &mut Attr {
        self.0[offset..offset + 8].copy_from_slice(&value.to_ne_bytes());
        self
    }
    fn read_u32(&self, offset: usize) -> u32 {
        let mut bytes = [0; 4];
        bytes.copy_from_slice(&self.0[offset..offset + 4]);
        u32::from_ne_bytes(bytes)
    }
}

fn bpf(command: libc::c_long, attr: &mut Attr) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a valid, exclusively borrowed, 8-aligned buffer of
    // the size passed; every pointer stored in it (instructions, license,
    // log, id array) points to memory the caller keeps alive and, for the
    // buffers the kernel writes (log, ids), exclusively borrowed, for the
    // duration of this call. The kernel keeps none of them afterwards.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            command,
            attr.0.as_mut_ptr(),
            std::mem::size_of::<Attr>(),
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Loads `prog` as a cgroup device program. On a refusal it loads it again
/// with the verifier's log and returns the log in the error.
fn load(prog: &[Insn]) -> io::Result<OwnedFd> {
    const LICENSE: &CStr = c"GPL";
    let insn_cnt = u32::try_from(prog.len()).map_err(io::Error::other)?;
    let attr = |log: Option<&mut [u8]>| {
        let mut attr = Attr::new();
        attr.u32_at(0, BPF_PROG_TYPE_CGROUP_DEVICE)
            .u32_at(4, insn_cnt)
            .u64_at(8, prog.as_ptr() as u64)
            .u64_at(16, LICENSE.as_ptr() as u64);
        if let Some(log) = log {
            attr.u32_at(24, 1)
                .u32_at(28, u32::try_from(log.len()).unwrap_or(u32::MAX))
                .u64_at(32, log.as_mut_ptr() as u64);
        }
        attr
    };
    match bpf(BPF_PROG_LOAD, &mut attr(None)) {
        Ok(fd) => Ok(owned_fd(fd)),
        Err(first) => {
            let mut log = vec![0u8; 64 * 1024];
            let again = bpf(BPF_PROG_LOAD, &mut attr(Some(&mut log)));
            if let Ok(fd) = again {
                return Ok(owned_fd(fd));
            }
            let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
            let log = String::from_utf8_lossy(&log[..end]);
            let log = log.trim();
            if log.is_empty() {
                Err(first)
            } else {
                Err(io::Error::new(
                    first.kind(),
                    format!("{first}; the verifier says: {log}"),
                ))
            }
        }
    }
}

fn owned_fd(fd: libc::c_long) -> OwnedFd {
    // SAFETY: a successful BPF_PROG_LOAD returns a new descriptor that
    // nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) }
}

/// Loads the program allowing exactly `rules` and attaches it to the
/// cgroup whose directory `cgroup` is open (`O_RDONLY`). The program's
/// descriptor is closed on return: the attachment keeps the program until
/// the cgroup is removed.
pub fn attach(
    cgroup: BorrowedFd<'_>,
    rules: &[DeviceRule],
) -> Result<(), (&'static str, io::Error)> {
    let prog = load(&program(rules)).map_err(|e| ("load the device filter (BPF_PROG_LOAD)", e))?;
    let mut attr = Attr::new();
    attr.u32_at(0, cgroup.as_raw_fd() as u32)
        .u32_at(4, prog.as_raw_fd() as u32)
        .u32_at(8, BPF_CGROUP_DEVICE)
        .u32_at(12, BPF_F_ALLOW_MULTI);
    bpf(BPF_PROG_ATTACH, &mut attr)
        .map_err(|e| ("attach the device filter (BPF_PROG_ATTACH)", e))?;
    Ok(())
}

/// The ids of the device programs attached to the cgroup whose directory
/// `cgroup` is open (`bpftool cgroup show` lists the same).
pub fn query(cgroup: BorrowedFd<'_>) -> io::Result<Vec<u32>> {
    let mut ids = [0u32; 64];
    let mut attr = Attr::new();
    attr.u32_at(0, cgroup.as_raw_fd() as u32)
        .u32_at(4, BPF_CGROUP_DEVICE)
        .u64_at(16, ids.as_mut_ptr() as u64)
        .u32_at(24, ids.len() as u32);
    bpf(BPF_PROG_QUERY, &mut attr)?;
    let count = (attr.read_u32(24) as usize).min(ids.len());
    Ok(ids[..count].to_vec())
}

#[cfg(test)]
mod tests {
    use minipod_plan::devices::{DEFAULT_ALLOWED, DevicePolicy, container_devices};

    use super::*;

    /// Runs `prog` on one access, interpreting exactly the instructions
    /// [`program`] emits: the test that the assembly means what the
    /// policy means, without a kernel.
    fn run(prog: &[Insn], access_type: u32, major: u32, minor: u32) -> u32 {
        let ctx = [access_type, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_W => {
                    assert_eq!(src, 1, "loads only from the context");
                    r[dst] = u64::from(ctx[i.off as usize / 4]);
                }
                AND32_K => r[dst] = (r[dst] as u32 & i.imm as u32) as u64,
                RSH32_K => r[dst] = ((r[dst] as u32) >> i.imm) as u64,
                MOV32_X => r[dst] = r[src] as u32 as u64,
                MOV32_K => r[dst] = i.imm as u32 as u64,
                JNE_K if r[dst] != i.imm as u32 as u64 => pc += i.off as usize,
                JNE_X if r[dst] != r[src] => pc += i.off as usize,
                JNE_K | JNE_X => {}
                EXIT => return r[0] as u32,
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    #[test]
    fn the_program_decides_as_the_policy_for_every_kind_of_access() {
        let rules = match container_devices(false) {
            DevicePolicy::DenyAllExcept(rules) => rules,
            DevicePolicy::AllowAll => unreachable!(),
        };
        let policy = DevicePolicy::DenyAllExcept(rules.clone());
        let prog = program(&rules);
        let accesses = (1..8).map(|bits| DeviceAccess {
            mknod: bits & 1 != 0,
            read: bits & 2 != 0,
            write: bits & 4 != 0,
        });
        let mut checked = 0;
        for access in accesses {
            for (device_type, code) in [(DeviceType::Block, 1), (DeviceType::Char, 2)] {
                for (major, minor) in [
                    (1, 3),
                    (1, 11),
                    (1, 1),
                    (5, 0),
                    (5, 1),
                    (5, 2),
                    (136, 0),
                    (136, 77),
                    (10, 200),
                    (8, 0),
                    (253, 0),
                    (7, 0),
                ] {
                    let access_type = (access_bits(access) as u32) << 16 | code;
                    let expected = policy.allows(device_type, major, minor, access);
                    assert_eq!(
                        run(&prog, access_type, major, minor) == 1,
                        expected,
                        "{device_type:?} {major}:{minor} {access}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 7 * 2 * 12);
    }

    #[test]
    fn the_program_has_the_expected_shape() {
        let prog = program(&DEFAULT_ALLOWED);
        // 6 prologue + 2 "m" rules of 6 + 8 rwm rules of 5 + one 136:* of 4 + 2 epilogue.
        assert_eq!(prog.len(), 6 + 2 * 6 + 8 * 5 + 4 + 2);
        assert_eq!(prog.last().map(|i| i.code), Some(EXIT));
        assert_eq!(program(&[]).len(), 8, "no rule: refuse everything");
        assert_eq!(run(&program(&[]), 2 << 16 | 2, 1, 3), 0);
    }
}
