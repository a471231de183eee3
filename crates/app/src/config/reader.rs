//! Reads a TOML document (with `CITYTELLER_*` environment overrides) key by
//! key, collecting every problem instead of stopping at the first, and
//! reporting keys nobody asked for (usually typos).

use std::collections::{BTreeMap, BTreeSet};

use toml::{Table, Value};

pub struct Reader {
    root: Table,
    /// Where each overridden key came from, for error messages.
    origins: BTreeMap<String, String>,
    file_label: String,
    used: BTreeSet<String>,
    errors: Vec<String>,
}

impl Reader {
    /// `file_label` names the TOML source in messages (its path, or
    /// "built-in defaults").
    pub fn new(root: Table, file_label: impl Into<String>) -> Self {
        Reader {
            root,
            origins: BTreeMap::new(),
            file_label: file_label.into(),
            used: BTreeSet::new(),
            errors: Vec::new(),
        }
    }

    /// Applies `CITYTELLER_SECTION__KEY=value` overrides: the prefix is
    /// removed, the rest lower-cased, and `__` separates levels.
    pub fn apply_env<I: IntoIterator<Item = (String, String)>>(&mut self, vars: I, skip: &[&str]) {
        for (name, value) in vars {
            let Some(rest) = name.strip_prefix("CITYTELLER_") else {
                continue;
            };
            if skip.contains(&name.as_str()) {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            if path.iter().any(String::is_empty) {
                self.errors
                    .push(format!("environment variable {name}: malformed name"));
                continue;
            }
            let dotted = path.join(".");
            if let Err(e) = insert_path(&mut self.root, &path, Value::String(value)) {
                self.errors
                    .push(format!("environment variable {name}: {e}"));
                continue;
            }
            self.origins
                .insert(dotted, format!("environment variable {name}"));
        }
    }

    /// Sets a value as if the file had it (used for `DATABASE_URL` and
    /// command-line flags).
    pub fn set(&mut self, path: &str, value: String, origin: &str) {
        let parts: Vec<String> = path.split('.').map(str::to_owned).collect();
        if let Err(e) = insert_path(&mut self.root, &parts, Value::String(value)) {
            self.errors.push(format!("{origin}: {e}"));
            return;
        }
        self.origins.insert(path.to_owned(), origin.to_owned());
    }

    fn where_(&self, path: &str) -> String {
        match self.origins.get(path) {
            Some(o) => format!("{o} ({path})"),
            None => format!("{}: {path}", self.file_label),
        }
    }

    pub fn error(&mut self, path: &str, message: impl std::fmt::Display) {
        let w = self.where_(path);
        self.errors.push(format!("{w}: {message}"));
    }

    fn lookup(&mut self, path: &str) -> Option<Value> {
        self.used.insert(path.to_owned());
        let mut cur: &Table = &self.root;
        let mut parts = path.split('.').peekable();
        while let Some(p) = parts.next() {
            let v = cur.get(p)?;
            if parts.peek().is_none() {
                return Some(v.clone());
            }
            cur = v.as_table()?;
        }
        None
    }

    pub fn is_set(&mut self, path: &str) -> bool {
        self.lookup(path).is_some()
    }

    /// A string (numbers and booleans are accepted and shown as text).
    pub fn opt_string(&mut self, path: &str) -> Option<String> {
        match self.lookup(path)? {
            Value::String(s) => Some(s),
            Value::Integer(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Boolean(b) => Some(b.to_string()),
            other => {
                self.error(
                    path,
                    format!("expected a text value, found {}", other.type_str()),
                );
                None
            }
        }
    }

    pub fn string(&mut self, path: &str, default: &str) -> String {
        self.opt_string(path).unwrap_or_else(|| default.to_owned())
    }

    /// Parses a value with `parse`; on failure records the message and
    /// returns `None`.
    pub fn parsed<T, E: std::fmt::Display>(
        &mut self,
        path: &str,
        default: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let raw = match self.opt_string(path) {
            Some(s) => s,
            None => match default {
                Some(d) => d.to_owned(),
                None => {
                    self.error(path, "is required");
                    return None;
                }
            },
        };
        match parse(raw.trim()) {
            Ok(v) => Some(v),
            Err(e) => {
                let shown: String = raw.chars().take(80).collect();
                self.error(path, format!("{e} (got {shown:?})"));
                None
            }
        }
    }

    pub fn boolean(&mut self, path: &str, default: bool) -> bool {
        match self.lookup(path) {
            None => default,
            Some(Value::Boolean(b)) => b,
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "on" => true,
                "false" | "no" | "0" | "off" => false,
                _ => {
                    self.error(path, format!("expected true or false (got {s:?})"));
                    default
                }
            },
            Some(other) => {
                self.error(
                    path,
                    format!("expected true or false, found {}", other.type_str()),
                );
                default
            }
        }
    }

    pub fn integer(&mut self, path: &str, default: i64, min: i64, max: i64) -> i64 {
        let v = match self.lookup(path) {
            None => return default,
            Some(Value::Integer(i)) => i,
            Some(Value::String(s)) => match s.trim().parse::<i64>() {
                Ok(i) => i,
                Err(_) => {
                    self.error(path, format!("expected a whole number (got {s:?})"));
                    return default;
                }
            },
            Some(other) => {
                self.error(
                    path,
                    format!("expected a whole number, found {}", other.type_str()),
                );
                return default;
            }
        };
        if v < min || v > max {
            self.error(path, format!("must be between {min} and {max} (got {v})"));
            return default;
        }
        v
    }

    /// A list of strings: a TOML array, or (from the environment) a
    /// comma-separated string.
    pub fn string_list(&mut self, path: &str) -> Vec<String> {
        match self.lookup(path) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, v) in items.into_iter().enumerate() {
                    match v {
                        Value::String(s) => out.push(s),
                        other => self.error(
                            path,
                            format!("item {} should be text, found {}", i + 1, other.type_str()),
                        ),
                    }
                }
                out
            }
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect(),
            Some(other) => {
                self.error(path, format!("expected a list, found {}", other.type_str()));
                Vec::new()
            }
        }
    }

    /// The keys of a table such as `departments`, in file order.
    pub fn table_keys(&mut self, path: &str) -> Vec<String> {
        let found = self.lookup(path);
        // Listing a table's keys reads none of its settings: each one is
        // still reported if nothing reads it (a misspelt key inside a
        // department, say).
        self.used.remove(path);
        match found {
            None => Vec::new(),
            Some(Value::Table(t)) => t.keys().cloned().collect(),
            Some(other) => {
                self.error(
                    path,
                    format!("expected a table, found {}", other.type_str()),
                );
                Vec::new()
            }
        }
    }

    /// Ends reading: every problem found, including keys that were set but
    /// never read.
    pub fn finish(mut self) -> Result<(), Vec<String>> {
        let mut leaves = Vec::new();
        collect_leaves(&self.root, String::new(), &mut leaves);
        for leaf in leaves {
            let known = self.used.contains(&leaf)
                || self
                    .used
                    .iter()
                    .any(|u| leaf.starts_with(u.as_str()) && leaf[u.len()..].starts_with('.'));
            if !known {
                self.error(&leaf, "unknown setting (check the spelling)");
            }
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

fn insert_path(root: &mut Table, path: &[String], value: Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("empty setting name".into());
    };
    let mut cur = root;
    for p in parents {
        let entry = cur
            .entry(p.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        cur = match entry {
            Value::Table(t) => t,
            _ => return Err(format!("{p} is not a table")),
        };
    }
    cur.insert(last.clone(), value);
    Ok(())
}

fn collect_leaves(t: &Table, prefix: String, out: &mut Vec<String>) {
    for (k, v) in t {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Table(inner) => collect_leaves(inner, path, out),
            _ => out.push(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(toml_text: &str) -> Reader {
        Reader::new(toml_text.parse::<Table>().unwrap(), "test.toml")
    }

    #[test]
    fn collects_every_problem() {
        let mut r = reader("port = \"x\"\nflag = \"maybe\"\ntypo = 1\n[a]\nb = 3\n");
        let _ = r.integer("port", 1, 0, 10);
        let _ = r.boolean("flag", false);
        let _ = r.integer("a.b", 0, 0, 2);
        let _ = r.parsed::<u8, _>("needed", None, |s| s.parse::<u8>());
        let errs = r.finish().unwrap_err();
        assert_eq!(errs.len(), 5, "{errs:?}");
        assert!(
            errs.iter()
                .any(|e| e.contains("test.toml: typo: unknown setting"))
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("test.toml: needed: is required"))
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("a.b: must be between 0 and 2"))
        );
    }

    #[test]
    fn environment_overrides_with_their_own_origin() {
        let mut r = reader("[public]\nlisten = \"127.0.0.1:1\"\n");
        r.apply_env(
            vec![
                (
                    "CITYTELLER_PUBLIC__LISTEN".to_string(),
                    "127.0.0.1:2".to_string(),
                ),
                ("CITYTELLER_MODE".to_string(), "nonsense".to_string()),
                ("OTHER".to_string(), "x".to_string()),
            ],
            &[],
        );
        assert_eq!(r.string("public.listen", ""), "127.0.0.1:2");
        let _ = r.parsed("mode", None, |s| {
            if s == "production" {
                Ok(())
            } else {
                Err("bad mode")
            }
        });
        let errs = r.finish().unwrap_err();
        assert_eq!(
            errs,
            vec!["environment variable CITYTELLER_MODE (mode): bad mode (got \"nonsense\")"]
        );
    }
}
