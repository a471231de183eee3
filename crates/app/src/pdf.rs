//! A small writer for text documents as PDF: US Letter pages, the standard
//! Helvetica fonts (every reader has them, so nothing is embedded), a
//! title, headings, paragraphs and bulleted lists, wrapped to the margins,
//! with page numbers. Enough for notices and certificates; no images, no
//! forms, no scripts.
//!
//! Text is encoded as WinAnsi (Latin-1 and the usual typographic marks),
//! which covers English and Spanish; anything else prints as `?`.

/// Page size (US Letter) and layout, in points.
const PAGE_WIDTH: f32 = 612.0;
const PAGE_HEIGHT: f32 = 792.0;
const MARGIN: f32 = 72.0;
const BOTTOM: f32 = 72.0;
const BULLET_INDENT: f32 = 16.0;

/// The smallest type any block uses: notices must be at least 10-point.
pub const MIN_FONT_SIZE: f32 = 10.0;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Font {
    Regular,
    Bold,
}

impl Font {
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "/F1",
            Font::Bold => "/F2",
        }
    }
}

/// A document being laid out.
pub struct Document {
    title: String,
    lang: String,
    pages: Vec<Vec<u8>>,
    current: Vec<u8>,
    /// Baseline of the next line, from the bottom of the page.
    y: f32,
}

impl Document {
    /// `title` goes into the document's properties; `lang` is its language
    /// (`en`, `es`) for screen readers.
    pub fn new(title: &str, lang: &str) -> Document {
        Document {
            title: title.to_owned(),
            lang: lang.to_owned(),
            pages: Vec::new(),
            current: Vec::new(),
            y: PAGE_HEIGHT - MARGIN,
        }
    }

    /// The document's title, large and bold.
    pub fn title(&mut self, text: &str) {
        self.block(text, Font::Bold, 20.0, 0.0, 10.0);
    }

    /// A section heading.
    pub fn heading(&mut self, text: &str) {
        self.gap(6.0);
        self.block(text, Font::Bold, 14.0, 0.0, 4.0);
    }

    /// A paragraph of body text (12-point).
    pub fn paragraph(&mut self, text: &str) {
        self.block(text, Font::Regular, 12.0, 0.0, 8.0);
    }

    /// A line of bold body text, e.g. a label.
    pub fn strong(&mut self, text: &str) {
        self.block(text, Font::Bold, 12.0, 0.0, 4.0);
    }

    /// One item of a bulleted list.
    pub fn bullet(&mut self, text: &str) {
        let size = 12.0;
        self.ensure_room(size * 1.3);
        let y = self.y - size;
        self.show(Font::Regular, size, MARGIN + 4.0, y, "\u{2022}");
        self.block(text, Font::Regular, size, BULLET_INDENT, 3.0);
    }

    /// Vertical space.
    pub fn gap(&mut self, points: f32) {
        self.y -= points;
    }

    /// The finished file. `page_label(n, total)` is printed at the foot of
    /// each page ("Page 1 of 2").
    pub fn finish(mut self, page_label: impl Fn(usize, usize) -> String) -> Vec<u8> {
        if !self.current.is_empty() || self.pages.is_empty() {
            let page = std::mem::take(&mut self.current);
            self.pages.push(page);
        }
        let total = self.pages.len();
        let mut pages = std::mem::take(&mut self.pages);
        for (i, content) in pages.iter_mut().enumerate() {
            let label = page_label(i + 1, total);
            let width = text_width(&label, Font::Regular, MIN_FONT_SIZE);
            let x = (PAGE_WIDTH - width) / 2.0;
            content.extend_from_slice(&text_op(Font::Regular, MIN_FONT_SIZE, x, 40.0, &label));
        }
        assemble(&self.title, &self.lang, &pages)
    }

    fn ensure_room(&mut self, height: f32) {
        if self.y - height < BOTTOM {
            let page = std::mem::take(&mut self.current);
            self.pages.push(page);
            self.y = PAGE_HEIGHT - MARGIN;
        }
    }

    fn block(&mut self, text: &str, font: Font, size: f32, indent: f32, after: f32) {
        let leading = size * 1.3;
        let width = PAGE_WIDTH - 2.0 * MARGIN - indent;
        for line in wrap(text, font, size, width) {
            self.ensure_room(leading);
            self.y -= leading;
            let y = self.y + (leading - size);
            self.show(font, size, MARGIN + indent, y, &line);
        }
        self.y -= after;
    }

    fn show(&mut self, font: Font, size: f32, x: f32, y: f32, text: &str) {
        let op = text_op(font, size, x, y, text);
        self.current.extend_from_slice(&op);
    }
}

fn text_op(font: Font, size: f32, x: f32, y: f32, text: &str) -> Vec<u8> {
    let mut op = format!("BT {} {} Tf {:.2} {:.2} Td (", font.resource(), size, x, y).into_bytes();
    for b in encode(text) {
        if matches!(b, b'(' | b')' | b'\\') {
            op.push(b'\\');
        }
        op.push(b);
    }
    op.extend_from_slice(b") Tj ET\n");
    op
}

/// Lines of `text` no wider than `width`; explicit line breaks are kept and
/// a word longer than a line is split.
fn wrap(text: &str, font: Font, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for source_line in text.split('\n') {
        let mut line = String::new();
        for word in source_line.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if text_width(&candidate, font, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The word alone: split it if it is wider than a line.
            for c in word.chars() {
                let mut next = line.clone();
                next.push(c);
                if !line.is_empty() && text_width(&next, font, size) > width {
                    lines.push(std::mem::take(&mut line));
                    line.push(c);
                } else {
                    line = next;
                }
            }
        }
        lines.push(line);
    }
    lines
}

/// The width of `text` in points.
fn text_width(text: &str, font: Font, size: f32) -> f32 {
    let units: u32 = text.chars().map(|c| char_width(c, font)).sum();
    units as f32 * size / 1000.0
}

/// Advance widths in thousandths of an em, from the standard Helvetica and
/// Helvetica-Bold font metrics for printable ASCII. Other characters are
/// given a width at least as wide as theirs, so lines may wrap a little
/// early but never run past the margin.
fn char_width(c: char, font: Font) -> u32 {
    const REGULAR: [u16; 95] = [
        278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556,
        556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722,
        722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722,
        667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556,
        556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500,
        500, 334, 260, 334, 584,
    ];
    const BOLD: [u16; 95] = [
        278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556,
        556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722,
        722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722,
        667, 944, 667, 667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611,
        611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556,
        500, 389, 280, 389, 584,
    ];
    let code = c as u32;
    if (32..127).contains(&code) {
        let table = match font {
            Font::Regular => &REGULAR,
            Font::Bold => &BOLD,
        };
        return u32::from(table[(code - 32) as usize]);
    }
    match c {
        // Accented capitals (À–Þ) are no wider than the widest plain
        // capital but Æ; accented small letters (ß–ÿ) than the widest
        // small letter but æ.
        'À'..='Þ' if c != 'Æ' => 778,
        'ß'..='ÿ' if c != 'æ' => 611,
        _ => 1000,
    }
}

/// `text` as WinAnsi bytes.
fn encode(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‹' => 0x8b,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '™' => 0x99,
            '›' => 0x9b,
            _ => b'?',
        })
        .collect()
}

/// A PDF literal string for the document information dictionary.
fn literal(text: &str) -> Vec<u8> {
    let mut out = vec![b'('];
    for b in encode(text) {
        if matches!(b, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b')');
    out
}

/// The file: catalogue, page tree, fonts, information, then each page and
/// its content, and the cross-reference table.
fn assemble(title: &str, lang: &str, pages: &[Vec<u8>]) -> Vec<u8> {
    // Objects 1–5 are fixed; each page is a pair (page, content).
    let page_id = |i: usize| 6 + 2 * i;
    let mut objects: Vec<Vec<u8>> = Vec::new();
    let mut catalog = b"<< /Type /Catalog /Pages 2 0 R /Lang ".to_vec();
    catalog.extend(literal(lang));
    catalog.extend_from_slice(b" >>");
    objects.push(catalog);
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", page_id(i)))
        .collect();
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .into_bytes(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    let mut info = b"<< /Title ".to_vec();
    info.extend(literal(title));
    info.extend_from_slice(b" /Producer (cityteller) >>");
    objects.push(info);
    for (i, content) in pages.iter().enumerate() {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                page_id(i) + 1
            )
            .into_bytes(),
        );
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend_from_slice(content);
        stream.extend_from_slice(b"\nendstream");
        objects.push(stream);
    }

    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(paragraphs: usize) -> Vec<u8> {
        let mut d = Document::new("Notice (test)", "es");
        d.title("Notice of Data Breach");
        d.heading("What Happened");
        for i in 0..paragraphs {
            d.paragraph(&format!(
                "Párrafo {i}: el señor Núñez pagó \u{2014} (con cuidado) \\ una factura de \
                 servicios públicos en línea, y esta línea es lo bastante larga para partirse."
            ));
        }
        d.bullet("Nombre");
        d.finish(|n, t| format!("Página {n} de {t}"))
    }

    /// Every object the cross-reference table points at starts there.
    fn check_xref(pdf: &[u8]) {
        let text = String::from_utf8_lossy(pdf);
        let start: usize = text
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(pdf[start..].starts_with(b"xref\n"));
        let table = String::from_utf8_lossy(&pdf[start..]);
        let mut lines = table.lines().skip(1);
        let count: usize = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let entries: Vec<&str> = lines.take(count).collect();
        for (i, e) in entries.iter().enumerate().skip(1) {
            let off: usize = e[..10].parse().unwrap();
            assert!(
                pdf[off..].starts_with(format!("{i} 0 obj\n").as_bytes()),
                "object {i}"
            );
        }
    }

    #[test]
    fn the_file_is_well_formed_and_long_text_flows_onto_more_pages() {
        let one = sample(2);
        assert!(one.starts_with(b"%PDF-1.4\n"));
        assert!(one.ends_with(b"%%EOF\n"));
        check_xref(&one);
        assert_eq!(
            String::from_utf8_lossy(&one)
                .matches("/Type /Page ")
                .count(),
            1
        );
        let many = sample(60);
        check_xref(&many);
        let pages = String::from_utf8_lossy(&many)
            .matches("/Type /Page ")
            .count();
        assert!(pages >= 3, "{pages} pages");
        assert!(String::from_utf8_lossy(&many).contains(&format!("gina {pages} de {pages}")));
    }

    #[test]
    fn text_is_escaped_encoded_and_never_smaller_than_ten_points() {
        let pdf = sample(1);
        let body = String::from_utf8_lossy(&pdf);
        assert!(body.contains("\\(con cuidado\\) \\\\ una"), "{body}");
        // WinAnsi: ñ is 0xF1, the em dash 0x97.
        assert!(pdf.windows(5).any(|w| w == b"se\xf1or"));
        assert!(pdf.contains(&0x97));
        for op in body.split(" Tf") {
            if let Some(size) = op.rsplit(' ').next().and_then(|s| s.parse::<f32>().ok()) {
                assert!(size >= MIN_FONT_SIZE, "{size}-point text");
            }
        }
        assert!(body.contains("/Lang (es)"));
        assert!(body.contains("/Title (Notice \\(test\\))"));
    }

    #[test]
    fn lines_fit_between_the_margins() {
        let width = PAGE_WIDTH - 2.0 * MARGIN;
        let text = "The quick brown fox jumps over the lazy dog. ".repeat(20) + &"W".repeat(120);
        let lines = wrap(&text, Font::Bold, 12.0, width);
        assert!(lines.len() > 5);
        for l in &lines {
            assert!(text_width(l, Font::Bold, 12.0) <= width, "{l}");
        }
        // Nothing is lost.
        let rejoined: String = lines.concat().split_whitespace().collect();
        let original: String = text.split_whitespace().collect();
        assert_eq!(rejoined, original);
    }
}
