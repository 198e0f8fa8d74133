//! What analyzers extract from files: facts with locations, matched later against rule
//! signals. Analyzers only emit facts from live code (never comments, strings, test code or
//! indirect dependencies), so matching can stay simple.

pub mod env_names;
pub mod names;
pub mod paths;

use std::collections::{HashMap, HashSet};
use std::hash::Hasher;
use std::sync::Arc;

/// What was observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FactKind {
    /// A direct runtime dependency declared in a manifest.
    Dependency {
        /// Package / crate / module name as written.
        name: String,
    },
    /// A dependency installed only when asked for (Python: a PEP 621 extra, a Poetry group or
    /// extra, a PEP 735 group, named `group`). Assembly turns it into a
    /// [`FactKind::Dependency`] of a service whose image installs that group
    /// ([`FactKind::InstallsGroup`]), and drops it otherwise: rules never see it.
    OptionalDependency {
        /// The extra or group.
        group: String,
        /// The package.
        name: String,
    },
    /// An image installing extras or groups (`pip install ".[otel]"`,
    /// `poetry install --with otel`, `uv sync --extra otel`); `*`: all of them
    /// (`--all-extras`). Consumed by assembly like [`FactKind::OptionalDependency`].
    InstallsGroup {
        /// The extra or group.
        group: String,
    },
    /// A call (function, method, constructor); `path` holds the callee's segments with
    /// imports expanded (`opentelemetry`, `global`, `set_text_map_propagator`).
    Call {
        /// Callee path segments.
        path: Vec<String>,
        /// String literals passed directly as arguments, or as the value of an address-like
        /// keyword or property (`url`, `endpoint`, `uri`, `host`, `addr…`, `collector…`).
        literal_args: Vec<String>,
        /// Whether the last step is a method call on a receiver (`x.with_endpoint(…)`), as
        /// opposed to a path (`global::set_text_map_propagator(…)`). Known for Rust only.
        method: bool,
        /// What the arguments name, for `argument` signals (filled only for the calls such a
        /// signal is about, see [`Interest::wants_args`]).
        args: CallArgs,
    },
    /// A reference to a symbol in code (type, constant, path expression).
    Symbol {
        /// Path segments, imports expanded.
        path: Vec<String>,
    },
    /// An environment variable set for the service (manifest env, Dockerfile `ENV`).
    Env {
        /// Name.
        name: String,
        /// Literal value, if any.
        value: Option<String>,
        /// Whether it comes from a Secret reference.
        from_secret: bool,
        /// Whether it comes from a ConfigMap/Secret/field reference (not a literal).
        from_ref: bool,
    },
    /// What a profile's or an environment's settings file (`application-prod.yml`,
    /// `appsettings.Production.json`, a `spring.config.activate.on-profile` document) gives
    /// the variable `name` that overrides it: in effect where the workload selects `profile`.
    ProfileEnv {
        /// Which variable selects the profile.
        selector: ProfileSelector,
        /// The profile (Spring) or environment (.NET) name, as written.
        profile: String,
        /// The variable.
        name: String,
        /// The file's value.
        value: String,
    },
    /// A start command (script, `CMD`, `ENTRYPOINT`, container command/args).
    Command {
        /// Full command text.
        text: String,
        /// Where it stands in a container's start: what a workload's override replaces.
        slot: CommandSlot,
    },
    /// A Dockerfile `COPY`/`ADD` of files of the build context into the image (not one
    /// `--from` another stage or image, nor a URL): where a file of the tree is in the image.
    Copy {
        /// The sources, relative to the build context, as written.
        sources: Vec<String>,
        /// The destination in the image, as written (a directory when it ends with `/` or
        /// several sources are copied; relative to the `WORKDIR` when not absolute).
        dest: String,
    },
    /// A pod, workload or namespace annotation.
    Annotation {
        /// Key.
        key: String,
        /// Value.
        value: String,
    },
    /// A setting of an OpenTelemetry declarative configuration file
    /// ([`crate::check::inputs::otel_config`]): `file`, `propagator`, `processor`, `endpoint`.
    Config {
        /// What it sets.
        key: String,
        /// The value, as written.
        value: String,
        /// Held in a ConfigMap the workload mounts (configuration), not a file of the tree.
        mounted: bool,
    },
    /// A span attribute, event attribute or tracing field recorded in code.
    Attribute {
        /// Key as written (`user.email`, `password`); for a key computed in a loop, its source
        /// text (`` `http.request.header.${name}` ``).
        key: String,
        /// Source text of the recorded value (may be empty).
        value: String,
        /// What the code says beyond the text, when the extractor saw it (boxed: rare).
        context: Option<Box<AttrContext>>,
    },
}

/// What selects the profile of a settings file ([`FactKind::ProfileEnv`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProfileSelector {
    /// Spring Boot's active profiles (`SPRING_PROFILES_ACTIVE`, `spring.profiles.active`).
    Spring,
    /// The .NET host's environment (`ASPNETCORE_ENVIRONMENT`, `DOTNET_ENVIRONMENT`).
    Dotnet,
}

/// What an attribute's surroundings say about it ([`FactKind::Attribute`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttrContext {
    /// The key is computed (not a literal) inside loops over these collections, innermost
    /// first: the iterated expression's text (`Object.entries(req.headers)`), or, for a bare
    /// local name, with what it was declared as (`headers: http.Header`) or assigned
    /// (`headers = request.headers`).
    pub over: Vec<String>,
    /// The value is a bare local name: the text it was declared as or assigned, in the same
    /// function before the attribute (`Encoding.UTF8.GetString(eventArgs.Body.Span)`).
    pub origin: Option<String>,
    /// The origin is the name's declared type (a parameter's, `var x T`), not a value assigned.
    pub typed: bool,
}

/// What a call's arguments name, at any depth: the paths (imports expanded) of the calls,
/// types and qualified names written in them (`propagation.TraceContext{}`,
/// `TraceContextPropagator::new()`), and whether some value is opaque — a local variable, a
/// call to a function of the service's own, arguments too large to follow — so that what it
/// holds is not seen at the call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallArgs {
    /// Paths named in the arguments.
    pub paths: Vec<Vec<String>>,
    /// Whether some argument's value is not seen at the call.
    pub opaque: bool,
    /// An environment read (a first literal argument naming a variable): what the code
    /// compares its value with where it reads it (boxed: rare).
    pub compared: Option<Box<Compared>>,
}

/// What the code compares an environment variable's value with, where it reads it:
/// `os.Getenv("ENABLE_TRACING") == "1"`, `process.env.ENABLE_TRACING !== 'true'`,
/// `os.environ.get("X", "").lower() in ("1", "true")`, `strconv.ParseBool(os.Getenv("X"))`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Compared {
    /// The literals it is compared with (or those the parse accepts as true).
    pub values: Vec<String>,
    /// Compared after lower- or upper-casing (`.lower()`, `strings.ToLower`), or by a parse
    /// that ignores case (`Boolean.parseBoolean`).
    pub ignore_case: bool,
}

impl CallArgs {
    /// At most this many syntax nodes are followed; past it the arguments are opaque.
    pub const BUDGET: usize = 256;
}

/// The calls (by callee name, the last segment) whose [`CallArgs`] are recorded: those some
/// `argument` signal is about. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct ArgCallees {
    pub(crate) all: bool,
    pub(crate) names: Arc<FastSet<String>>,
}

impl ArgCallees {
    /// Every call's arguments (unit tests, tools).
    pub fn all() -> ArgCallees {
        ArgCallees {
            all: true,
            ..ArgCallees::default()
        }
    }

    /// Whether a call to `callee` needs its arguments recorded.
    pub fn wants(&self, callee: &str) -> bool {
        self.all || self.names.contains(callee)
    }
}

/// A fact at a place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    /// What.
    pub kind: FactKind,
    /// File relative to the scanned root, `/` separators (shared by the file's facts).
    pub file: Arc<str>,
    /// 1-based line (0 when unknown).
    pub line: u32,
    /// The enclosing top-level function, for dead-code elimination.
    pub func: Option<String>,
}

impl Fact {
    /// A fact outside any function.
    pub fn new(kind: FactKind, file: &str, line: u32) -> Fact {
        Fact {
            kind,
            file: Arc::from(file),
            line,
            func: None,
        }
    }

    /// A fact in a file whose name is already shared.
    pub fn at(kind: FactKind, file: &Arc<str>, line: u32) -> Fact {
        Fact {
            kind,
            file: Arc::clone(file),
            line,
            func: None,
        }
    }
}

/// Where a start command stands in a container's start (Docker's rules): a workload's
/// command replaces the image's, so what the image's `CMD` or `ENTRYPOINT` did (an agent, a
/// wrapper such as `opentelemetry-instrument`) no longer happens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CommandSlot {
    /// Runs as written: a Procfile process, a script's line, a start script.
    #[default]
    Run,
    /// A Dockerfile's `ENTRYPOINT`.
    ImageEntrypoint,
    /// A Dockerfile's `CMD`.
    ImageCmd,
    /// Replaces the image's `CMD`: a compose service's `command:`, a container's `args` alone.
    ReplacesCmd,
    /// Replaces the image's `ENTRYPOINT` and `CMD`: a compose service's `entrypoint:`, a
    /// container's `command`.
    ReplacesEntrypoint,
}

impl FactKind {
    /// A start command that runs as written ([`CommandSlot::Run`]).
    pub fn command(text: impl Into<String>) -> FactKind {
        FactKind::Command {
            text: text.into(),
            slot: CommandSlot::Run,
        }
    }
}

/// A function defined in a source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FnDef {
    /// Its name.
    pub name: String,
    /// Whether it is live regardless of references (entry point, exported, decorated…).
    pub live: bool,
}

/// Facts of one source file.
#[derive(Clone, Debug, Default)]
pub struct SourceFacts {
    /// Facts in order.
    pub facts: Vec<Fact>,
    /// Functions defined.
    pub fns: Vec<FnDef>,
    /// References: (enclosing top-level function's [`ref_hash`], or [`TOP_LEVEL`]; the
    /// referenced identifier's hash). Sorted and deduplicated by [`SourceFacts::finish`].
    pub refs: Vec<(u64, u64)>,
    /// Go: the package name.
    pub package: Option<String>,
    /// Java/Kotlin: the file declares an entry point (a `main`, `@SpringBootApplication`),
    /// read from its text whether it is parsed or not.
    pub jvm_main: bool,
    /// Go: the import paths (see [`crate::check::inputs::lang::go::import_paths`]); Python:
    /// the top-level modules imported (see
    /// [`crate::check::inputs::lang::python::imported_modules`]); `None` when there are none
    /// (boxed: every walked file holds a `SourceFacts`).
    pub imports: Option<Box<GoImports>>,
    /// First line with a syntax error the parser recovered from (the rest is analysed).
    pub syntax_error: Option<u32>,
    /// Not parsed: the pre-filter found no word any rule can use in it. Its facts are empty;
    /// its references are unknown until it is parsed, which the scan does only if dead-code
    /// elimination could depend on them.
    pub unparsed: bool,
    /// An unparsed Go file: the words it may hold, so that dead-code elimination reads it
    /// again only if it may name a dead function (Go functions are package-wide: every file
    /// of the package is a candidate). `None`: read it whenever names are searched.
    pub names: Option<crate::check::facts::names::NameFilter>,
    /// Rust: the modules this file declares out of line (`mod name;`, relative paths such as
    /// `a/b` for `mod a { mod b; }`), outside test code. `None` for other languages.
    pub rust_mods: Option<RustMods>,
}

/// A Go file's import paths, as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GoImports(pub Vec<String>);

impl SourceFacts {
    /// Go: the import paths; Python: the top-level modules imported (empty for other
    /// languages).
    pub fn imports(&self) -> &[String] {
        self.imports.as_deref().map_or(&[], |i| i.0.as_slice())
    }

    /// Go, Python: set the imports.
    pub fn set_imports(&mut self, paths: Vec<String>) {
        self.imports = (!paths.is_empty()).then(|| Box::new(GoImports(paths)));
    }
}

/// A Rust file's out-of-line module declarations (see [`SourceFacts::rust_mods`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RustMods {
    /// Declared module paths, relative to the file's own module (`a`, `a/b`).
    pub decls: Vec<String>,
    /// A `#[path]` attribute or an `include!`: where its modules live is not followed, so every
    /// module below this file counts as declared.
    pub unknown: bool,
}

#[cfg(test)]
impl SourceFacts {
    /// The call facts' callee paths joined with `sep` (for analyzer tests).
    pub fn call_paths(&self, sep: &str) -> Vec<String> {
        self.facts
            .iter()
            .filter_map(|f| match &f.kind {
                FactKind::Call { path, .. } => Some(path.join(sep)),
                _ => None,
            })
            .collect()
    }
}

/// Split a pattern into path segments on `::`, `.` and `/`.
pub fn segments(pattern: &str) -> Vec<String> {
    pattern
        .split("::")
        .flat_map(|p| p.split(['.', '/']))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Lower-case word tokens of a key or expression: `user.emailAddress` → `user`, `email`, `address`.
pub fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            cur.push(c.to_ascii_lowercase());
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether `path` contains `pattern` as a contiguous run of segments.
pub fn path_contains(path: &[String], pattern: &[String]) -> bool {
    if pattern.is_empty() || pattern.len() > path.len() {
        return false;
    }
    path.windows(pattern.len())
        .any(|w| w.iter().zip(pattern).all(|(a, b)| a == b))
}

/// A referenced identifier, hashed (a collision only keeps a dead function alive). Every
/// identifier of every parsed file is hashed, so this is [`FastHasher`], not SipHash.
pub fn ref_hash(ident: &str) -> u64 {
    FastHasher::hash(ident.as_bytes())
}

/// A hasher for the analyzers' own keys (identifiers, path segments, import aliases): a
/// multiply-rotate over eight bytes at a time and a final avalanche, several times faster
/// than SipHash on short names. Not resistant to crafted collisions, which here can only
/// slow a lookup or keep a dead function alive.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl FastHasher {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;

    /// The hash of one word's bytes.
    pub fn hash(bytes: &[u8]) -> u64 {
        let mut h = FastHasher::default();
        h.write(bytes);
        h.finish()
    }

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        // murmur3's fmix64: every input bit reaches the low bits hash tables use.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^= h >> 33;
        h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        h ^ (h >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.add(u64::from_le_bytes(word));
        }
        // The last bytes as a little-endian word, zero-filled: byte by byte, since a copy of a
        // variable length under 8 bytes is a call to `memcpy`.
        let word = chunks
            .remainder()
            .iter()
            .rev()
            .fold(0u64, |w, b| (w << 8) | u64::from(*b));
        // The length goes in too: "ab" and "ab\0" differ.
        self.add(word ^ ((bytes.len() as u64) << 56));
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
}

/// A map keyed by the analyzers' own strings ([`FastHasher`]).
pub type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FastHasher>>;
/// A set of the analyzers' own strings ([`FastHasher`]).
pub type FastSet<K> = HashSet<K, std::hash::BuildHasherDefault<FastHasher>>;

/// Hashes [`ref_hash`] values by using them as they are: they are hashes already, and hashing
/// them again (SipHash) was a visible share of the dead-code pass on large repositories.
#[derive(Default)]
struct RefHasher(u64);

impl Hasher for RefHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (u64 keys); mix anything else in, in case.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type RefMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<RefHasher>>;
type RefSet = HashSet<u64, std::hash::BuildHasherDefault<RefHasher>>;

/// The owner of references made outside any tracked function (always live).
pub const TOP_LEVEL: u64 = 0;

/// Remove facts inside functions unreachable from live code (dead code): roots are top-level
/// code, methods and functions live by definition (entry points, exported, decorated);
/// reachability follows references transitively, so a helper called only from a dead
/// function is dead too.
pub fn drop_dead_code(files: &mut [&mut SourceFacts]) {
    let dead = dead_functions(files.iter().map(|f| &**f));
    if dead.is_empty() {
        return;
    }
    for f in files.iter_mut() {
        f.facts
            .retain(|fact| fact.func.as_ref().is_none_or(|name| !dead.contains(name)));
    }
}

/// Whether [`drop_dead_code`] would remove a fact. More files (more references and roots)
/// can only make functions live, so when this is false for some of a service's files it is
/// false with all of them, and their facts are final.
pub fn drops_any<'a>(files: impl IntoIterator<Item = &'a SourceFacts> + Clone) -> bool {
    let dead = dead_functions(files.clone());
    !dead.is_empty()
        && files.into_iter().any(|f| {
            f.facts
                .iter()
                .any(|fact| fact.func.as_ref().is_some_and(|name| dead.contains(name)))
        })
}

/// Names of the functions unreachable from live code.
pub fn dead_functions<'a>(
    files: impl IntoIterator<Item = &'a SourceFacts> + Clone,
) -> HashSet<String> {
    let mut by_owner: RefMap<Vec<u64>> = RefMap::default();
    let mut work: Vec<u64> = vec![TOP_LEVEL];
    for f in files.clone() {
        for &(owner, r) in &f.refs {
            by_owner.entry(owner).or_default().push(r);
        }
        work.extend(f.fns.iter().filter(|d| d.live).map(|d| ref_hash(&d.name)));
    }
    let mut live = RefSet::default();
    while let Some(h) = work.pop() {
        if !live.insert(h) {
            continue;
        }
        if let Some(refs) = by_owner.get(&h) {
            work.extend(refs.iter().copied().filter(|r| !live.contains(r)));
        }
    }
    files
        .into_iter()
        .flat_map(|f| f.fns.iter())
        .filter(|d| !live.contains(&ref_hash(&d.name)))
        .map(|d| d.name.clone())
        .collect()
}

#[cfg(test)]
mod tests;
