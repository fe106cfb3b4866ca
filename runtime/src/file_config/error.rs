//! [`ConfigError`]: what is wrong with a configuration file, and where.
#![cfg_attr(not(feature = "enabled"), allow(dead_code))]

use std::fmt;

/// A position in a configuration file: line and column, both counted from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) line: usize,
    pub(crate) col: usize,
}

/// Why a configuration file was not accepted: it could not be read, it is not
/// valid YAML, a key is unknown, a value has the wrong type or range, or it asks
/// for something `traced` cannot do. The message names the file and, when the
/// problem is at a place in it, the line and column (`config.yaml:7:3`).
///
/// ```
/// # use traced_runtime as traced;
/// let err = traced::file_config::parse(
///     "config.yaml",
///     "file_format: \"1.0\"\ntracer_provider:\n  procesors: []\n",
/// )
/// .unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "unknown key `procesors` in tracer_provider at config.yaml:3:3; did you mean `processors`?"
/// );
/// assert_eq!((err.line(), err.column()), (Some(3), Some(3)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    file: String,
    pos: Option<Pos>,
    message: String,
}

impl ConfigError {
    /// `message` is complete: it already names the file and the position.
    pub(crate) fn new(file: &str, pos: Option<Pos>, message: String) -> Self {
        ConfigError {
            file: file.to_owned(),
            pos,
            message,
        }
    }

    /// The file (as it was named to [`load`](super::load) or [`parse`](super::parse)).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The line of the problem (from 1), when it is at a place in the file.
    pub fn line(&self) -> Option<usize> {
        self.pos.map(|p| p.line)
    }

    /// The column of the problem (from 1), when it is at a place in the file.
    pub fn column(&self) -> Option<usize> {
        self.pos.map(|p| p.col)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// `file:line:column`.
pub(crate) fn at(file: &str, pos: Pos) -> String {
    format!("{file}:{}:{}", pos.line, pos.col)
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub(crate) fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word_lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (distance(&word_lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.chars().count().max(word.chars().count()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance with adjacent transpositions (optimal string alignment).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// `a`, `a or b`, `a, b or c`, each in backticks.
pub(crate) fn one_of(options: &[&str]) -> String {
    let quoted: Vec<String> = options.iter().map(|o| format!("`{o}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        let keys = ["processors", "limits", "sampler", "id_generator"];
        assert_eq!(suggest("procesors", &keys), Some("processors"));
        assert_eq!(suggest("smapler", &keys), Some("sampler"));
        assert_eq!(suggest("Sampler", &keys), Some("sampler"));
        assert_eq!(suggest("exporter", &keys), None);
        assert_eq!(suggest("x", &keys), None);
    }

    #[test]
    fn lists_read_as_prose() {
        assert_eq!(one_of(&["a"]), "`a`");
        assert_eq!(one_of(&["a", "b"]), "`a` or `b`");
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
