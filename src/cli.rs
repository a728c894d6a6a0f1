//! The operator's command: `khidmat serve | user add | apikey create | pack load | backup | restore | migrate`.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::app::Application;
use crate::platform::config::Config;
use crate::platform::db::Db;
use crate::platform::i18n::Lang;
use crate::platform::identity::{self, NewUser, Role};

#[derive(Parser)]
#[command(
    name = "khidmat",
    version,
    about = "Civic services for Khyber Pakhtunkhwa: reports, directory, open data and more"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// Configuration file (TOML). KHIDMAT_* environment variables override it.
    #[arg(long, global = true, env = "KHIDMAT_CONFIG")]
    config: Option<PathBuf>,
    /// Directory of the SQLite database and photos [default: ./khidmat-data]
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// postgres://… to use PostgreSQL instead of the embedded SQLite
    #[arg(long, global = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080]
        #[arg(long)]
        listen: Option<String>,
        /// Load the demo service packs on first start.
        #[arg(long)]
        demo: bool,
    },
    /// Staff users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API keys for client apps and departments.
    Apikey {
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// Service packs: a department's services as data.
    Pack {
        #[command(subcommand)]
        command: PackCommand,
    },
    /// The directory of places: import from CSV, export as HSDS JSON.
    Directory {
        #[command(subcommand)]
        command: DirectoryCommand,
    },
    /// Registers the public looks up (licences, e-challans): import a new version from CSV.
    Register {
        #[command(subcommand)]
        command: RegisterCommand,
    },
    /// Open data: import a CSV into the DataStore.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Case workflows: check a pack's definitions and draw them.
    Workflow {
        #[command(subcommand)]
        command: WorkflowCommand,
    },
    /// Benefits: check a published ballot.
    Benefits {
        #[command(subcommand)]
        command: BenefitsCommand,
    },
    /// Voice calls: the recorded prompts.
    Voice {
        #[command(subcommand)]
        command: VoiceCommand,
    },
    /// Bring the database's schema up to this release (every start does it too; this says what
    /// it did, and refuses a database a newer release has upgraded).
    Migrate,
    /// Put a backup back as the database, with the servers stopped (an SQLite copy, or a
    /// PostgreSQL dump through pg_restore); an older backup is upgraded to this release's schema.
    Restore {
        /// The backup to restore.
        file: PathBuf,
    },
    /// Back up the database while the server runs: a consistent SQLite copy, or for PostgreSQL a
    /// pg_dump in its custom format. `backup verify FILE` checks a backup instead.
    #[command(args_conflicts_with_subcommands = true)]
    Backup {
        /// The new file to write.
        file: Option<PathBuf>,
        #[command(subcommand)]
        command: Option<BackupCommand>,
    },
    /// Copy this deployment's SQLite database (the server stopped) into a new, empty PostgreSQL
    /// database: every table, the ids' sequences, and the open-data tables with their search
    /// index, in one transaction. Then set database_url to it and start the server.
    MoveToPostgres {
        /// postgres://user:password@host/database (empty; made at this release's schema).
        #[arg(long = "to")]
        to: String,
    },
    /// Check this deployment as an operator would: the database, its schema, the disk, whether
    /// the server answers and is ready, the public address, the gateways, the backups. Each
    /// finding says what to do. Exits 0 when nothing is a problem.
    Doctor,
}

#[derive(Subcommand)]
enum BackupCommand {
    /// Check that a backup restores: it opens, it is whole, it is a Khidmat database of a schema
    /// this release knows; print its tables and rows. Exits non-zero otherwise.
    Verify { file: PathBuf },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a staff user; the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, manager or officer
        #[arg(long)]
        role: String,
        /// The department's slug (managers and officers).
        #[arg(long)]
        department: Option<String>,
        /// Limit an officer to one district.
        #[arg(long)]
        district: Option<String>,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Give a user a role in a case workflow (the role's department must be the user's).
    Grant {
        #[arg(long)]
        email: String,
        #[arg(long)]
        workflow: String,
        #[arg(long)]
        role: String,
    },
}

#[derive(Subcommand)]
enum ApikeyCommand {
    /// Create a key. With --department it reads and updates that department's reports; without,
    /// it may only submit reports (an Open311 client app). The key is the last line printed.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        department: Option<String>,
    },
}

#[derive(Subcommand)]
enum DirectoryCommand {
    /// Import places of a kind from a CSV file (columns: name, lat, long, address, district,
    /// phone, description, hours, and the kind's attributes). Bad rows are listed and left out.
    Import {
        file: PathBuf,
        /// The kind of the places (e.g. public-toilet).
        #[arg(long)]
        kind: String,
        /// The organization (slug) that runs them.
        #[arg(long)]
        organization: Option<String>,
    },
    /// Write the whole directory as HSDS 3.0 JSON.
    Export { file: PathBuf },
}

#[derive(Subcommand)]
enum RegisterCommand {
    /// Replace a register's data with a CSV file (a header line with the register's columns).
    /// The new version replaces the old one at once; a file with the wrong columns changes
    /// nothing; rows with bad values are listed and left out.
    Import {
        /// The register's code (e.g. licence).
        name: String,
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum DataCommand {
    /// Publish the services' aggregate datasets now (the server also does it every Monday).
    Publish,
    /// Import a CSV file as a DataStore table of a dataset (made if missing). Column types are
    /// inferred, and only where no value would change (`0300…`, `+92…` and `1.50` stay text);
    /// --type gives a column's type instead. A bad row stops the import before anything is
    /// written, and every bad row is listed.
    Import {
        file: PathBuf,
        /// The dataset's name (a-z, 0-9, - and _).
        #[arg(long)]
        dataset: String,
        /// The dataset's title, when it is new.
        #[arg(long)]
        title: Option<String>,
        /// The department (slug) that publishes it.
        #[arg(long)]
        department: Option<String>,
        /// Index these columns (repeat the flag), for fast filters and sorts on them.
        #[arg(long = "index")]
        index: Vec<String>,
        /// A column's type, not inferred: COLUMN=TYPE, TYPE one of text, int, numeric, date,
        /// timestamp (repeat the flag).
        #[arg(long = "type", value_name = "COLUMN=TYPE", value_parser = column_type)]
        types: Vec<(String, crate::opendata::datastore::FieldType)>,
    },
}

#[derive(Subcommand)]
enum WorkflowCommand {
    /// Check every workflow in a pack and list every problem at once (unreachable states, states
    /// that never end, unknown roles, departments or fields, stakeholders without a step). With
    /// --draw DIR, also write each workflow as DIR/CODE.svg and DIR/CODE.dot for review.
    /// Departments are the pack's own and those already in the database.
    Check {
        file: PathBuf,
        #[arg(long)]
        draw: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum VoiceCommand {
    /// List, for each language, the prompts the menus can play that nobody has recorded yet
    /// (a call says those with the gateway's speech), with the words each says.
    Prompts,
    /// Keep a directory of recordings as prompts: DIR/LANG/NAME.mp3 (or .wav), LANG being en,
    /// ur or ps and NAME a prompt's name as `voice prompts` lists it.
    Import {
        /// The directory.
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum BenefitsCommand {
    /// Recompute a fund's ballot from its published files (/benefits/FUND/draw/eligible.txt,
    /// seed.txt, result.txt) and say whether the published result is the one they give. Needs
    /// no database: anyone can run it.
    VerifyDraw {
        /// The published list of eligible references (eligible.txt).
        #[arg(long)]
        list: PathBuf,
        /// The published seed file (seed.txt).
        #[arg(long, conflicts_with = "seed", required_unless_present = "seed")]
        seed_file: Option<PathBuf>,
        /// The published seed, as text.
        #[arg(long)]
        seed: Option<String>,
        /// The SHA-256 of the list published before the draw.
        #[arg(long)]
        sha256: Option<String>,
        /// The published result (result.txt), to compare with the recomputed draw.
        #[arg(long)]
        result: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum PackCommand {
    /// Load or update a service pack.
    Load { file: PathBuf },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve { .. }) {
        // A command's output piped into `head` ends quietly when `head` has read enough, as
        // other command-line tools do. (The server keeps Rust's default: a write to a closed
        // connection is an error it handles, not the end of the process.)
        // SAFETY: setting a signal's disposition to its default, before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    crate::platform::serve::cap_malloc_arenas();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn config(global: &Global) -> anyhow::Result<Config> {
    let mut config = Config::load(global.config.as_deref(), std::env::vars())?;
    if let Some(d) = &global.data_dir {
        config.data_dir = d.clone();
    }
    if let Some(u) = &global.database_url {
        config.database_url = Some(u.clone());
    }
    Ok(config)
}

fn init_logging(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn open(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(config.database_url.as_deref(), &config.sqlite_path()).await?;
    crate::platform::secrets::open(config, &db).await?;
    Ok(db)
}

const CLI_ACTOR: &str = "cli";

fn read_text(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
}

/// `khidmat benefits verify-draw`: print the draw recomputed from the published files, and fail
/// unless it matches what was published.
fn verify_draw(
    list: &std::path::Path,
    seed_file: Option<&std::path::Path>,
    seed: Option<String>,
    sha256: Option<&str>,
    result: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use crate::benefits::draw;
    let list_text = read_text(list)?;
    let seed = match (seed, seed_file) {
        (Some(s), _) => s,
        (None, Some(f)) => read_text(f)?.trim_end_matches(['\n', '\r']).to_owned(),
        (None, None) => anyhow::bail!("give --seed-file or --seed"),
    };
    let result_text = result.map(read_text).transpose()?;
    let refs = draw::parse_list(&list_text);
    println!(
        "list: {} references, SHA-256 {}",
        refs.len(),
        draw::sha256_hex(&list_text)
    );
    println!("seed: {seed}");
    println!("rank  reference  ticket = SHA-256(seed:reference)");
    for (i, (r, t)) in draw::draw(&seed, &refs).iter().enumerate() {
        println!("{:>4}  {r}  {t}", i + 1);
    }
    match draw::verify(&list_text, sha256, &seed, result_text.as_deref()) {
        draw::Verdict::Matches => {
            match (sha256.is_some(), result.is_some()) {
                (true, true) => println!("OK: the list has the published hash and the published result is this draw"),
                (true, false) => println!("OK: the list has the published hash"),
                (false, true) => println!("OK: the published result is this draw"),
                (false, false) => println!("(give --sha256 and --result to check them)"),
            }
            Ok(())
        }
        draw::Verdict::ListChanged { computed } => anyhow::bail!(
            "the list is not the one published: its SHA-256 is {computed}"
        ),
        draw::Verdict::ResultDiffers {
            line,
            expected,
            published,
        } => anyhow::bail!(
            "the published result differs from the draw at line {line}: the draw gives {}, the result says {}",
            expected.as_deref().unwrap_or("(nothing)"),
            published.as_deref().unwrap_or("(nothing)")
        ),
    }
}

/// A progress bar over the rows of a file.
fn rows_bar(rows: u64) -> indicatif::ProgressBar {
    indicatif::ProgressBar::new(rows).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows {eta}")
            .expect("a valid template"),
    )
}

/// One function per command; this only picks it.
async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = config(&cli.global)?;
    match cli.command {
        Command::Serve { listen, demo } => serve(config, listen, demo).await,
        Command::User {
            command:
                UserCommand::Add {
                    email,
                    name,
                    role,
                    department,
                    district,
                    password_stdin: _,
                },
        } => user_add(&config, email, name, role, department, district).await,
        Command::Apikey {
            command: ApikeyCommand::Create { name, department },
        } => apikey_create(&config, name, department).await,
        Command::Pack {
            command: PackCommand::Load { file },
        } => pack_load(&config, file).await,
        Command::Directory {
            command:
                DirectoryCommand::Import {
                    file,
                    kind,
                    organization,
                },
        } => directory_import(&config, file, kind, organization).await,
        Command::Register {
            command: RegisterCommand::Import { name, file },
        } => register_import(&config, name, file).await,
        Command::Directory {
            command: DirectoryCommand::Export { file },
        } => directory_export(&config, file).await,
        Command::Data {
            command:
                DataCommand::Import {
                    file,
                    dataset,
                    title,
                    department,
                    index,
                    types,
                },
        } => data_import(&config, file, dataset, title, department, index, types).await,
        Command::Data {
            command: DataCommand::Publish,
        } => data_publish(&config).await,
        Command::User {
            command:
                UserCommand::Grant {
                    email,
                    workflow,
                    role,
                },
        } => user_grant(&config, email, workflow, role).await,
        Command::Workflow {
            command: WorkflowCommand::Check { file, draw },
        } => workflow_check(&config, file, draw).await,
        Command::Voice {
            command: VoiceCommand::Prompts,
        } => voice_prompts(&config).await,
        Command::Voice {
            command: VoiceCommand::Import { dir },
        } => voice_import(&config, dir).await,
        Command::Benefits {
            command:
                BenefitsCommand::VerifyDraw {
                    list,
                    seed_file,
                    seed,
                    sha256,
                    result,
                },
        } => verify_draw(
            &list,
            seed_file.as_deref(),
            seed,
            sha256.as_deref(),
            result.as_deref(),
        ),
        Command::Restore { file } => restore(&config, file).await,
        Command::Migrate => migrate(&config).await,
        Command::Backup {
            command: Some(BackupCommand::Verify { file }),
            ..
        } => backup_verify(&config, file).await,
        Command::Backup {
            file: Some(file), ..
        } => backup(&config, file).await,
        Command::Backup { .. } => {
            anyhow::bail!("give the backup's new file name (khidmat backup FILE), or: khidmat backup verify FILE")
        }
        Command::Doctor => doctor(&config).await,
        Command::MoveToPostgres { to } => move_to_postgres(&config, &to).await,
    }
}

async fn move_to_postgres(config: &Config, to: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        config.database_url.is_none(),
        "database_url is set: this deployment is on PostgreSQL already"
    );
    anyhow::ensure!(
        to.starts_with("postgres://") || to.starts_with("postgresql://"),
        "--to must be a postgres:// address"
    );
    // No server may write while the copy is made.
    let _lock = crate::platform::backup::lock(&config.data_dir)?;
    let from = Db::connect(None, &config.sqlite_path()).await?;
    let target = Db::connect(Some(to), &config.sqlite_path()).await?;
    let bar = indicatif::ProgressBar::new_spinner().with_style(
        indicatif::ProgressStyle::with_template("{spinner} copying {msg}")
            .expect("a valid template"),
    );
    let moved = crate::admin::moving::to_postgres(&from, &target, {
        let bar = bar.clone();
        move |table, rows| {
            bar.set_message(format!("{table} ({rows} rows)"));
            bar.tick();
        }
    })
    .await?;
    bar.finish_and_clear();
    let rows: i64 = moved.tables.iter().map(|t| t.1).sum();
    println!(
        "copied {} tables ({rows} rows) and {} open-data tables to PostgreSQL",
        moved.tables.len(),
        moved.datastore_tables
    );
    println!("next: set database_url to that address (KHIDMAT_DATABASE_URL in khidmat.env), keep");
    println!("secret.key and the files directory with the server, and start it; the SQLite file");
    println!("is left as it was.");
    from.close().await;
    target.close().await;
    Ok(())
}

async fn backup_verify(config: &Config, file: PathBuf) -> anyhow::Result<()> {
    let v = crate::platform::backup::verify(config, &file).await?;
    println!(
        "{} is a usable backup: schema {}, {} tables",
        file.display(),
        v.version,
        v.tables.len()
    );
    for (table, rows) in &v.tables {
        match rows {
            Some(n) => println!("  {table}: {n} rows"),
            None => println!("  {table}"),
        }
    }
    Ok(())
}

async fn doctor(config: &Config) -> anyhow::Result<()> {
    use crate::platform::ready::Status;
    let files = crate::platform::files::Store::from_config(config)?;
    let checks = match Db::open(config.database_url.as_deref(), &config.sqlite_path()).await {
        Ok(db) => {
            let node = crate::platform::ready::Node {
                db: &db,
                config,
                files: &files,
                workers: None,
            };
            crate::platform::ready::doctor(&node).await
        }
        Err(e) => vec![crate::platform::ready::Check {
            name: "database",
            status: Status::Problem,
            detail: format!(
                "cannot open it ({e}): is it running, and are data_dir and database_url right?"
            ),
        }],
    };
    for c in &checks {
        let mark = match c.status {
            Status::Ok => "ok     ",
            Status::Warning => "warning",
            Status::Problem => "PROBLEM",
        };
        println!("{mark}  {:<11} {}", c.name, c.detail);
    }
    let problems = checks
        .iter()
        .filter(|c| c.status == Status::Problem)
        .count();
    if problems > 0 {
        anyhow::bail!("{problems} problem(s) to fix");
    }
    println!("no problems");
    Ok(())
}

async fn serve(mut config: Config, listen: Option<String>, demo: bool) -> anyhow::Result<()> {
    if let Some(l) = listen {
        config.listen = l;
    }
    config.demo |= demo;
    init_logging(&config.log_format);
    let demo = config.demo;
    let app = Application::build(config).await?;
    if demo {
        // The demo's open-data portal shows the platform's own figures from the first start.
        let state = app.state();
        match crate::opendata::publish::first(&state.db, &state.config.opendata_publisher).await {
            Ok(true) => tracing::info!("the platform's own open data is published"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e.message(), "could not publish the platform's open data")
            }
        }
    }
    tracing::info!(address = %app.local_addr(), database = app.state().db.backend().name(), "khidmat is serving");
    eprintln!("Khidmat is serving on http://{}", app.local_addr());
    app.run_until_stopped(true).await
}

async fn user_add(
    config: &Config,
    email: String,
    name: String,
    role: String,
    department: Option<String>,
    district: Option<String>,
) -> anyhow::Result<()> {
    let role = Role::parse(&role)
        .ok_or_else(|| anyhow::anyhow!("--role {role:?}: use admin, manager or officer"))?;
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password)?;
    let password = password.trim_end_matches(['\n', '\r']).to_string();
    let db = open(config).await?;
    let id = identity::create_user(
        &db,
        CLI_ACTOR,
        NewUser {
            email: &email,
            name: &name,
            role,
            department: department.as_deref(),
            district: district.as_deref(),
            password,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("user {id} created: {email} ({})", role.as_str());
    Ok(())
}

async fn apikey_create(
    config: &Config,
    name: String,
    department: Option<String>,
) -> anyhow::Result<()> {
    let db = open(config).await?;
    let key = identity::create_api_key(&db, CLI_ACTOR, &name, department.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match &department {
        Some(d) => println!(
            "API key {} for department {d} (staff API and report submission); keep it secret:",
            key.id
        ),
        None => println!(
            "API key {} for report submission (Open311 client); keep it secret:",
            key.id
        ),
    }
    println!("{}", key.key);
    Ok(())
}

async fn pack_load(config: &Config, file: PathBuf) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let db = open(config).await?;
    let loaded = crate::packs::load(&db, &text, CLI_ACTOR)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e:#}", file.display()))?;
    println!(
        "pack {} loaded: {} departments, {} report services, {} districts",
        loaded.name, loaded.departments, loaded.services, loaded.districts
    );
    Ok(())
}

async fn directory_import(
    config: &Config,
    file: PathBuf,
    kind: String,
    organization: Option<String>,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let db = open(config).await?;
    let k = crate::directory::kinds(&db)
        .await?
        .into_iter()
        .find(|k| k.code == kind)
        .ok_or_else(|| anyhow::anyhow!("there is no kind {kind:?}: load its pack first"))?;
    let rows = text.lines().count().saturating_sub(1) as u64;
    let bar = rows_bar(rows);
    let outcome = crate::directory::import::import(&db, &k, organization.as_deref(), &text, |n| {
        bar.set_position(n)
    })
    .await
    .map_err(|e| anyhow::anyhow!("{}: {e:#}", file.display()))?;
    bar.finish_and_clear();
    println!(
        "imported {} places; rejected {} rows",
        outcome.imported,
        outcome.rejected.len()
    );
    for (line, why) in &outcome.rejected {
        println!("  line {line}: {why}");
    }
    Ok(())
}

async fn register_import(config: &Config, name: String, file: PathBuf) -> anyhow::Result<()> {
    let reader = std::fs::File::open(&file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let lines = std::io::BufRead::lines(std::io::BufReader::new(std::fs::File::open(&file)?))
        .count()
        .saturating_sub(1) as u64;
    let db = open(config).await?;
    let bar = rows_bar(lines);
    let outcome = crate::registers::import_csv(&db, &name, reader, |n| bar.set_position(n))
        .await
        .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e.message()));
    bar.finish_and_clear();
    let outcome = outcome?;
    println!(
        "{name}: version {} in force, {} rows; rejected {} rows",
        outcome.version,
        outcome.rows,
        outcome.rejected.len()
    );
    for (line, why) in &outcome.rejected {
        println!("  line {line}: {why}");
    }
    Ok(())
}

/// `khidmat voice prompts`: what each language still lacks.
async fn voice_prompts(config: &Config) -> anyhow::Result<()> {
    let db = open(config).await?;
    for lang in [Lang::En, Lang::Ur, Lang::Ps] {
        let all = crate::channels::voice_prompts(&db, lang)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        let missing: Vec<_> = all.iter().filter(|p| p.recorded.is_none()).collect();
        println!(
            "{}: {} of {} recorded, {} missing",
            lang.code(),
            all.len() - missing.len(),
            all.len(),
            missing.len()
        );
        for p in missing {
            println!("  {}/{}.mp3  {}", lang.code(), p.name, p.words);
        }
    }
    Ok(())
}

/// `khidmat voice import DIR`: keep every recording `DIR/LANG/NAME.mp3` (or `.wav`) as a prompt.
async fn voice_import(config: &Config, dir: PathBuf) -> anyhow::Result<()> {
    let db = open(config).await?;
    let files = crate::platform::files::Store::from_config(config)?;
    let mut found = Vec::new();
    for lang in [Lang::En, Lang::Ur, Lang::Ps] {
        let Ok(entries) = std::fs::read_dir(dir.join(lang.code())) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let name = path.file_stem().and_then(|n| n.to_str()).map(str::to_owned);
            let ext = path.extension().and_then(|x| x.to_str()).unwrap_or("");
            if let (Some(name), "mp3" | "wav") = (name, ext) {
                found.push((lang, name, path));
            }
        }
    }
    anyhow::ensure!(
        !found.is_empty(),
        "no recordings in {}: put them at LANG/NAME.mp3 (or .wav), LANG being en, ur or ps",
        dir.display()
    );
    let bar = indicatif::ProgressBar::new(found.len() as u64);
    let mut refused = Vec::new();
    for (lang, name, path) in &found {
        let bytes = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let who = (CLI_ACTOR, crate::admin::Power::Platform);
        if let Err(e) =
            crate::channels::set_voice_prompt(&db, &files, who, (*lang, name), Some(bytes)).await
        {
            refused.push(format!("{}: {}", path.display(), e.message()));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "{} prompts kept, {} refused",
        found.len() - refused.len(),
        refused.len()
    );
    for r in &refused {
        println!("  {r}");
    }
    anyhow::ensure!(refused.is_empty(), "some recordings were refused");
    Ok(())
}

async fn directory_export(config: &Config, file: PathBuf) -> anyhow::Result<()> {
    let db = open(config).await?;
    let doc = crate::directory::hsds::export(&db)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let n = doc["services"].as_array().map(Vec::len).unwrap_or(0);
    std::fs::write(&file, serde_json::to_vec_pretty(&doc)?)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", file.display()))?;
    println!("exported {n} services to {}", file.display());
    Ok(())
}

/// `--type COLUMN=TYPE`.
fn column_type(s: &str) -> Result<(String, crate::opendata::datastore::FieldType), String> {
    let (column, kind) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("{s:?}: write COLUMN=TYPE"))?;
    let kind = crate::opendata::datastore::FieldType::parse(kind.trim()).ok_or_else(|| {
        format!("{kind:?} is not a type: use text, int, numeric, date or timestamp")
    })?;
    Ok((column.trim().to_owned(), kind))
}

async fn data_import(
    config: &Config,
    file: PathBuf,
    dataset: String,
    title: Option<String>,
    department: Option<String>,
    index: Vec<String>,
    types: Vec<(String, crate::opendata::datastore::FieldType)>,
) -> anyhow::Result<()> {
    let db = open(config).await?;
    let bar = indicatif::ProgressBar::new_spinner().with_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {pos} rows ({per_sec})")
            .expect("a valid template"),
    );
    let about = crate::opendata::About {
        title: title.as_deref(),
        department: department.as_deref(),
        types: &types,
        ..Default::default()
    };
    let done = crate::opendata::import_into(&db, &file, &dataset, &about, false, {
        let bar = bar.clone();
        move |stage, n| {
            bar.set_message(stage.to_owned());
            bar.set_position(n);
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e.message()))?;
    if !index.is_empty() {
        bar.set_message("indexing");
        crate::opendata::index_fields(&db, &done.resource_id, &index)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    }
    bar.finish_and_clear();
    println!(
        "imported {} rows into dataset {} (resource {})",
        done.rows, done.dataset, done.resource_id
    );
    for f in &done.fields {
        println!("  {} ({:?})", f.id, f.kind);
    }
    if !done.indexed.is_empty() {
        println!(
            "indexed for filters and GROUP BY (their values repeat): {}",
            done.indexed.join(", ")
        );
    }
    Ok(())
}

async fn data_publish(config: &Config) -> anyhow::Result<()> {
    let db = open(config).await?;
    for (name, rows) in crate::opendata::publish::run(&db, &config.opendata_publisher)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?
    {
        println!("published {name}: {rows} rows");
    }
    Ok(())
}

async fn user_grant(
    config: &Config,
    email: String,
    workflow: String,
    role: String,
) -> anyhow::Result<()> {
    let db = open(config).await?;
    let id: Option<(i64,)> = db
        .fetch_optional(
            crate::platform::db::query("SELECT id FROM users WHERE email = $1")
                .bind(email.trim().to_lowercase()),
        )
        .await?;
    let (id,) = id.ok_or_else(|| anyhow::anyhow!("there is no user {email}"))?;
    crate::cases::run::grant_role(&db, CLI_ACTOR, id, &workflow, &role)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    println!("{email} now acts as {role} in {workflow}");
    Ok(())
}

async fn workflow_check(
    config: &Config,
    file: PathBuf,
    draw: Option<PathBuf>,
) -> anyhow::Result<()> {
    let text = read_text(&file)?;
    let pack: crate::packs::Pack =
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    anyhow::ensure!(
        !pack.cases.workflow.is_empty(),
        "{} declares no [[cases.workflow]]",
        file.display()
    );
    let mut known: std::collections::HashSet<String> =
        pack.department.iter().map(|d| d.slug.clone()).collect();
    let db = open(config).await?;
    known.extend(
        crate::platform::org::departments(&db)
            .await?
            .into_iter()
            .map(|d| d.slug),
    );
    if let Some(dir) = &draw {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot make {}: {e}", dir.display()))?;
        for w in &pack.cases.workflow {
            for (ext, text) in [("svg", w.svg()), ("dot", w.dot())] {
                let path = dir.join(format!("{}.{ext}", w.code));
                std::fs::write(&path, text)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                println!("drew {}", path.display());
            }
        }
    }
    let others = {
        let mut tx = db.begin().await?;
        crate::cases::stored(&mut tx).await?
    };
    let problems = crate::cases::check_all(&pack.cases.workflow, &known, &others);
    for p in &problems {
        println!("{p}");
    }
    if problems.is_empty() {
        println!(
            "{}: {} workflows, no problems",
            file.display(),
            pack.cases.workflow.len()
        );
        Ok(())
    } else {
        anyhow::bail!("{} problems", problems.len())
    }
}

async fn restore(config: &Config, file: PathBuf) -> anyhow::Result<()> {
    let r = crate::platform::backup::restore(config, &file).await?;
    let into = match config.database_url.as_deref() {
        Some(u) if !u.starts_with("sqlite:") => "the PostgreSQL database".to_owned(),
        _ => config.sqlite_path().display().to_string(),
    };
    println!(
        "restored {} as {into}: schema {} (the backup's was {})",
        file.display(),
        r.to,
        r.from
    );
    Ok(())
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    let db = Db::open(config.database_url.as_deref(), &config.sqlite_path()).await?;
    let before = db.applied_migrations().await?;
    db.migrate().await?;
    let after = db.applied_migrations().await?;
    let known = db.known_migrations();
    let new: Vec<String> = after
        .iter()
        .filter(|v| !before.contains(v))
        .map(|v| {
            let name = known
                .iter()
                .find(|k| k.0 == *v)
                .map(|k| k.1.as_str())
                .unwrap_or("");
            format!("{v:04} {name}")
        })
        .collect();
    if new.is_empty() {
        println!(
            "the schema is up to date ({})",
            after.last().copied().unwrap_or(0)
        );
    } else {
        println!("applied {} migration(s):", new.len());
        for n in new {
            println!("  {n}");
        }
    }
    db.close().await;
    Ok(())
}

async fn backup(config: &Config, file: PathBuf) -> anyhow::Result<()> {
    let db = open(config).await?;
    // Recorded, so the readiness and health pages know when the last one was made.
    let size = crate::platform::backup::make(&db, config, &file).await?;
    println!("backup written to {} ({} bytes)", file.display(), size);
    Ok(())
}
