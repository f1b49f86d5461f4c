//! `netassist bench HOST PORT`: runs the load on its threads, shows a live line (or JSON
//! progress), prints the report.

use rust_i18n::t;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use super::{output_error, raise_open_files, stop_on_signals};
use crate::error::{Error, Result};
use crate::{cli, config, mode, net};

pub(crate) async fn bench(args: cli::BenchArgs) -> Result<ExitCode> {
    use std::sync::Arc;
    use std::sync::atomic::Ordering::Relaxed;

    if let Some(cli::BenchCommand::Merge(merge)) = &args.then {
        return merge_runs(merge);
    }
    let (host, port) = config::host_and_port("bench", args.host.as_deref().unwrap_or_default(), args.port)?;
    let target = net::resolve(&host, port).await?[0];
    let config = config::bench_config(&args, target)?;
    // Each connection is a descriptor: room for many.
    let _ = raise_open_files();
    let stop = CancellationToken::new();
    stop_on_signals(stop.clone());
    let live = Arc::new(mode::bench::Live::default());
    let duration = config.duration;
    let mut running = tokio::task::spawn_blocking({
        let (live, stop) = (live.clone(), stop.clone());
        move || mode::bench::run(config, live, stop)
    });
    // The live line: on stderr when it is a terminal (indicatif hides it otherwise); with
    // --json, a progress object each second on stdout.
    let bar = (!args.json).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(indicatif::ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"));
        bar
    });
    let began = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    let (mut last_rounds, mut last_at, mut ticks) = (0u64, began, 0u64);
    let mut stdout = std::io::stdout();
    let report = loop {
        tokio::select! {
            done = &mut running => break done.map_err(|e| Error::Io { context: t!("ctx.the_benchmark_stopped").into_owned(), source: std::io::Error::other(e) })?,
            _ = tick.tick() => {
                ticks += 1;
                let rounds = live.rounds.load(Relaxed);
                let now = tokio::time::Instant::now();
                let rate = (rounds - last_rounds) as f64 / (now - last_at).as_secs_f64().max(1e-3);
                if let Some(bar) = &bar {
                    bar.set_message(t!(
                        "bench.progress",
                        at = format!("{:.1}", began.elapsed().as_secs_f64()),
                        of = format!("{:.0}", duration.as_secs_f64()),
                        rate = format!("{rate:>10.0}"),
                        mb = format!("{:.1}", live.received.load(Relaxed) as f64 / 1e6),
                        errors = live.errors.load(Relaxed),
                        mismatches = live.mismatches.load(Relaxed)
                    ).into_owned());
                    bar.tick();
                }
                if ticks % 10 == 0 {
                    if args.json {
                        let mut o = crate::sink::json::JsonObject::plain();
                        o.str("event", "progress")
                            .num("elapsed_s", format!("{:.1}", began.elapsed().as_secs_f64()))
                            .num("rate", format!("{rate:.1}"))
                            .num("rounds", rounds)
                            .num("errors", live.errors.load(Relaxed))
                            .num("mismatches", live.mismatches.load(Relaxed));
                        let line = o.finish() + "\n";
                        let _ = std::io::Write::write_all(&mut stdout, line.as_bytes());
                    }
                    (last_rounds, last_at) = (rounds, now);
                }
            }
        }
    };
    let report =
        report.map_err(|source| Error::Io { context: t!("ctx.cannot_run_the_benchmark").into_owned(), source })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let text = if args.json { format!("{}\n", report.json()) } else { report.human() };
    match std::io::Write::write_all(&mut stdout, text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(source) => return Err(output_error(source)),
        Ok(()) => {}
    }
    if report.failed() {
        return Err(Error::Failed(
            t!("bench.failed", mismatches = report.mismatches(), errors = report.errors(), target = target)
                .into_owned(),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// `bench merge FILE...`: the runs' summaries as one.
fn merge_runs(args: &cli::MergeArgs) -> Result<ExitCode> {
    use mode::bench::merge;
    let mut runs = Vec::new();
    for path in &args.files {
        let (text, source) = if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|e| {
                Error::Failed(t!("merge.cannot_read", source = "stdin", why = crate::error::io_reason(&e)).into_owned())
            })?;
            (text, "stdin".to_string())
        } else {
            let text = std::fs::read_to_string(path).map_err(|source| Error::File { path: path.clone(), source })?;
            (text, path.display().to_string())
        };
        runs.extend(
            merge::read_runs(&text, &source)
                .map_err(|why| Error::Argument { what: "bench merge".into(), message: why })?,
        );
    }
    if runs.is_empty() {
        let sources: Vec<String> = args.files.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::Argument {
            what: "bench merge".into(),
            message: t!("merge.no_runs", sources = sources.join(", ")).into_owned(),
        });
    }
    let merged = merge::merge(runs);
    let text = if args.json { format!("{}\n", merged.json()) } else { merged.human() };
    super::report(|out| out.write_all(text.as_bytes()).map_err(output_error))
}
