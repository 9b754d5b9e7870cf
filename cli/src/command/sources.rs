//! What a run reads (inputs in order, or files followed) with its checkpoint, the checks
//! that keep the output from destroying or re-reading an input, and the stop on SIGINT or
//! SIGTERM.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{anyhow, bail};

use crate::checkpoint::{self, Checkpoint};
use crate::input::follow::FollowOptions;
use crate::input::{Input, Sources};

use super::Args;
use super::plan::in_range;

/// The first SIGINT or SIGTERM sets `stop`: reading ends, what was read is processed and
/// written, and the run exits 0. A second one exits at once (130).
pub(crate) async fn stop_on_signals(stop: Arc<AtomicBool>, quiet: bool) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    for round in 0.. {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        if round > 0 {
            eprintln!("logenrich: second signal: exiting now");
            std::process::exit(130);
        }
        stop.store(true, Ordering::Relaxed);
        if !quiet {
            eprintln!(
                "logenrich: stopping: finishing the lines already read (signal again to abort)"
            );
        }
    }
}

/// What to read (inputs in order, or files followed), and the checkpoint to resume from.
pub(crate) fn sources(args: &Args) -> anyhow::Result<(Sources, Option<Checkpoint>)> {
    let checkpoint = match &args.checkpoint {
        Some(path) => Some(Checkpoint::load(path)?),
        None => None,
    };
    if args.follow {
        if args.files.is_empty() || args.files.iter().any(|f| f == Path::new("-")) {
            bail!("--follow needs file names or glob patterns (it cannot follow stdin)");
        }
        let mut patterns = Vec::new();
        for file in &args.files {
            let text = file
                .to_str()
                .ok_or_else(|| anyhow!("--follow: {} is not UTF-8", file.display()))?;
            let pattern = glob::Pattern::new(text)
                .map_err(|e| anyhow!("--follow: bad pattern {text:?}: {e}"))?;
            if let Some(out) = &args.output
                && (pattern.matches_path(out) || pattern.matches_path(&checkpoint::absolute(out)))
            {
                bail!(
                    "the output file {} matches the followed pattern {text:?}: its records would be read back",
                    out.display()
                );
            }
            patterns.push(text.to_owned());
        }
        let poll = in_range("poll", args.poll.unwrap_or(25), 1..=60_000)?;
        let follow = FollowOptions {
            patterns,
            from_start: args.from_start,
            poll: Duration::from_millis(poll),
        };
        return Ok((Sources::Follow(follow), checkpoint));
    }
    let inputs: Vec<Input> = if args.files.is_empty() {
        vec![Input::Stdin]
    } else {
        args.files.iter().map(|f| Input::from_arg(f)).collect()
    };
    if checkpoint.is_some() && inputs.contains(&Input::Stdin) {
        bail!("--checkpoint needs file inputs: stdin cannot be resumed");
    }
    if let Some(path) = &args.output {
        refuse_output_among_inputs(path, &inputs)?;
    }
    Ok((Sources::Inputs(inputs), checkpoint))
}

/// Refuses an output file that is one of the inputs: creating it would truncate the
/// input before it is read.
fn refuse_output_among_inputs(output: &std::path::Path, inputs: &[Input]) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(out) = std::fs::metadata(output) else {
        return Ok(());
    };
    for input in inputs {
        if let Input::File(path) = input
            && let Ok(meta) = std::fs::metadata(path)
            && (meta.dev(), meta.ino()) == (out.dev(), out.ino())
        {
            anyhow::bail!(
                "the output file {} is the input {}: writing it would destroy the input",
                output.display(),
                path.display()
            );
        }
    }
    Ok(())
}
