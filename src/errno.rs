//! Error values: every fallible operation in the core returns `Result<T>`,
//! and the FFI layer turns `Err(Errno)` into -1 with `errno` set.

use std::fmt;

/// A POSIX error number.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

pub type Result<T> = std::result::Result<T, Errno>;

impl Errno {
    pub const EACCES: Errno = Errno(libc::EACCES);
    pub const EAGAIN: Errno = Errno(libc::EAGAIN);
    pub const EBADF: Errno = Errno(libc::EBADF);
    pub const EBUSY: Errno = Errno(libc::EBUSY);
    pub const ECANCELED: Errno = Errno(libc::ECANCELED);
    pub const EDEADLK: Errno = Errno(libc::EDEADLK);
    pub const EINTR: Errno = Errno(libc::EINTR);
    pub const EINVAL: Errno = Errno(libc::EINVAL);
    pub const ENOENT: Errno = Errno(libc::ENOENT);
    pub const ENOMEM: Errno = Errno(libc::ENOMEM);
    pub const ENOSPC: Errno = Errno(libc::ENOSPC);
    pub const ENOTSOCK: Errno = Errno(libc::ENOTSOCK);
    pub const EPERM: Errno = Errno(libc::EPERM);
    pub const ESRCH: Errno = Errno(libc::ESRCH);
    pub const ETIMEDOUT: Errno = Errno(libc::ETIMEDOUT);

    /// The calling thread's `errno`.
    pub fn last() -> Errno {
        Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO))
    }

    pub(crate) fn from_io(e: &std::io::Error) -> Errno {
        Errno(e.raw_os_error().unwrap_or(libc::EIO))
    }

    /// Sets the calling thread's `errno` to this value.
    pub fn set(self) {
        // SAFETY: __errno_location returns this thread's errno slot, valid for the thread's life.
        unsafe { *libc::__errno_location() = self.0 }
    }

    /// Decodes a wake-up result as the hub passes it to a green thread:
    /// a non-negative value is success, a negative one is `-errno`.
    pub(crate) fn decode(v: i32) -> Result<i32> {
        if v >= 0 {
            Ok(v)
        } else {
            Err(Errno(-v))
        }
    }

    pub(crate) fn code(self) -> i32 {
        -self.0
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Errno({}: {})", self.0, std::io::Error::from_raw_os_error(self.0))
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&std::io::Error::from_raw_os_error(self.0), f)
    }
}

impl std::error::Error for Errno {}
