//! stdout for every subcommand: when the reader goes away (`imds-harness list | head -1`)
//! the rest of the output is dropped quietly, as ripgrep does, instead of `println!`'s
//! panic; the subcommand ends with the status it would have had (a run still writes its
//! `--json`/`--junit` files and exits by its verdict).

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout, unless stdout has closed. Another write error (a full disk
/// behind a redirect) is reported once on stderr and drops the rest too.
pub fn print(text: &str) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("warning: cannot write to stdout: {e}");
        }
    }
}

/// `text` and a newline.
pub fn line(text: &str) {
    print(&format!("{text}\n"));
}
