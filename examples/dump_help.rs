use clap::CommandFactory;
fn main() {
    let cmd = netassist::cli::Cli::command();
    let mut subs: Vec<clap::Command> = vec![cmd.clone()];
    subs.extend(cmd.get_subcommands().cloned());
    for c in subs {
        let name = c.get_name().to_string();
        println!("## {name}\nabout: {:?}\nlong_about: {:?}\nafter: {:?}", c.get_about().map(|s| s.to_string()), c.get_long_about().map(|s| s.to_string()), c.get_after_help().map(|s| s.to_string()));
        for a in c.get_arguments() {
            println!("arg {} | {:?} | long {:?}", a.get_id(), a.get_help().map(|s| s.to_string()), a.get_long_help().map(|s| s.to_string()));
            for v in a.get_possible_values() { if let Some(h) = v.get_help() { println!("   val {} = {}", v.get_name(), h); } }
        }
        for s in c.get_subcommands() { println!("sub {}", s.get_name()); }
    }
}
