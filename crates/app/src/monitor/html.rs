//! A small, tolerant reader of HTML start tags: enough to list what a page
//! loads and where its forms go, including things a skimmer would add
//! (scripts, frames, inline event handlers, `javascript:` URLs).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// For `<script>` and `<style>`: the text up to the closing tag.
    pub text: Option<String>,
}

impl Tag {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every start tag in `html`, in order. Comments are skipped; malformed
/// markup never panics.
pub fn tags(html: &str) -> Vec<Tag> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        if html[i..].starts_with("<!--") {
            i = html[i..].find("-->").map(|e| i + e + 3).unwrap_or(b.len());
            continue;
        }
        let start = i + 1;
        if start >= b.len() || !b[start].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let mut j = start;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'-') {
            j += 1;
        }
        let name = html[start..j].to_ascii_lowercase();
        let (attrs, end) = attributes(html, j);
        let mut tag = Tag {
            name,
            attrs,
            text: None,
        };
        i = end;
        if tag.name == "script" || tag.name == "style" {
            let close = format!("</{}", tag.name);
            let lower = html[i..].to_ascii_lowercase();
            let stop = lower.find(&close).map(|e| i + e).unwrap_or(b.len());
            tag.text = Some(html[i..stop].to_owned());
            i = stop;
        }
        out.push(tag);
    }
    out
}

/// Attributes from `pos` to the end of the tag; returns them and the index
/// after `>`.
fn attributes(html: &str, mut pos: usize) -> (Vec<(String, String)>, usize) {
    let b = html.as_bytes();
    let mut attrs = Vec::new();
    loop {
        while pos < b.len() && (b[pos].is_ascii_whitespace() || b[pos] == b'/') {
            pos += 1;
        }
        if pos >= b.len() {
            return (attrs, pos);
        }
        if b[pos] == b'>' {
            return (attrs, pos + 1);
        }
        let name_start = pos;
        while pos < b.len()
            && !b[pos].is_ascii_whitespace()
            && !matches!(b[pos], b'=' | b'>' | b'/')
        {
            pos += 1;
        }
        let name = html[name_start..pos].to_ascii_lowercase();
        while pos < b.len() && b[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let mut value = String::new();
        if pos < b.len() && b[pos] == b'=' {
            pos += 1;
            while pos < b.len() && b[pos].is_ascii_whitespace() {
                pos += 1;
            }
            if pos < b.len() && (b[pos] == b'"' || b[pos] == b'\'') {
                let q = b[pos];
                let vstart = pos + 1;
                let vend = html[vstart..]
                    .find(char::from(q))
                    .map(|e| vstart + e)
                    .unwrap_or(b.len());
                value = html[vstart..vend].to_owned();
                pos = (vend + 1).min(b.len());
            } else {
                let vstart = pos;
                while pos < b.len() && !b[pos].is_ascii_whitespace() && b[pos] != b'>' {
                    pos += 1;
                }
                value = html[vstart..pos].to_owned();
            }
        }
        if !name.is_empty() {
            attrs.push((name, decode_entities(&value)));
        }
        if pos == name_start {
            pos += 1;
        }
    }
}

/// The entities askama writes into attribute values.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_what_a_page_loads() {
        let html = r#"<!doctype html><html lang="en"><head>
            <link rel="stylesheet" href="/static/app.css">
            <!-- <script src="commented.js"></script> -->
            <script src='https://evil.example/x.js'></script>
            <script>steal()</script>
            </head><body><form method=post action="/pay/utilities"><input name=csrf value="a&amp;b">
            <button onclick="go()">Go</button></form><a href="javascript:alert(1)">x</a></body></html>"#;
        let t = tags(html);
        let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "html", "head", "link", "script", "script", "body", "form", "input", "button", "a"
            ]
        );
        assert_eq!(t[2].attr("href"), Some("/static/app.css"));
        assert_eq!(t[3].attr("src"), Some("https://evil.example/x.js"));
        assert_eq!(t[4].text.as_deref(), Some("steal()"));
        assert_eq!(t[6].attr("action"), Some("/pay/utilities"));
        assert_eq!(t[7].attr("value"), Some("a&b"));
        assert_eq!(t[8].attr("onclick"), Some("go()"));
        assert_eq!(t[9].attr("href"), Some("javascript:alert(1)"));
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = tags(&s);
        }

        #[test]
        fn never_panics_on_tag_soup(s in "[<>a-z =\"'/!-]{0,200}") {
            let _ = tags(&s);
        }
    }
}
