//! Exclusive XML canonicalization (`tenant_emulator::c14n::canonicalize`) of any document
//! roxmltree accepts, whole and without its first nested element (as the enveloped signature
//! is cut). Property: the canonical form is well-formed XML and canonical itself
//! (canonicalizing it again changes nothing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use roxmltree::Document;
use tenant_emulator::c14n::canonicalize;

fuzz_target!(|data: &[u8]| {
    let Some(xml) = cxh_join_fuzz::text(data) else {
        return;
    };
    let Ok(doc) = Document::parse(xml) else {
        return;
    };
    let root = doc.root_element();
    let canonical = canonicalize(root, None);
    let again = Document::parse(&canonical).expect("the canonical form is well-formed XML");
    assert_eq!(canonicalize(again.root_element(), None), canonical);
    let cut = root
        .descendants()
        .skip(1)
        .find(|n| n.is_element())
        .map(|n| n.id());
    let _ = canonicalize(root, cut);
});
