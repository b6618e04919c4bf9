//! The operating-system seam: memory mappings, guard regions, the overflow
//! signal handler, raw system calls, the clock and fork handlers. Everything
//! that talks to the kernel outside epoll (which mio owns) lives here.

pub(crate) mod call;
pub(crate) mod mem;
pub(crate) mod os;
pub(crate) mod overflow;
