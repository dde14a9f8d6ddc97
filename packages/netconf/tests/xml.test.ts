import { describe, expect, it } from 'vitest';
import { XmlBuildError, buildXml, checkXmlText, escapeXml, isXmlName, operation, parseRpcError, parseXml } from '@sdmi/netconf';

describe('XML building and escaping', () => {
  it('escapes the five special characters, once', () => {
    expect(escapeXml(`a<b>&c"d'e`)).toBe('a&lt;b&gt;&amp;c&quot;d&apos;e');
    expect(escapeXml('&amp;')).toBe('&amp;amp;');
    expect(escapeXml('plain é 日本')).toBe('plain é 日本');
  });

  it('refuses characters XML 1.0 cannot carry', () => {
    for (const bad of ['\u0000', 'a\u0001b', '\u001b[31m', '\uFFFE', '\uD800', 'x\uDC00']) {
      expect(() => escapeXml(bad), JSON.stringify(bad)).toThrow(XmlBuildError);
    }
    expect(checkXmlText('tab\tnew\nline\r😀')).toBe('tab\tnew\nline\r😀');
  });

  it('builds elements and attributes with untrusted values escaped, so they cannot add markup', () => {
    const evil = `</name><vlan nc:operation="delete"><id>1</id></vlan><name>]]>]]>`;
    const xml = buildXml({ vlan: { '@_xmlns': 'urn:x', '@_note': `"' <&>`, id: 100, name: evil } });
    expect(xml).toBe(
      '<vlan xmlns="urn:x" note="&quot;&apos; &lt;&amp;&gt;"><id>100</id><name>&lt;/name&gt;&lt;vlan nc:operation=&quot;delete&quot;&gt;&lt;id&gt;1&lt;/id&gt;&lt;/vlan&gt;&lt;name&gt;]]&gt;]]&gt;</name></vlan>',
    );
    // it reads back as the same text
    const back = parseXml(xml) as { vlan: { name: string } };
    expect(back.vlan.name).toBe(evil);
  });

  it('builds repeated and empty elements and the nc:operation attribute', () => {
    expect(buildXml({ target: { candidate: '' } })).toBe('<target><candidate/></target>');
    expect(buildXml({ vlans: { vlan: [{ id: 1 }, { ...operation('delete'), id: 2 }] } })).toBe(
      '<vlans><vlan><id>1</id></vlan><vlan nc:operation="delete"><id>2</id></vlan></vlans>',
    );
  });

  it('refuses names that are not XML names and values it cannot put in XML', () => {
    expect(isXmlName('nc:operation')).toBe(true);
    expect(isXmlName('allowed-vlan')).toBe(true);
    for (const bad of ['a b', '1abc', 'a>b', '', 'x:y:z']) expect(isXmlName(bad), bad).toBe(false);
    expect(() => buildXml({ 'a b': 'x' })).toThrow(XmlBuildError);
    expect(() => buildXml({ a: { '@_x y': '1' } })).toThrow(XmlBuildError);
    expect(() => buildXml({ a: { name: 'bell\u0007' } })).toThrow(/a\/name holds U\+0007/);
    expect(() => buildXml({ a: Number.NaN })).toThrow(XmlBuildError);
    expect(() => buildXml({ a: { '@_x': { nested: 1 } } })).toThrow(XmlBuildError);
  });
});

describe('rpc-error parsing', () => {
  it('reads type, tag, severity, app-tag, path, message and info', () => {
    const reply = parseXml(`<?xml version="1.0" encoding="UTF-8"?>
<rpc-reply message-id="7" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0">
  <nc:rpc-error>
    <error-type>application</error-type>
    <error-tag>data-missing</error-tag>
    <error-severity>error</error-severity>
    <error-app-tag>instance-required</error-app-tag>
    <error-path>/sv:interfaces/sv:trunk[sv:port='eth9']/sv:port</error-path>
    <error-message xml:lang="en">required value instance not found</error-message>
    <error-info><bad-value xmlns="x">port</bad-value></error-info>
  </nc:rpc-error>
</rpc-reply>`) as { 'rpc-reply': { 'rpc-error': Record<string, unknown>[] } };
    const errors = reply['rpc-reply']['rpc-error'];
    expect(errors).toHaveLength(1);
    expect(parseRpcError(errors[0]!)).toEqual({
      type: 'application',
      tag: 'data-missing',
      severity: 'error',
      appTag: 'instance-required',
      path: "/sv:interfaces/sv:trunk[sv:port='eth9']/sv:port",
      message: 'required value instance not found',
      info: { 'bad-value': 'port' },
    });
  });
});
