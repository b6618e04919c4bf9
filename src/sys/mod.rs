//! The operating-system seam: memory mappings, guard regions, the overflow
//! signal handler and raw system calls. Everything that talks to the kernel
//! outside epoll (which mio owns) lives here.

pub(crate) mod call;
pub(crate) mod mem;
pub(crate) mod overflow;
