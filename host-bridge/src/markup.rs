//! Escaping text for XML and HTML, in content and in quoted attribute values: the SOAP and
//! WS-Trust envelopes the bridge builds, the handoff page and the broker's sign-in window.

/// `&`, `<`, `>`, `"` and `'` as entity references.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_markup_character_is_escaped_and_ampersands_first() {
        assert_eq!(
            super::escape(r#"<a href="x">&amp;'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;amp;&apos;&lt;/a&gt;"
        );
    }
}
