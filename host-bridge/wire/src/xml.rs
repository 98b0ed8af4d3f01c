//! The two lookups every SOAP reader of the project makes (the bridge's answers in
//! [`crate::mdm_response`], the emulator's MDM requests): the first element of a name in a
//! namespace under a node, and its trimmed text.

use roxmltree::Node;

/// The first element `{ns}name` among `root`'s descendants (`root` included).
pub fn find<'a, 'i>(root: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    root.descendants().find(|n| {
        n.is_element() && n.tag_name().name() == name && n.tag_name().namespace() == Some(ns)
    })
}

/// The trimmed text of [`find`]'s element, when it has any.
pub fn text_of(root: Node<'_, '_>, ns: &str, name: &str) -> Option<String> {
    find(root, ns, name)
        .and_then(|n| n.text())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_namespace_not_by_prefix_and_trims() {
        let doc = roxmltree::Document::parse(
            "<a xmlns:x=\"urn:x\" xmlns:y=\"urn:y\"><y:v>other</y:v><x:v> one </x:v><x:e/></a>",
        )
        .unwrap();
        assert_eq!(text_of(doc.root(), "urn:x", "v").as_deref(), Some("one"));
        assert_eq!(text_of(doc.root(), "urn:y", "v").as_deref(), Some("other"));
        assert!(find(doc.root(), "urn:x", "e").is_some());
        assert_eq!(text_of(doc.root(), "urn:x", "e"), None);
        assert!(find(doc.root(), "urn:z", "v").is_none());
    }
}
