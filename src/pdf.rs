//! A small PDF writer, enough for invoices, statements and waybills: pages (A4 by default) of
//! text in Helvetica (WinAnsi, so French accents print), rules, filled boxes and QR codes.
//! Written here, no dependency.

/// A4 in points.
pub const WIDTH: f64 = 595.0;
pub const HEIGHT: f64 = 842.0;
pub const MARGIN: f64 = 50.0;
/// A6 (a quarter of A4), for labels.
pub const A6: (f64, f64) = (WIDTH / 2.0, HEIGHT / 2.0);

/// Text as PDF string bytes: UTF-8 mapped to Windows-1252, with `(`, `)` and `\` escaped.
fn pdf_string(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 2);
    out.push(b'(');
    for c in text.chars() {
        let b = match c {
            '\u{20}'..='\u{7e}' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '\u{202f}' => 0xa0,
            '€' => 0x80,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '–' => 0x96,
            '—' => 0x97,
            'œ' => 0x9c,
            'Œ' => 0x8c,
            '…' => 0x85,
            _ => b'?',
        };
        if matches!(b, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b')');
    out
}

/// Approximate width of Helvetica text (average glyph widths), for right alignment.
pub fn text_width(text: &str, size: f64) -> f64 {
    text.chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' => 0.28,
            ' ' | '\u{a0}' | 'f' | 't' | 'r' | 'I' | '(' | ')' | '-' | '/' => 0.33,
            '0'..='9' => 0.556,
            'm' | 'w' | 'M' | 'W' => 0.83,
            'A'..='Z' => 0.67,
            _ => 0.54,
        })
        .sum::<f64>()
        * size
}

/// A document being written.
pub struct Document {
    pages: Vec<Vec<u8>>,
    current: Vec<u8>,
    size: (f64, f64),
}

impl Default for Document {
    fn default() -> Self {
        Document { pages: Vec::new(), current: Vec::new(), size: (WIDTH, HEIGHT) }
    }
}

impl Document {
    /// An A4 document.
    pub fn new() -> Document {
        Document::default()
    }

    /// A document whose pages are `(width, height)` points.
    pub fn with_size(size: (f64, f64)) -> Document {
        Document { size, ..Document::default() }
    }

    /// A square matrix of dark (`true`) and light modules, `width` a side, drawn black in a
    /// square of `side` points whose bottom-left corner is (x, y) (row 0 at the top). Runs of
    /// dark modules in a row are one rectangle each.
    pub fn modules(&mut self, x: f64, y: f64, side: f64, width: usize, dark: &[bool]) {
        if width == 0 {
            return;
        }
        let m = side / width as f64;
        for (row, cells) in dark.chunks(width).enumerate() {
            let top = y + side - (row as f64 + 1.0) * m;
            let mut col = 0;
            while col < cells.len() {
                if !cells[col] {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < cells.len() && cells[col] {
                    col += 1;
                }
                self.fill(x + start as f64 * m, top, (col - start) as f64 * m, m, 0.0);
            }
        }
    }

    /// Text at (x, y) from the bottom-left, regular or bold.
    pub fn text(&mut self, x: f64, y: f64, size: f64, bold: bool, text: &str) {
        let font = if bold { "F2" } else { "F1" };
        self.current.extend_from_slice(format!("BT /{font} {size:.1} Tf {x:.2} {y:.2} Td ").as_bytes());
        self.current.extend_from_slice(&pdf_string(text));
        self.current.extend_from_slice(b" Tj ET\n");
    }

    /// Text ending at x.
    pub fn text_right(&mut self, x: f64, y: f64, size: f64, bold: bool, text: &str) {
        self.text(x - text_width(text, size), y, size, bold, text);
    }

    /// A horizontal rule.
    pub fn rule(&mut self, x1: f64, x2: f64, y: f64, width: f64) {
        self.current.extend_from_slice(format!("{width:.2} w {x1:.2} {y:.2} m {x2:.2} {y:.2} l S\n").as_bytes());
    }

    /// A vertical rule.
    pub fn vrule(&mut self, x: f64, y1: f64, y2: f64, width: f64) {
        self.current.extend_from_slice(format!("{width:.2} w {x:.2} {y1:.2} m {x:.2} {y2:.2} l S\n").as_bytes());
    }

    /// A filled rectangle in a grey level (0 black, 1 white).
    pub fn fill(&mut self, x: f64, y: f64, w: f64, h: f64, grey: f64) {
        self.current.extend_from_slice(format!("{grey:.2} g {x:.2} {y:.2} {w:.2} {h:.2} re f 0 g\n").as_bytes());
    }

    pub fn new_page(&mut self) {
        let page = std::mem::take(&mut self.current);
        self.pages.push(page);
    }

    /// The finished file.
    pub fn finish(mut self) -> Vec<u8> {
        if !self.current.is_empty() || self.pages.is_empty() {
            self.new_page();
        }
        let n = self.pages.len();
        // Objects: 1 catalog, 2 pages, 3 Helvetica, 4 Helvetica-Bold, then a page and its
        // content for each page.
        let mut objects: Vec<Vec<u8>> = Vec::new();
        objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
        let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 5 + 2 * i)).collect();
        objects.push(format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes());
        objects.push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec());
        objects.push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_vec());
        for (i, content) in self.pages.iter().enumerate() {
            objects.push(
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {:.2} {:.2}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                    self.size.0,
                    self.size.1,
                    6 + 2 * i
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
        out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
        for off in offsets {
            out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_and_latin1() {
        assert_eq!(pdf_string("a(b)\\"), b"(a\\(b\\)\\\\)".to_vec());
        assert_eq!(pdf_string("Zoé 1\u{a0}500"), b"(Zo\xe9 1\xa0500)".to_vec());
    }

    #[test]
    fn a_document_has_its_objects_and_xref() {
        let mut d = Document::new();
        d.text(50.0, 800.0, 12.0, true, "Facture");
        d.new_page();
        d.text(50.0, 800.0, 12.0, false, "Page 2");
        let pdf = d.finish();
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.starts_with("%PDF-1.4"));
        assert!(text.contains("/Count 2"));
        assert!(text.trim_end().ends_with("%%EOF"));
    }
}
