//! The `netassist` binary: parse the command line, run, print one line per error.

use std::io::Write;
use std::process::ExitCode;

#[cfg(feature = "count-alloc")]
#[global_allocator]
static ALLOC: netassist::alloc_count::Counting = netassist::alloc_count::Counting::new();

#[cfg(not(feature = "count-alloc"))]
#[global_allocator]
static ALLOC: netassist::alloc_pool::Pooled = netassist::alloc_pool::Pooled::new();

fn main() -> ExitCode {
    #[cfg(feature = "count-alloc")]
    netassist::alloc_count::report_on_sigusr1(&ALLOC);
    let cli = netassist::cli::Cli::parse_args();
    match netassist::run(cli) {
        Ok(code) => code,
        Err(e) => {
            let mut err = anstream::stderr();
            // Error texts can quote what a peer or the OS said: nothing in them acts on the terminal.
            let text = e.to_string();
            let _ = writeln!(
                err,
                "{}{}:{} {}",
                anstyle::AnsiColor::Red.on_default().bold().render(),
                netassist::lang::error_label(),
                anstyle::Reset.render(),
                netassist::render::escape::shown_name(&text)
            );
            // Like clap's own usage errors: 2 for a bad command line, 1 for what happened.
            if e.is_usage() { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}
