//! `netassist ping HOST`: ICMP, or TCP connects with `--tcp`.

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use super::stop_on_signals;
use crate::error::{Error, Result};
use crate::{cli, tools};

pub(crate) async fn ping(args: cli::PingArgs) -> Result<ExitCode> {
    let stop = CancellationToken::new();
    stop_on_signals(stop.clone());
    let family = match (args.ipv4, args.ipv6) {
        (true, _) => tools::ping::Family::V4,
        (_, true) => tools::ping::Family::V6,
        _ => tools::ping::Family::Any,
    };
    let opts = tools::ping::PingOptions {
        count: (args.count > 0).then_some(args.count),
        interval: args.interval,
        timeout: args.timeout,
        size: usize::from(args.size),
        tcp: args.tcp,
        family,
        json: args.json,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match tools::ping::run(&mut out, &args.host, &opts, &stop).await {
        // Like ping: success when any reply came.
        Ok(summary) if summary.received() > 0 => Ok(ExitCode::SUCCESS),
        Ok(_) => Ok(ExitCode::FAILURE),
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e),
    }
}
