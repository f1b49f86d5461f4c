//! `--help` in Chinese: the clap tree built from `cli/` (whose doc comments are the
//! English) is walked once and each command's texts and each option's help replaced by
//! its `help.*` message. The headings clap writes itself (Usage, Options, ...) come from
//! a help template. A test checks that every command and option has its Chinese.

use clap::{Arg, ArgAction, Command};

use crate::lang::zh_help;

/// The command tree with its help in Chinese.
pub fn localize(cmd: Command) -> Command {
    localize_command(cmd, true)
}

/// Exits on a command line clap refused: its own message in English, one in Chinese.
pub fn exit(e: clap::Error, lang: crate::lang::Lang) -> ! {
    if lang == crate::lang::Lang::En || !e.use_stderr() {
        e.exit();
    }
    match zh_error(&e) {
        Some(message) => {
            eprintln!("{}: {message}\n\n{}", crate::lang::error_label(), clap_word("more"));
            std::process::exit(2);
        }
        None => e.exit(),
    }
}

fn zh_error(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ErrorKind};
    let get = |kind: ContextKind| e.get(kind).map(|v| v.to_string()).unwrap_or_default();
    let arg = get(ContextKind::InvalidArg);
    let value = get(ContextKind::InvalidValue);
    let suggestion = |kind: ContextKind| {
        e.get(kind).map(|s| clap_word("did_you_mean").replace("%{what}", &s.to_string())).unwrap_or_default()
    };
    let text = match e.kind() {
        ErrorKind::InvalidValue => clap_word("invalid_value")
            .replace("%{value}", &value)
            .replace("%{arg}", &arg)
            .replace("%{valid}", &get(ContextKind::ValidValue)),
        ErrorKind::ValueValidation => {
            // The source is our own message (cli/parse.rs), already in Chinese.
            let why = std::error::Error::source(e).map(|s| s.to_string()).unwrap_or_default();
            clap_word("bad_value").replace("%{value}", &value).replace("%{arg}", &arg).replace("%{why}", &why)
        }
        ErrorKind::UnknownArgument => {
            clap_word("unknown_argument").replace("%{arg}", &arg) + &suggestion(ContextKind::SuggestedArg)
        }
        ErrorKind::InvalidSubcommand => {
            clap_word("unknown_command").replace("%{what}", &get(ContextKind::InvalidSubcommand))
                + &suggestion(ContextKind::SuggestedSubcommand)
        }
        ErrorKind::MissingRequiredArgument => clap_word("missing").replace("%{arg}", &arg),
        ErrorKind::ArgumentConflict => {
            clap_word("conflict").replace("%{arg}", &arg).replace("%{other}", &get(ContextKind::PriorArg))
        }
        ErrorKind::NoEquals | ErrorKind::TooManyValues | ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            clap_word("value_count").replace("%{arg}", &arg)
        }
        _ => return None,
    };
    Some(text)
}

/// The Chinese help of option `id` of command `command`.
pub fn arg_help(command: &str, id: &str) -> Option<String> {
    zh_help(&format!("help.{command}.{id}")).or_else(|| zh_help(&format!("help.any.{id}")))
}

fn clap_word(key: &str) -> String {
    zh_help(&format!("help.clap.{key}")).unwrap_or_default()
}

/// The option's help, with the default and the values clap would list under English
/// headings written in Chinese instead.
fn localize_arg(arg: Arg, mut help: String) -> Arg {
    let defaults: Vec<String> = arg.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
    let shown_default =
        !arg.is_hide_default_value_set() && !defaults.is_empty() && arg.get_num_args().is_none_or(|n| n.takes_values());
    if shown_default {
        help.push_str(&clap_word("default").replace("%{value}", &defaults.join(", ")));
    }
    let values = arg.get_possible_values();
    let listed = !arg.is_hide_possible_values_set() && values.iter().any(|v| v.get_help().is_some());
    if listed {
        help.push_str(&clap_word("values"));
        for value in values.iter().filter(|v| !v.is_hide_set()) {
            help.push_str(&format!(
                "\n  - {}: {}",
                value.get_name(),
                value.get_help().map(|h| h.to_string()).unwrap_or_default()
            ));
        }
    }
    let hide_default = shown_default || arg.is_hide_default_value_set();
    let hide_values = listed || arg.is_hide_possible_values_set();
    arg.help(help).long_help(None::<&str>).hide_default_value(hide_default).hide_possible_values(hide_values)
}

fn localize_command(mut cmd: Command, root: bool) -> Command {
    let name = cmd.get_name().to_string();
    let text = |key: &str| zh_help(&format!("help.{name}.{key}"));
    if let Some(about) = text("about") {
        cmd = cmd.about(about);
    }
    cmd = match text("long_about") {
        Some(long) => cmd.long_about(long),
        None => cmd.long_about(None::<&str>),
    };
    if let Some(after) = text("after") {
        cmd = cmd.after_help(after).after_long_help(None::<&str>);
    }
    let ids: Vec<String> = cmd.get_arguments().map(|a| a.get_id().to_string()).collect();
    for id in ids {
        if let Some(help) = arg_help(&name, &id) {
            cmd = cmd.mut_arg(&id, |a| localize_arg(a, help));
        }
    }
    let subcommands = cmd.get_subcommands().count() > 0;
    let mut template = format!("{{about-with-newline}}\n{} {{usage}}\n\n", clap_word("usage"));
    if subcommands {
        template.push_str(&format!("{}\n{{subcommands}}\n\n", clap_word("commands")));
    }
    if cmd.get_positionals().next().is_some() {
        template.push_str(&format!("{}\n{{positionals}}\n\n", clap_word("arguments")));
    }
    template.push_str(&format!("{}\n{{options}}{{after-help}}", clap_word("options")));
    cmd = cmd
        .help_template(template)
        .disable_help_flag(true)
        .arg(Arg::new("help").short('h').long("help").action(ArgAction::Help).help(clap_word("help")));
    if root {
        cmd = cmd
            .disable_version_flag(true)
            .arg(Arg::new("version").short('V').long("version").action(ArgAction::Version).help(clap_word("version")));
    }
    let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    for sub in names.iter().filter(|n| *n != "help") {
        cmd = cmd.mut_subcommand(sub, |s| localize_command(s, false));
    }
    if root {
        // clap makes the `help` subcommand when it builds the tree: build it, then word it.
        cmd.build();
        if cmd.find_subcommand("help").is_some() {
            cmd = cmd.mut_subcommand("help", |s| s.about(clap_word("subcommand_help")));
        }
    }
    cmd
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::cli::Cli;

    #[test]
    fn every_command_and_option_has_its_chinese() {
        let root = Cli::command();
        let mut missing = Vec::new();
        let mut commands = vec![root.clone()];
        let mut at = 0;
        while at < commands.len() {
            let subs: Vec<clap::Command> = commands[at].get_subcommands().cloned().collect();
            commands.extend(subs);
            at += 1;
        }
        for cmd in &commands {
            let name = cmd.get_name();
            if zh_help(&format!("help.{name}.about")).is_none() {
                missing.push(format!("help.{name}.about"));
            }
            if cmd.get_after_help().is_some() && zh_help(&format!("help.{name}.after")).is_none() {
                missing.push(format!("help.{name}.after"));
            }
            for arg in cmd.get_arguments() {
                if arg.get_help().is_some() && arg_help(name, arg.get_id().as_str()).is_none() {
                    missing.push(format!("help.{name}.{}", arg.get_id()));
                }
            }
        }
        assert!(missing.is_empty(), "no Chinese for: {missing:?}");
    }

    #[test]
    fn chinese_help_parses_the_same_command_lines() {
        let words = ["netassist", "listen", "9090", "--reply", "ok", "--encoding", "gbk", "--show", "hex"];
        let matches = localize(Cli::command()).try_get_matches_from(words).unwrap();
        let cli = Cli::from_matches(&matches).unwrap();
        assert!(matches!(cli.command, crate::cli::Command::Listen(_)));
        let help = localize(Cli::command()).find_subcommand_mut("listen").unwrap().render_help().to_string();
        assert!(help.contains("用法:"), "{help}");
        assert!(help.contains("监听的端口"), "{help}");
        assert!(help.contains("--reply"), "{help}");
    }
}
