//! JVM entry points (Java and Kotlin), read from a source file's text whether or not the
//! pre-filter lets it be parsed: a Gradle project without the `application` or Spring Boot
//! plugin is a service when its own sources declare one.

/// Whether a JVM file's bytes may declare an entry point (false: [`declares_entry_point`] is
/// false too), found without decoding them: most files have neither `main(` nor the annotation.
pub fn may_declare_entry_point(bytes: &[u8]) -> bool {
    use memchr::memmem::Finder;
    use std::sync::OnceLock;
    // Built once: a searcher costs more to build than to run over one small file.
    static MAIN: OnceLock<Finder<'static>> = OnceLock::new();
    static SPRING: OnceLock<Finder<'static>> = OnceLock::new();
    MAIN.get_or_init(|| Finder::new("main("))
        .find(bytes)
        .is_some()
        || SPRING
            .get_or_init(|| Finder::new("@SpringBootApplication"))
            .find(bytes)
            .is_some()
}

/// Whether a Java or Kotlin source declares an entry point: a `main` function (Kotlin's
/// top-level `fun main(`, a `@JvmStatic fun main(` in an object, Java's `static void main(`) or
/// a `@SpringBootApplication` class. Line comments, block comments and KDoc/Javadoc lines are
/// not read; text in a string literal may be (the answer errs toward a service).
pub fn declares_entry_point(text: &str) -> bool {
    // Most files have neither: two searches, no line walk.
    if !text.contains("main(") && !text.contains("@SpringBootApplication") {
        return false;
    }
    let mut in_block = false;
    for raw in text.lines() {
        let mut line = raw.trim();
        if in_block {
            match line.find("*/") {
                Some(end) => {
                    in_block = false;
                    line = line[end + 2..].trim();
                }
                None => continue,
            }
        }
        if let Some(start) = line.find("/*") {
            if !line[start..].contains("*/") {
                in_block = true;
            }
            line = line[..start].trim();
        }
        let code = line.split("//").next().unwrap_or_default();
        if code.is_empty() {
            continue;
        }
        if code.contains("@SpringBootApplication") {
            return true;
        }
        let kotlin = code
            .find("fun main(")
            .is_some_and(|i| i == 0 || code.as_bytes()[i - 1].is_ascii_whitespace());
        if kotlin || code.contains("static void main(") {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_points_of_java_and_kotlin() {
        let cases = [
            // (source, entry point?, why)
            ("fun main() {\n    serve()\n}\n", true, "Kotlin top-level main"),
            (
                "suspend fun main(args: Array<String>) = coroutineScope { }\n",
                true,
                "Kotlin suspend main",
            ),
            (
                "object App {\n    @JvmStatic fun main(args: Array<String>) {}\n}\n",
                true,
                "Kotlin main in an object",
            ),
            (
                "@SpringBootApplication\nclass AccountsApplication\n",
                true,
                "Spring Boot application class (main elsewhere or by the plugin)",
            ),
            (
                "public final class AdService {\n  public static void main(String[] args) {}\n}\n",
                true,
                "Java main",
            ),
            (
                "class Telemetry {\n  fun install() {}\n  fun mainMenu() {}\n}\n",
                false,
                "a library: no main",
            ),
            ("fun domain(x: Int) = x\n", false, "`main(` inside another name"),
            (
                "// fun main() { }\n/*\n * public static void main(String[] args)\n */\nclass Lib\n",
                false,
                "main in comments",
            ),
            (
                "/** Runs as @SpringBootApplication elsewhere. */ class Lib\n",
                false,
                "annotation named in a one-line doc comment",
            ),
        ];
        for (src, expected, why) in cases {
            assert_eq!(declares_entry_point(src), expected, "{why}");
            // The byte search never rules out a file that declares one.
            if expected {
                assert!(may_declare_entry_point(src.as_bytes()), "{why}");
            }
        }
    }

    #[test]
    fn files_naming_neither_are_ruled_out_by_their_bytes() {
        assert!(!may_declare_entry_point(b"class Order(val id: String)\n"));
        // Not UTF-8: still searched.
        assert!(may_declare_entry_point(b"\xff\xfe fun main() {}"));
        assert!(!may_declare_entry_point(b"\xff\xfe fun serve() {}"));
    }
}
