//! The `netassist` binary: parse the command line, run, print one line per error.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = netassist::cli::Cli::parse_args();
    match netassist::run(cli) {
        Ok(code) => code,
        Err(e) => {
            let mut err = anstream::stderr();
            let _ = writeln!(
                err,
                "{}error:{} {e}",
                anstyle::AnsiColor::Red.on_default().bold().render(),
                anstyle::Reset.render()
            );
            ExitCode::FAILURE
        }
    }
}
