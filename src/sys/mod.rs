//! The operating-system seam: memory mappings, guard regions and the
//! overflow signal handler. Everything that talks to the kernel outside
//! epoll (which mio owns) lives here.

pub(crate) mod mem;
pub(crate) mod overflow;
