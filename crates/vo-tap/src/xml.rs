//! A small, capped XML tree for the service documents of this crate (UWS, VOSI).
//!
//! These documents are small (a job, a job list, a table set), so they are read whole into
//! a namespace-resolved tree, then walked by (namespace URI, local name), never by prefix.
//! Reading rejects any `<!DOCTYPE`, resolves only the five predefined entities and character
//! references, and enforces byte, depth and node caps (RELIABILITY H4-H6).

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// Namespace URI of XML Schema instance attributes (`xsi:nil`, `xsi:type`).
pub(crate) const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// Namespace URI of XLink attributes (`xlink:href`).
pub(crate) const XLINK_NS: &str = "http://www.w3.org/1999/xlink";

/// Most nested elements accepted.
const MAX_DEPTH: usize = 64;
/// Most elements accepted in one document.
const MAX_ELEMENTS: usize = 1_000_000;

/// Why a document could not be read as XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum XmlError {
    /// The document is larger than the cap.
    TooLarge { limit: usize },
    /// A `<!DOCTYPE` was found.
    Doctype,
    /// Nesting deeper than [`MAX_DEPTH`] or more than [`MAX_ELEMENTS`] elements.
    TooComplex,
    /// Malformed XML, with the byte offset where it was noticed.
    Syntax { offset: u64, message: String },
    /// The document has no root element.
    Empty,
}

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            XmlError::TooLarge { limit } => write!(f, "document larger than {limit} bytes"),
            XmlError::Doctype => f.write_str("DOCTYPE declarations are not accepted"),
            XmlError::TooComplex => write!(
                f,
                "document nested deeper than {MAX_DEPTH} or with more than {MAX_ELEMENTS} elements"
            ),
            XmlError::Syntax { offset, message } => {
                write!(f, "malformed XML at byte {offset}: {message}")
            }
            XmlError::Empty => f.write_str("no root element"),
        }
    }
}

/// One attribute, with its resolved namespace (None when unprefixed).
#[derive(Debug, Clone)]
pub(crate) struct Attr {
    pub(crate) ns: Option<String>,
    pub(crate) local: String,
    pub(crate) value: String,
}

/// One element with its resolved namespace, attributes, children and concatenated text.
#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    pub(crate) ns: Option<String>,
    pub(crate) local: String,
    pub(crate) attrs: Vec<Attr>,
    pub(crate) children: Vec<Element>,
    pub(crate) text: String,
    /// Namespace URI of the `xsi:type` value's prefix, resolved where the element stands.
    pub(crate) type_ns: Option<String>,
    /// Local part of the `xsi:type` value.
    pub(crate) type_local: Option<String>,
}

impl Element {
    /// True when the element's local name is `local` (and its namespace `ns`, when given).
    #[cfg(test)]
    pub(crate) fn is(&self, ns: Option<&str>, local: &str) -> bool {
        self.local == local && ns.is_none_or(|n| self.ns.as_deref() == Some(n))
    }

    /// Children with this local name, whatever their namespace (documents in the wild
    /// mix qualified and unqualified children, e.g. VOSI tables).
    pub(crate) fn children_named<'a>(
        &'a self,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.local == local)
    }

    /// First child with this local name.
    pub(crate) fn child(&self, local: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.local == local)
    }

    /// Trimmed text of the first child with this local name, None when missing,
    /// `xsi:nil` or empty.
    pub(crate) fn child_text(&self, local: &str) -> Option<String> {
        self.child(local).and_then(Element::text_value)
    }

    /// Trimmed text, None when `xsi:nil="true"` or empty.
    pub(crate) fn text_value(&self) -> Option<String> {
        if self.is_nil() {
            return None;
        }
        let text = self.text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }

    /// `xsi:nil="true"`.
    pub(crate) fn is_nil(&self) -> bool {
        self.attr_ns(XSI_NS, "nil")
            .is_some_and(|v| matches!(v.trim(), "true" | "1"))
    }

    /// Unprefixed attribute value.
    pub(crate) fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// Attribute in a namespace.
    pub(crate) fn attr_ns(&self, ns: &str, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.as_deref() == Some(ns) && a.local == local)
            .map(|a| a.value.as_str())
    }
}

fn resolved(res: &ResolveResult<'_>) -> Option<String> {
    match res {
        ResolveResult::Bound(ns) => Some(ns.into_inner().to_owned()),
        ResolveResult::Unbound | ResolveResult::Unknown(_) => None,
    }
}

fn predefined_entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => None,
    }
}

/// Reads a whole document (at most `limit` bytes) into a tree.
pub(crate) fn parse(bytes: &[u8], limit: usize) -> Result<Element, XmlError> {
    if bytes.len() > limit {
        return Err(XmlError::TooLarge { limit });
    }
    let mut reader = NsReader::from_reader(bytes);
    reader.config_mut().expand_empty_elements = true;
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut n_elements = 0usize;
    loop {
        buf.clear();
        let offset = reader.buffer_position();
        let syntax = |e: quick_xml::Error| XmlError::Syntax {
            offset,
            message: e.to_string(),
        };
        let (res, event) = reader.read_resolved_event_into(&mut buf).map_err(syntax)?;
        match event {
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Start(start) => {
                n_elements += 1;
                if stack.len() >= MAX_DEPTH || n_elements > MAX_ELEMENTS {
                    return Err(XmlError::TooComplex);
                }
                if root.is_some() && stack.is_empty() {
                    return Err(XmlError::Syntax {
                        offset,
                        message: "content after the root element".into(),
                    });
                }
                let mut element = Element {
                    ns: resolved(&res),
                    local: start.local_name().into_inner().to_owned(),
                    ..Element::default()
                };
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| syntax(e.into()))?;
                    let (attr_res, local) = reader.resolver().resolve_attribute(attr.key);
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(syntax)?;
                    element.attrs.push(Attr {
                        ns: resolved(&attr_res),
                        local: local.into_inner().to_owned(),
                        value: value.into_owned(),
                    });
                }
                if let Some(type_value) =
                    element.attr_ns(XSI_NS, "type").map(|v| v.trim().to_owned())
                {
                    let (type_res, type_local) = reader
                        .resolver()
                        .resolve_element(quick_xml::name::QName(&type_value));
                    element.type_ns = resolved(&type_res);
                    element.type_local = Some(type_local.into_inner().to_owned());
                }
                stack.push(element);
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(XmlError::Syntax {
                        offset,
                        message: "unexpected end tag".into(),
                    });
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(text) => {
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&text.xml10_content());
                }
            }
            Event::CData(cdata) => {
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&cdata.into_inner());
                }
            }
            Event::GeneralRef(reference) => {
                let resolved_char = if reference.is_char_ref() {
                    reference.resolve_char_ref().map_err(syntax)?
                } else {
                    predefined_entity(&reference.xml10_content())
                };
                let Some(ch) = resolved_char else {
                    return Err(XmlError::Syntax {
                        offset,
                        message: format!("unknown entity &{};", reference.xml10_content()),
                    });
                };
                if let Some(current) = stack.last_mut() {
                    current.text.push(ch);
                }
            }
            Event::Empty(_) | Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Syntax {
            offset: reader.buffer_position(),
            message: "unexpected end of document".into(),
        });
    }
    root.ok_or(XmlError::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_namespaces_not_prefixes() {
        let doc = br#"<a:root xmlns:a="urn:x" xmlns:q="urn:q"><a:child q:k="v">t &amp; &#65;</a:child></a:root>"#;
        let root = parse(doc, 1024).unwrap();
        assert!(root.is(Some("urn:x"), "root"));
        let child = root.child("child").unwrap();
        assert_eq!(child.attr_ns("urn:q", "k"), Some("v"));
        assert_eq!(child.text, "t & A");
    }

    #[test]
    fn rejects_doctype_and_unknown_entities() {
        let laughs = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><r>&lol;</r>"#;
        assert_eq!(parse(laughs, 1024).unwrap_err(), XmlError::Doctype);
        assert!(matches!(
            parse(b"<r>&lol;</r>", 1024).unwrap_err(),
            XmlError::Syntax { .. }
        ));
    }

    #[test]
    fn caps_size_and_depth() {
        assert_eq!(
            parse(b"<r/>", 2).unwrap_err(),
            XmlError::TooLarge { limit: 2 }
        );
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert_eq!(
            parse(deep.as_bytes(), 1 << 20).unwrap_err(),
            XmlError::TooComplex
        );
    }

    #[test]
    fn rejects_truncated_and_empty() {
        assert!(parse(b"<a><b></b>", 1024).is_err());
        assert_eq!(parse(b"  ", 1024).unwrap_err(), XmlError::Empty);
    }
}
