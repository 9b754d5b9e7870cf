//! What every figure needs: the mode and sizes, the binaries, the work directory, and a
//! way to run the `logenrich` CLI measured.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::procs::{self, Binaries, Measured};

/// Sizes of one run, full or `--quick`.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// Rounds per side of each comparison.
    pub rounds: usize,
    /// Lines of the parse + tag corpus (also used for the peers).
    pub parse_lines: u64,
    /// Client pool of the corpora.
    pub unique_ips: u32,
    /// Lines given to the notebook baseline's parse + tag.
    pub python_lines: u64,
    /// Unique addresses the notebook baseline and logenrich look up.
    pub python_lookup_ips: u32,
    /// Unique addresses of the DNS figure.
    pub dns_ips: u32,
    /// In-flight limits of the DNS curve.
    pub curve: Vec<usize>,
    /// Line counts of the scaling figure, smallest first; the middle one is the size of
    /// the end-to-end bars.
    pub scale: [u64; 3],
}

impl Sizes {
    /// The full suite (the bars' sizes).
    pub fn full() -> Self {
        Sizes {
            rounds: 3,
            parse_lines: 1_000_000,
            unique_ips: 10_000,
            python_lines: 1_000_000,
            python_lookup_ips: 2_000,
            dns_ips: 10_000,
            curve: vec![16, 32, 64, 128, 256, 512, 1024],
            scale: [100_000, 1_000_000, 10_000_000],
        }
    }

    /// The CI smoke run: small sizes, one round, well under a minute.
    pub fn quick() -> Self {
        Sizes {
            rounds: 1,
            parse_lines: 100_000,
            unique_ips: 10_000,
            python_lines: 20_000,
            python_lookup_ips: 1_000,
            dns_ips: 2_000,
            curve: vec![64, 256, 1024],
            scale: [100_000, 1_000_000, 1_500_000],
        }
    }
}

/// The shared context of a run.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Sizes of this run.
    pub sizes: Sizes,
    /// Whether this is `--quick`.
    pub quick: bool,
    /// The binaries.
    pub bins: Binaries,
    /// Where corpora, databases and logs go.
    pub work: PathBuf,
    /// `XDG_CACHE_HOME` of the CLI runs: a compile cache warmed once, so that runs measure
    /// the work rather than compiling the component.
    pub cache_home: PathBuf,
    /// The Python interpreter for the notebook baseline.
    pub python: PathBuf,
}

impl Ctx {
    /// A `logenrich` command with `args`, the warm compile cache, no progress bar, the
    /// records written to `out` and stderr to `stderr_file`.
    pub fn logenrich_to(
        &self,
        args: &[&str],
        out: &Path,
        stderr_file: &Path,
    ) -> anyhow::Result<Command> {
        let mut cmd = Command::new(&self.bins.logenrich);
        cmd.args(args)
            .arg("--no-progress")
            .arg("-o")
            .arg(out)
            .env("XDG_CACHE_HOME", &self.cache_home)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(stderr_file)?);
        Ok(cmd)
    }

    /// Runs `logenrich args...` measured (stderr kept in the work directory under `tag`).
    pub fn run_logenrich(&self, tag: &str, args: &[&str]) -> anyhow::Result<Measured> {
        self.run_logenrich_to(tag, args, Path::new("/dev/null"))
    }

    /// As [`Ctx::run_logenrich`], writing the records to `out`.
    pub fn run_logenrich_to(
        &self,
        tag: &str,
        args: &[&str],
        out: &Path,
    ) -> anyhow::Result<Measured> {
        let log = self.work.join(format!("logenrich-{tag}.stderr"));
        let mut cmd = self.logenrich_to(args, out, &log)?;
        procs::run_measured(&mut cmd, Some(&log))
    }

    /// Fills the compile cache with one tiny run.
    pub fn warm_cache(&self) -> anyhow::Result<()> {
        let tiny = crate::data::tiny_file(&self.work, 10)?;
        let tiny = tiny.to_string_lossy();
        self.run_logenrich("warm", &[&tiny, "--no-dns", "--no-geoip"])?;
        Ok(())
    }
}

/// A path as a `&str` argument (the work directory is ours, so UTF-8 unless the user chose
/// otherwise).
pub fn arg(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .ok_or_else(|| anyhow::anyhow!("{} is not UTF-8", p.display()))
}
