//! Exclusive XML canonicalization (exc-c14n, without comments), over a parsed `roxmltree`
//! document, for XML-DSig over the SAML assertions the emulated STS issues and the authority
//! verifies.
//!
//! Implemented here rather than through xmlsec: the emulator needs only the subset SAML
//! tokens use (elements, attributes, text, namespaces; no DTDs, no InclusiveNamespaces
//! prefix list), and the signer and the verifier share this one function. Rules (W3C
//! exc-c14n 1.0): namespace declarations are emitted on an element only where they are
//! visibly utilized (by the element's or an attribute's prefix) and not already in scope
//! from an output ancestor; declarations sort by prefix, attributes by (namespace URI, local
//! name); comments are dropped; text and attribute values use the canonical escapes.

use roxmltree::{Node, NodeId};
use std::collections::BTreeMap;

/// The algorithm URI of exclusive canonicalization without comments.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// Canonical bytes of the subtree rooted at `root`, leaving out the subtree `exclude` (the
/// enveloped signature).
pub fn canonicalize(root: Node<'_, '_>, exclude: Option<NodeId>) -> String {
    let mut out = String::new();
    element(root, exclude, &BTreeMap::new(), &mut out);
    out
}

/// The prefix of a raw qualified name (`""` for none).
fn prefix_of(qname: &str) -> &str {
    qname.split_once(':').map(|(p, _)| p).unwrap_or("")
}

/// The element's qualified name as written in the input (roxmltree resolves names, but the
/// canonical form keeps the document's prefixes).
fn raw_qname<'a>(node: Node<'a, '_>) -> &'a str {
    let text = &node.document().input_text()[node.range()];
    let after_lt = text.get(1..).unwrap_or("");
    let end = after_lt
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(after_lt.len());
    &after_lt[..end]
}

/// An attribute as canonicalization needs it: namespace URI and local name (the sort key),
/// qualified name as written, value.
struct Attribute {
    namespace: String,
    name: String,
    qname: String,
    value: String,
}

fn element(
    node: Node<'_, '_>,
    exclude: Option<NodeId>,
    rendered: &BTreeMap<String, String>,
    out: &mut String,
) {
    let qname = raw_qname(node);
    let (utilized, mut attributes) = utilized_prefixes_and_attributes(node, qname);
    out.push('<');
    out.push_str(qname);
    let scope = write_namespaces(node, &utilized, rendered, out);
    attributes.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    write_attributes(&attributes, out);
    out.push('>');
    write_children(node, exclude, &scope, out);
    out.push_str("</");
    out.push_str(qname);
    out.push('>');
}

/// The prefixes the element visibly utilizes (its own, and those of its attributes other
/// than `xml`), sorted and deduplicated, and its attributes in document order.
fn utilized_prefixes_and_attributes(
    node: Node<'_, '_>,
    qname: &str,
) -> (Vec<String>, Vec<Attribute>) {
    let mut utilized = vec![prefix_of(qname).to_string()];
    let mut attributes = Vec::new();
    let input = node.document().input_text();
    for attribute in node.attributes() {
        let attr_qname = &input[attribute.range_qname()];
        let prefix = prefix_of(attr_qname);
        if !prefix.is_empty() && prefix != "xml" {
            utilized.push(prefix.to_string());
        }
        attributes.push(Attribute {
            namespace: attribute.namespace().unwrap_or("").to_string(),
            name: attribute.name().to_string(),
            qname: attr_qname.to_string(),
            value: attribute.value().to_string(),
        });
    }
    utilized.sort();
    utilized.dedup();
    (utilized, attributes)
}

/// Declare each utilized prefix not already rendered with the same URI by an output
/// ancestor; the namespaces in scope for the children.
fn write_namespaces(
    node: Node<'_, '_>,
    utilized: &[String],
    rendered: &BTreeMap<String, String>,
    out: &mut String,
) -> BTreeMap<String, String> {
    let mut scope = rendered.clone();
    for prefix in utilized {
        let lookup = if prefix.is_empty() {
            None
        } else {
            Some(prefix.as_str())
        };
        let uri = node.lookup_namespace_uri(lookup).unwrap_or("");
        // An empty default namespace needs no declaration unless an output ancestor set
        // another one. A prefix bound to "" (not namespace-well-formed, but roxmltree accepts
        // it) is kept as written: dropping it would leave the prefix unbound in the output.
        let already = match rendered.get(prefix) {
            Some(rendered_uri) => rendered_uri == uri,
            None => prefix.is_empty() && uri.is_empty(),
        };
        if already {
            continue;
        }
        if prefix.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(prefix);
            out.push_str("=\"");
        }
        escape_attribute(uri, out);
        out.push('"');
        scope.insert(prefix.clone(), uri.to_string());
    }
    scope
}

/// The (already sorted) attributes with canonical escapes.
fn write_attributes(attributes: &[Attribute], out: &mut String) {
    for attribute in attributes {
        out.push(' ');
        out.push_str(&attribute.qname);
        out.push_str("=\"");
        escape_attribute(&attribute.value, out);
        out.push('"');
    }
}

/// Child elements, text and processing instructions, leaving out `exclude` and comments.
fn write_children(
    node: Node<'_, '_>,
    exclude: Option<NodeId>,
    scope: &BTreeMap<String, String>,
    out: &mut String,
) {
    for child in node.children() {
        if Some(child.id()) == exclude {
            continue;
        }
        if child.is_element() {
            element(child, exclude, scope, out);
        } else if child.is_text() {
            escape_text(child.text().unwrap_or(""), out);
        } else if let Some(pi) = child.pi() {
            out.push_str("<?");
            out.push_str(pi.target);
            if let Some(value) = pi.value {
                out.push(' ');
                out.push_str(value);
            }
            out.push_str("?>");
        }
    }
}

fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attribute(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n(xml: &str) -> String {
        let doc = roxmltree::Document::parse(xml).unwrap();
        canonicalize(doc.root_element(), None)
    }

    #[test]
    fn sorts_attributes_drops_unused_namespaces_and_comments() {
        let xml = r#"<a:r xmlns:a="urn:a" xmlns:unused="urn:u" z="1" b='2'><!-- c --><a:k/>x &amp; y</a:r>"#;
        assert_eq!(
            c14n(xml),
            r#"<a:r xmlns:a="urn:a" b="2" z="1"><a:k></a:k>x &amp; y</a:r>"#
        );
    }

    #[test]
    fn pushes_namespaces_down_to_where_they_are_used() {
        let xml = r#"<o xmlns:s="urn:s"><i s:v="1"/><s:j/></o>"#;
        assert_eq!(
            c14n(xml),
            r#"<o><i xmlns:s="urn:s" s:v="1"></i><s:j xmlns:s="urn:s"></s:j></o>"#
        );
    }

    #[test]
    fn keeps_a_prefix_bound_to_the_empty_uri_declared() {
        // Found by the c14n fuzz target: the declaration was dropped, leaving `s` unbound.
        let xml = r#"<s:e s:a="v" xmlns:s=""><e/></s:e>"#;
        let canonical = c14n(xml);
        assert_eq!(canonical, r#"<s:e xmlns:s="" s:a="v"><e></e></s:e>"#);
        assert_eq!(c14n(&canonical), canonical);
    }

    #[test]
    fn an_empty_default_namespace_is_declared_only_to_undo_an_inherited_one() {
        assert_eq!(c14n(r#"<a xmlns=""><b/></a>"#), "<a><b></b></a>");
        assert_eq!(
            c14n(r#"<a xmlns="urn:a"><b xmlns=""/></a>"#),
            r#"<a xmlns="urn:a"><b xmlns=""></b></a>"#
        );
    }

    #[test]
    fn subtree_declares_what_its_ancestors_declared() {
        let xml = r#"<x:o xmlns:x="urn:x"><x:i a="&quot;"/></x:o>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let inner = doc.root_element().first_element_child().unwrap();
        assert_eq!(
            canonicalize(inner, None),
            r#"<x:i xmlns:x="urn:x" a="&quot;"></x:i>"#
        );
    }
}
