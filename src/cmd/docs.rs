//! `netassist completions SHELL` and `netassist manpage [COMMAND]`: both from the same clap
//! definitions as `--help` (in the interface's language), so they cannot drift from it.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use rust_i18n::t;

use crate::cli::{Cli, CompletionsArgs, ManpageArgs};
use crate::error::{Error, Result};

/// A completion script for `shell` on stdout.
pub fn completions(args: &CompletionsArgs) -> Result<ExitCode> {
    let mut cmd = Cli::localized_command();
    super::report(|out| {
        clap_complete::generate(args.shell, &mut cmd, "netassist", out);
        Ok(())
    })
}

/// The man page of `netassist` or of one command, on stdout; with `--dir`, every page
/// written there (`netassist.1`, `netassist-listen.1`, ...).
pub fn manpage(args: &ManpageArgs) -> Result<ExitCode> {
    let mut root = Cli::localized_command();
    root.build();
    if let Some(dir) = &args.dir {
        return super::report(|out| write_all(&root, dir, out));
    }
    let page = match &args.command {
        None => root,
        Some(name) => page_for(&root, name)?,
    };
    super::report(|out| render(page, out).map_err(super::output_error))
}

/// The page of one command, named as `man` looks it up (`netassist-listen`).
fn page_for(root: &clap::Command, name: &str) -> Result<clap::Command> {
    let sub = root.find_subcommand(name).ok_or_else(|| Error::Argument {
        what: "manpage".into(),
        message: t!("docs.no_command", name = name).into_owned(),
    })?;
    let title = format!("netassist-{}", sub.get_name());
    Ok(sub.clone().name(title).bin_name(format!("netassist {}", sub.get_name())))
}

fn render(page: clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    clap_mangen::Man::new(page).render(out)
}

fn write_all(root: &clap::Command, dir: &Path, out: &mut dyn Write) -> Result<()> {
    let io = |source| Error::Io { context: t!("docs.cannot_write", dir = dir.display()).into_owned(), source };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut pages = vec![("netassist".to_string(), root.clone())];
    for sub in root.get_subcommands().filter(|s| s.get_name() != "help") {
        pages.push((format!("netassist-{}", sub.get_name()), page_for(root, sub.get_name())?));
    }
    for (name, page) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut file = std::fs::File::create(&path).map_err(io)?;
        render(page, &mut file).map_err(io)?;
        writeln!(out, "{}", path.display()).map_err(super::output_error)?;
    }
    Ok(())
}
