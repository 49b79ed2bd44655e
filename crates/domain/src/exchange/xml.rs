//! A small XML writer into a string: escaped text and attributes, two-space indentation. The
//! export writes a page of activities at a time with it, so only a page is ever held.

/// Text as XML 1.0 character data: markup characters escaped, and the control characters XML
/// cannot carry at all left out.
pub fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

pub struct XmlWriter {
    out: String,
    depth: usize,
}

impl XmlWriter {
    /// A writer whose elements start `depth` levels deep.
    pub fn at_depth(depth: usize) -> Self {
        XmlWriter {
            out: String::new(),
            depth,
        }
    }

    pub fn into_string(self) -> String {
        self.out
    }

    fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape(value, &mut self.out);
            self.out.push('"');
        }
    }

    /// `<name attrs>` on a line of its own; children follow until [`Self::close`].
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start(name, attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    pub fn close(&mut self, name: &str) {
        self.depth -= 1;
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// `<name attrs/>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start(name, attrs);
        self.out.push_str("/>\n");
    }

    /// `<name attrs>text</name>` on one line.
    pub fn text(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.start(name, attrs);
        self.out.push('>');
        escape(text, &mut self.out);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped_and_forbidden_characters_dropped() {
        let mut w = XmlWriter::at_depth(0);
        w.open("a", &[("title", "\"x\" & <y>")]);
        w.text("b", &[], "1 < 2 & \u{1}bell\tok");
        w.empty("c", &[]);
        w.close("a");
        assert_eq!(
            w.into_string(),
            "<a title=\"&quot;x&quot; &amp; &lt;y&gt;\">\n  <b>1 &lt; 2 &amp; bell\tok</b>\n  <c/>\n</a>\n"
        );
    }
}
