// XML in and out through fast-xml-parser: messages are built from JS trees by XMLBuilder (which
// escapes text and attribute values) after checkXmlTree() has refused what XML 1.0 cannot hold,
// and replies are read by XMLParser. No XML is made by pasting values into strings.
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { XmlBuildError } from './errors';

export const NETCONF_BASE_NS = 'urn:ietf:params:xml:ns:netconf:base:1.0';
/** Attribute-name prefix of the trees this package builds and parses: `{ '@_xmlns': NS }`. */
export const ATTR = '@_';

/**
 * An XML tree as fast-xml-parser's builder takes it: keys are element names (or `@_name` for an
 * attribute of the element they are in), values are text (string, number, boolean), a nested tree,
 * an array of either (repeated elements), or '' / null for an empty element. `#text` is an
 * element's text beside attributes.
 */
export type XmlValue = string | number | boolean | null | undefined | XmlTree | readonly XmlValue[];
export interface XmlTree {
  [name: string]: XmlValue;
}

// XML 1.0 Name (simplified to the BMP ranges of the spec's NameStartChar/NameChar), prefix allowed.
const NAME_START = 'A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD';
const NAME_CHAR = `${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040`;
const XML_NAME = new RegExp(`^[${NAME_START}][${NAME_CHAR}]*(?::[${NAME_START}][${NAME_CHAR}]*)?$`);
// Characters XML 1.0 does not allow anywhere (§2.2 Char), lone surrogates included.
const ILLEGAL_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `name` is a valid XML element or attribute name (optionally prefixed). */
export function isXmlName(name: string): boolean {
  return XML_NAME.test(name);
}

/** Refuses a string XML 1.0 cannot carry (e.g. NUL, ESC, a lone surrogate); returns it otherwise. */
export function checkXmlText(text: string, where = 'text'): string {
  const m = ILLEGAL_CHAR.exec(text);
  if (m) {
    const code = m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new XmlBuildError(`${where} holds U+${code}, which XML 1.0 does not allow`);
  }
  return text;
}

/**
 * Escapes text for an XML text node or a double-quoted attribute value (&, <, >, ", ').
 * Refuses characters XML 1.0 cannot carry. The one function for escaping: the builder below does
 * its own (the same five entities), this is for the odd string that has to be escaped by hand.
 */
export function escapeXml(text: string): string {
  return checkXmlText(text).replace(/[&<>"']/g, (c) => `&${ESCAPES[c]};`);
}
const ESCAPES: Record<string, string> = { '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' };

/** Checks every name and string of a tree (see {@link XmlTree}); throws XmlBuildError. */
export function checkXmlTree(value: XmlValue, path = ''): void {
  if (value === null || value === undefined || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new XmlBuildError(`${path || 'value'} is ${value}`);
    return;
  }
  if (typeof value === 'string') {
    checkXmlText(value, path || 'text');
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) checkXmlTree(v as XmlValue, path);
    return;
  }
  for (const [key, v] of Object.entries(value as XmlTree)) {
    const name = key.startsWith(ATTR) ? key.slice(ATTR.length) : key;
    if (key !== '#text' && !isXmlName(name)) throw new XmlBuildError(`${JSON.stringify(name)} is not an XML name`);
    if (key.startsWith(ATTR) && (typeof v === 'object' && v !== null)) {
      throw new XmlBuildError(`attribute ${name} must have a text value`);
    }
    checkXmlTree(v, path ? `${path}/${name}` : name);
  }
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: ATTR,
  textNodeName: '#text',
  suppressEmptyNode: true,
  suppressBooleanAttributes: false,
  processEntities: true,
});

/** XML text of a tree (no declaration), after {@link checkXmlTree}. */
export function buildXml(tree: XmlTree): string {
  checkXmlTree(tree);
  return builder.build(tree) as string;
}

/** A parsed element: attributes as `@_name`, text as `#text` (or the element is a plain string). */
export type ParsedXml = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: ATTR,
  textNodeName: '#text',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // No DOCTYPE entities: a reply has no business defining any.
  processEntities: true,
  htmlEntities: false,
  isArray: (name, jpath) => name === 'rpc-error' || jpath === 'hello.capabilities.capability',
});

/** Parses a message; namespace prefixes are dropped from names (`nc:rpc-reply` is `rpc-reply`). */
export function parseXml(xml: string): ParsedXml {
  return parser.parse(xml, true) as ParsedXml;
}

/** A parsed child that may occur once or more, always as an array ([] when absent). */
export function asArray<T = unknown>(value: unknown): T[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]) as T[];
}

/** The text of a parsed leaf: a string, or an element with attributes and `#text`. */
export function textOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'object' && '#text' in value) return String((value as Record<string, unknown>)['#text']);
  if (typeof value === 'object') return '';
  return undefined;
}
