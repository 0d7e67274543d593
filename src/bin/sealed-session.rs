//! The `sealed-session` command (feature `cli`): generate keys, rotate the keys of a
//! configuration file, open a token to see what is in it, seal one.
//!
//! Run `sealed-session --help` for the rotation procedure and the exit codes.

use std::fmt;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sealed_session::config::{parse_time, write_atomically, Config, Rotation};
use sealed_session::{Error, Key, KeyId, KeyRing, KeyState, Rejection, SessionManager, UnixTime};
use serde_json::{json, Value};

/// Exit code: success.
const EXIT_OK: u8 = 0;
/// Exit code: `inspect` opened nothing; the reason is on standard error as `rejected: <code>`.
const EXIT_REJECTED: u8 = 1;
/// Exit code: bad arguments, an invalid configuration, or an operation that cannot be done.
const EXIT_USAGE: u8 = 2;
/// Exit code: a file or standard input could not be read or written.
const EXIT_IO: u8 = 3;

const ABOUT: &str = "Keys and tokens for sealed-session: generate keys, rotate the keys of a \
configuration file, inspect and seal tokens.";

const LONG_ABOUT: &str = "\
Keys and tokens for sealed-session: generate keys, rotate the keys of a configuration file,
inspect and seal tokens. The configuration file is the TOML file the application loads
(sealed_session::config); --config defaults to $SEALED_SESSION_CONFIG.";

const AFTER_LONG_HELP: &str = "\
Rotating keys without logging anyone out:
  1. Distribute: `sealed-session rotate --config FILE --activate-in 1h` adds a new key as
     pending. Ship FILE to every instance (each reloads it, or restarts) before the activation
     time. Every instance then opens tokens under the new key but still seals with the old
     primary, so an instance that has the new file never produces a cookie that an instance
     without it cannot open.
  2. Activation: at the activation time every instance seals with the new key, on its own (no
     reload). Cookies under the old key still open everywhere.
  3. Re-sealing: a user who comes back gets their cookie re-sealed under the new key, with the
     same creation and expiry times; nobody is logged out.
  4. Drop: once the absolute session lifetime (session.lifetime) has passed since activation,
     no valid cookie uses the old key. The next `rotate --retain N` drops it (rotate writes the
     activated key as primary and the old one as older, with a retired_at time, and warns if
     it drops a key retired less than one lifetime ago). A cookie under a dropped key is
     `unknown_key`: a fresh session, never an error page.
  After a leak: `rotate --now`, set keys.revoke_before to the current time, drop the leaked key.

Exit codes:
  0  success
  1  inspect: the token was rejected; standard error says `rejected: <code>` (too_large,
     malformed, unsupported_version, unknown_key, bad_tag, expired, idle_timeout,
     not_yet_valid, revoked, decode)
  2  usage or configuration error: bad arguments, an invalid file, a rotation that cannot be
     done, JSON that is not valid
  3  I/O error: a file or standard input could not be read or written

Environment: inspect and seal apply the SEALED_SESSION_* variables on top of the file, as the
application does (--no-env ignores them); rotate and keygen never read them.";

const ROTATE_LONG_ABOUT: &str = "\
Add a new key to the configuration file: as pending from --activate-in (default 1h) or
--activate-at, or as primary at once with --now (the current primary becomes an older key).

A pending key whose activation time has passed is first written as the primary (the previous
primary becomes older, with retired_at set). If a pending key is still waiting for its time,
rotate refuses: a rotation is already in progress.

Only keys past --retain are dropped (older keys, least recent first; without --retain every key
is kept). The file is rewritten with the keys in the order pending, primary, older (most recent
first); every other value is kept, comments and formatting are not. It is written atomically (a
temporary file with permissions 0600, then a rename), after checking that the result loads and
holds every key it should. The new file keeps the old one's owner and group, and its
permissions for them; others lose any access (a file that others could read becomes, for
example, 0640). secret_file references stay references; the new key's secret is written inline.

While it works, rotate holds an exclusive lock on FILE.lock (created beside FILE, left in place):
a second rotate of the same file waits for it, up to --lock-timeout, then fails without
changing anything.

Output, one `name: value` line each: added, state, activates_at (or `-`), promoted (or `-`),
demoted and dropped (space-separated ids, or `-`), keys (`id=state ...` in file order).";

const INSPECT_LONG_ABOUT: &str = "\
Open a token with the configuration's keys and settings, as the application would, and print
what it holds: `name: value` lines (mode, key_id, key_state, created, issued, expires, reseal,
json), or one JSON object with --format json.

TOKEN is the cookie's value (a `NAME=value` pair with the configured cookie name is accepted
too). A live token on the command line is visible to other users (`ps`) and kept in shell
history: leave TOKEN out (or give `-`) to read it from standard input, or use --file FILE. A
token that does not open prints `rejected: <code>` on standard error and exits with 1.";

#[derive(Parser, Debug)]
#[command(
    name = "sealed-session",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_long_help = AFTER_LONG_HELP,
    after_help = "Run with --help for the rotation procedure and the exit codes."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print a new random 32-byte key: a key ring file with it as the primary, or an `id:secret` entry.
    ///
    /// `sealed-session keygen --output session.toml` starts a configuration file that every other
    /// command accepts (created with permissions 0600; an existing file is never overwritten).
    Keygen {
        /// The key's id: eight hex digits, 0x and hex digits, or a decimal number [default: derived from the secret]
        #[arg(long, value_parser = parse_key_id)]
        id: Option<KeyId>,
        /// `toml`: a [[keys.key]] section with state = "primary", a whole key ring file; `env`: an entry for SEALED_SESSION_KEYS
        #[arg(long, value_enum, default_value_t = KeyFormat::Toml)]
        format: KeyFormat,
        /// Write to this new file (permissions 0600) instead of standard output
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Add a new key to a configuration file, demote the old primary, drop keys past --retain.
    #[command(long_about = ROTATE_LONG_ABOUT)]
    Rotate {
        #[command(flatten)]
        config: ConfigArg,
        /// The configuration file (the same as --config)
        #[arg(value_name = "FILE", conflicts_with = "config")]
        file: Option<PathBuf>,
        /// How long to wait for another rotate of the same file to finish ("10s", "1m")
        #[arg(long, value_parser = parse_duration, default_value = "10s", value_name = "DURATION")]
        lock_timeout: Duration,
        /// Make the new key primary at once instead of pending
        #[arg(long, conflicts_with_all = ["activate_in", "activate_at"])]
        now: bool,
        /// Activate the pending key after this long ("90m", "1h", "2d") [default: 1h]
        #[arg(long, value_parser = parse_duration, conflicts_with = "activate_at")]
        activate_in: Option<Duration>,
        /// Activate the pending key at this time (RFC 3339, or @ and Unix seconds)
        #[arg(long, value_parser = parse_when)]
        activate_at: Option<UnixTime>,
        /// Keep at most this many older keys (the most recent) [default: keep all]
        #[arg(long)]
        retain: Option<usize>,
        /// The new key's id [default: derived from the secret]
        #[arg(long, value_parser = parse_key_id)]
        id: Option<KeyId>,
        /// Print what would change without writing the file
        #[arg(long)]
        dry_run: bool,
    },
    /// Open a token and print its mode, key, timestamps and JSON, or why it was rejected.
    #[command(long_about = INSPECT_LONG_ABOUT)]
    Inspect {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        token: TokenArgs,
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Read the token from this file
        #[arg(long, value_name = "FILE", conflicts_with = "token_value")]
        file: Option<PathBuf>,
        /// The token: the cookie's value; `-` or nothing reads it from standard input (safer: a
        /// token on the command line shows in `ps` and in shell history)
        #[arg(value_name = "TOKEN")]
        token_value: Option<String>,
    },
    /// Seal a JSON value into a token (printed on standard output).
    ///
    /// The value is sealed as given; to make a session cookie the application accepts, give
    /// {"id": "<22 base64url characters>", "data": {...}} (as `inspect` prints it).
    Seal {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        token: TokenArgs,
        /// The JSON value, or `-` to read it from standard input
        json: String,
    },
}

#[derive(Args, Debug)]
struct ConfigArg {
    /// The configuration file [default: $SEALED_SESSION_CONFIG]
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct TokenArgs {
    /// The cookie name bound into the token [default: the configuration's]
    #[arg(long, value_name = "NAME")]
    cookie_name: Option<String>,
    /// Open or seal as if the time were this (RFC 3339, or @ and Unix seconds) [default: now]
    #[arg(long, value_parser = parse_when, value_name = "TIME")]
    at: Option<UnixTime>,
    /// Ignore the SEALED_SESSION_* environment variables
    #[arg(long)]
    no_env: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum KeyFormat {
    Toml,
    Env,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

fn parse_key_id(s: &str) -> Result<KeyId, String> {
    KeyId::parse(s).map_err(|e| e.message().to_owned())
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|_| "expected a duration such as 90m, 1h or 2d".to_owned())
}

fn parse_when(s: &str) -> Result<UnixTime, String> {
    parse_time(s).map_err(|e| e.message().to_owned())
}

/// Why the command failed, and so its exit code.
enum Failure {
    /// Bad arguments, an invalid configuration, an impossible operation.
    Usage(String),
    Io {
        what: String,
        error: io::Error,
    },
    Rejected(Rejection),
}

impl Failure {
    fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Io { .. } => EXIT_IO,
            Failure::Rejected(_) => EXIT_REJECTED,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m) => write!(f, "error: {m}"),
            Failure::Io { what, error } => write!(f, "error: {what}: {error}"),
            Failure::Rejected(r) => write!(f, "rejected: {r}"),
        }
    }
}

impl Failure {
    /// A configuration error, with the file it is in (unless a variable is to blame).
    fn in_file(path: &Path, e: &Error) -> Failure {
        if e.message().starts_with("SEALED_SESSION_") {
            Failure::Usage(e.to_string())
        } else {
            Failure::Usage(format!("{}: {e}", path.display()))
        }
    }
}

fn io_failure(what: impl Into<String>) -> impl FnOnce(io::Error) -> Failure {
    let what = what.into();
    move |error| Failure::Io { what, error }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout and exit 0; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(EXIT_USAGE));
        }
    };
    match run(cli.command) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(failure) => {
            eprintln!("{failure}");
            ExitCode::from(failure.code())
        }
    }
}

fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Keygen { id, format, output } => keygen(id, format, output.as_deref()),
        Command::Rotate {
            config,
            file,
            lock_timeout,
            now,
            activate_in,
            activate_at,
            retain,
            id,
            dry_run,
        } => {
            let path = match file {
                Some(f) => f,
                None => config.path()?,
            };
            let mut key = Key::generate();
            if let Some(id) = id {
                key = key.with_id(id);
            }
            let at = UnixTime::now();
            let rotation = if now {
                Rotation::immediate(key)
            } else {
                let when = match activate_at {
                    Some(t) => t,
                    None => at
                        .checked_add(activate_in.unwrap_or(Duration::from_secs(3600)))
                        .ok_or_else(|| Failure::Usage("--activate-in is too far away".into()))?,
                };
                Rotation::pending(key, when)
            };
            let rotation = match retain {
                Some(n) => rotation.retain(n),
                None => rotation,
            };
            // A missing file is reported as such, not as a lock file that cannot be created.
            std::fs::metadata(&path)
                .map_err(io_failure(format!("cannot read {}", path.display())))?;
            let _lock = lock_beside(&path, lock_timeout)?;
            // The time is taken again once the lock is held: a rotation that waited must not
            // compare activation times against the moment it started waiting.
            let at = at.max(UnixTime::now());
            rotate(&path, &rotation, at, dry_run)
        }
        Command::Inspect {
            config,
            token,
            format,
            file,
            token_value,
        } => {
            let raw = match (file, token_value) {
                (Some(file), _) => read_file(&file)?,
                (None, Some(value)) => arg_or_stdin(&value, "token")?,
                (None, None) => {
                    if io::IsTerminal::is_terminal(&io::stdin()) {
                        eprintln!("reading the token from standard input (end with Ctrl-D)");
                    }
                    arg_or_stdin("-", "token")?
                }
            };
            inspect(&config, &token, format, &raw)
        }
        Command::Seal {
            config,
            token,
            json,
        } => seal(&config, &token, &json),
    }
}

impl ConfigArg {
    fn path(&self) -> Result<PathBuf, Failure> {
        match &self.config {
            Some(p) => Ok(p.clone()),
            None => std::env::var_os("SEALED_SESSION_CONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .ok_or_else(|| {
                    Failure::Usage(
                        "--config FILE is required (or set SEALED_SESSION_CONFIG)".to_owned(),
                    )
                }),
        }
    }
}

/// Read a file, an I/O failure if it cannot be read.
fn read_file(path: &Path) -> Result<zeroize::Zeroizing<String>, Failure> {
    std::fs::read_to_string(path)
        .map(zeroize::Zeroizing::new)
        .map_err(io_failure(format!("cannot read {}", path.display())))
}

/// The directory a file's relative paths start from.
fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The argument, or standard input when it is `-`.
fn arg_or_stdin(value: &str, what: &str) -> Result<zeroize::Zeroizing<String>, Failure> {
    if value != "-" {
        return Ok(zeroize::Zeroizing::new(value.to_owned()));
    }
    let mut text = zeroize::Zeroizing::new(String::new());
    io::stdin()
        .read_to_string(&mut text)
        .map_err(io_failure(format!(
            "cannot read the {what} from standard input"
        )))?;
    Ok(text)
}

/// Print to stdout; a closed pipe is an I/O failure, not a panic.
fn out(text: &str) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(io_failure("cannot write to standard output"))
}

fn keygen(id: Option<KeyId>, format: KeyFormat, output: Option<&Path>) -> Result<(), Failure> {
    let mut key = Key::generate();
    if let Some(id) = id {
        key = key.with_id(id);
    }
    let secret = key.to_base64();
    let text = zeroize::Zeroizing::new(match format {
        // A whole ring (one primary key): `keygen > session.toml` is a file every command
        // accepts. To add a key to an existing ring, use `rotate`.
        KeyFormat::Toml => format!(
            "[[keys.key]]\nid = \"{}\"\nsecret = \"{}\"\nstate = \"primary\"\n",
            key.id(),
            secret.as_str()
        ),
        KeyFormat::Env => format!("{}:{}\n", key.id(), secret.as_str()),
    });
    match output {
        None => out(&text),
        Some(path) => create_secret_file(path, text.as_bytes())
            .map_err(io_failure(format!("cannot create {}", path.display()))),
    }
}

/// Create `path` (which must not exist) holding `contents`, readable by its owner only.
fn create_secret_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Take the exclusive lock on `FILE.lock` beside `path`, waiting up to `timeout` for another
/// holder. The lock file is never removed: removing it would let a third process lock a new
/// file while the second still holds the old one.
fn lock_beside(path: &Path, timeout: Duration) -> Result<std::fs::File, Failure> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let lock = options.open(&lock_path).map_err(io_failure(format!(
        "cannot open the lock file {}",
        lock_path.display()
    )))?;
    let deadline = std::time::Instant::now().checked_add(timeout);
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(lock),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(error)) => {
                return Err(Failure::Io {
                    what: format!("cannot lock {}", lock_path.display()),
                    error,
                })
            }
        }
        if deadline.is_none_or(|d| std::time::Instant::now() >= d) {
            return Err(Failure::Usage(format!(
                "another rotate holds {} (waited {}); nothing was changed. Try again when it has \
                 finished, or give --lock-timeout a longer wait",
                lock_path.display(),
                humantime::format_duration(timeout)
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn rotate(path: &Path, rotation: &Rotation, now: UnixTime, dry_run: bool) -> Result<(), Failure> {
    let text = read_file(path)?;
    let rotated = rotation
        .apply(&text, &dir_of(path), now)
        .map_err(|e| Failure::in_file(path, &e))?;
    let report = rotated.report();
    if !dry_run {
        write_atomically(path, rotated.text().as_bytes())
            .map_err(io_failure(format!("cannot write {}", path.display())))?;
    }
    for id in report.dropped_early() {
        eprintln!(
            "warning: dropped key {id} was retired less than one session lifetime ago (or at an \
             unknown time): users whose cookie is sealed under it get a fresh session"
        );
    }
    let ids = |ids: &[KeyId]| {
        if ids.is_empty() {
            "-".to_owned()
        } else {
            ids.iter()
                .map(KeyId::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        }
    };
    let opt = |id: Option<KeyId>| id.map_or_else(|| "-".to_owned(), |id| id.to_string());
    let (state, activates_at) = match report.added_state() {
        KeyState::Pending { activates_at } => ("pending", activates_at.to_string()),
        _ => ("primary", "-".to_owned()),
    };
    out(&format!(
        "added: {}\nstate: {state}\nactivates_at: {activates_at}\npromoted: {}\ndemoted: {}\n\
         dropped: {}\nkeys: {}\n{}",
        report.added(),
        opt(report.promoted()),
        ids(report.demoted()),
        ids(report.dropped()),
        report.keys_summary(),
        if dry_run {
            "dry run: nothing was written\n"
        } else {
            ""
        }
    ))
}

/// Load the configuration for `inspect` and `seal`, with the manager they open and seal with.
fn manager(config: &ConfigArg, token: &TokenArgs) -> Result<(SessionManager, KeyRing), Failure> {
    let path = config.path()?;
    let text = read_file(&path)?;
    let mut loader = Config::loader().toml(text.as_str()).base_dir(dir_of(&path));
    if !token.no_env {
        loader = loader.env();
    }
    let config = loader.load().map_err(|e| Failure::in_file(&path, &e))?;
    let mut builder = config.session_builder::<SessionManager>();
    if let Some(name) = &token.cookie_name {
        builder = builder.with_cookie_name(name.clone());
    }
    let manager = builder
        .build()
        .map_err(|e| Failure::Usage(format!("--cookie-name: {e}")))?;
    Ok((manager, config.key_ring()))
}

fn inspect(
    config: &ConfigArg,
    args: &TokenArgs,
    format: OutputFormat,
    raw: &str,
) -> Result<(), Failure> {
    let (manager, ring) = manager(config, args)?;
    let name = manager.policy().name();
    let mut token = raw.trim();
    if let Some(value) = token
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('='))
    {
        token = value;
    }
    let now = args.at.unwrap_or_else(UnixTime::now);
    let opened = manager
        .sealer()
        .open_at::<Value>(now, token)
        .map_err(Failure::Rejected)?;
    let meta = opened.meta();
    let key_state = if ring.primary_id_at(now) == meta.key_id() {
        "primary".to_owned()
    } else {
        match ring.keys().find(|(id, _)| *id == meta.key_id()) {
            Some((_, KeyState::Pending { activates_at })) => {
                format!("pending until {activates_at}")
            }
            _ => "older".to_owned(),
        }
    };
    let reseal = opened.reseal().map(|r| r.as_str());
    let text = match format {
        OutputFormat::Text => format!(
            "mode: {}\nkey_id: {}\nkey_state: {key_state}\ncreated: {}\nissued: {}\nexpires: {}\n\
             reseal: {}\njson: {}\n",
            meta.mode(),
            meta.key_id(),
            meta.created(),
            meta.issued(),
            meta.expires(),
            reseal.unwrap_or("none"),
            opened.value()
        ),
        OutputFormat::Json => format!(
            "{}\n",
            json!({
                "mode": meta.mode().as_str(),
                "key_id": meta.key_id().to_string(),
                "key_state": key_state,
                "created": meta.created().to_string(),
                "issued": meta.issued().to_string(),
                "expires": meta.expires().to_string(),
                "reseal": reseal,
                "json": opened.value(),
            })
        ),
    };
    out(&text)
}

fn seal(config: &ConfigArg, args: &TokenArgs, json: &str) -> Result<(), Failure> {
    let (manager, _) = manager(config, args)?;
    let text = arg_or_stdin(json, "JSON")?;
    let value: Value = serde_json::from_str(text.trim()).map_err(|e| {
        Failure::Usage(format!(
            "the JSON is not valid: line {}, column {}",
            e.line(),
            e.column()
        ))
    })?;
    let now = args.at.unwrap_or_else(UnixTime::now);
    let token = manager
        .sealer()
        .seal_at(now, &value)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    out(&format!("{token}\n"))
}
