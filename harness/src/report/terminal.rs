//! How wide the terminal is, for the verdict table ([`super::table`]).

/// Columns when neither `COLUMNS` nor the terminal says (80, the VT100's).
pub const DEFAULT_WIDTH: usize = 80;

/// The width to render for: `COLUMNS` when set to a positive number; else, when stdout
/// is a terminal, its width (or [`DEFAULT_WIDTH`] when it cannot be read); else `None`
/// (a file or a pipe: no limit, the full table).
pub fn width(stdout_is_tty: bool) -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    stdout_is_tty.then(|| terminal_columns().unwrap_or(DEFAULT_WIDTH))
}

#[cfg(unix)]
fn terminal_columns() -> Option<usize> {
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct it is given.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(not(unix))]
fn terminal_columns() -> Option<usize> {
    None
}
