/** RFC 8785 canonical JSON: the RFC's own examples, then what this package adds around the serialiser. */
import { createHash } from 'node:crypto';
import { CanonicalJsonError, canonicalHash, canonicalJson } from '@omnimall/evidence';

function double(bits: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${bits}`));
  return view.getFloat64(0);
}

describe('RFC 8785 Appendix B: number serialisation', () => {
  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('the double %s is written %s', (bits, text) => {
    expect(canonicalJson(double(bits))).toBe(text);
    expect(canonicalJson({ n: double(bits) })).toBe(`{"n":${text}}`);
  });

  it.each([
    ['7fffffffffffffff', 'NaN'],
    ['7ff0000000000000', 'Infinity'],
    ['fff0000000000000', '-Infinity'],
  ])('the double %s (%s) is refused, at the top and inside', (bits) => {
    expect(() => canonicalJson(double(bits))).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ a: [1, double(bits)] })).toThrow(/\$\.a\[1\]/);
  });
});

describe('RFC 8785 §3.2.2 to §3.2.4: the sample object', () => {
  // The RFC's input text, parsed as a JSON parser would (escapes resolved, 333333333.33333329 rounded).
  const input = JSON.parse(
    '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], ' +
      '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
  );

  it('comes out as the RFC prints it (§3.2.3)', () => {
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('and as the UTF-8 bytes of §3.2.4', () => {
    const utf8 =
      '7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a5b3333333333333333332e333333333333332c31652b33302c342e352c302e3030322c31652d32375d2c22737472696e67223a22e282ac245c75303030665c6e4127425c225c5c5c5c5c222f227d';
    expect(Buffer.from(canonicalJson(input), 'utf8').toString('hex')).toBe(utf8);
    expect(canonicalHash(input).toString('hex')).toBe(createHash('sha256').update(Buffer.from(utf8, 'hex')).digest('hex'));
  });
});

describe('RFC 8785 §3.2.3: members sorted by UTF-16 code units', () => {
  it('puts the emoji (surrogates D83D DE00) before U+FB33, as code units and not code points order them', () => {
    const input = JSON.parse(
      '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", ' +
        '"\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", "\\u00f6": "Latin Small Letter O With Diaeresis"}',
    );
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign",' +
        '"\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('sorts at every depth, and arrays keep their order', () => {
    expect(canonicalJson({ b: [{ z: 1, a: 2 }, 3], a: { d: true, c: null } })).toBe('{"a":{"c":null,"d":true},"b":[{"a":2,"z":1},3]}');
  });

  it('gives one text and one hash however the keys were ordered', () => {
    const one = { customer: 'cus_1', lines: [{ sku: 'A', qty: 2 }], total: 1999 };
    const other = { total: 1999, lines: [{ qty: 2, sku: 'A' }], customer: 'cus_1' };
    expect(canonicalJson(other)).toBe(canonicalJson(one));
    expect(canonicalHash(other).equals(canonicalHash(one))).toBe(true);
    expect(canonicalHash({ ...one, total: 2000 }).equals(canonicalHash(one))).toBe(false);
  });
});

describe('RFC 8785 §3.2.2.2: string escapes', () => {
  it('uses the short escapes, lowercase \\u00xx for the other controls, and nothing else', () => {
    const s = '\u0000\u0007\b\t\n\u000b\f\r\u001f "\\/\u007f\u00e9\u20ac\ud83d\ude00';
    expect(canonicalJson(s)).toBe('"\\u0000\\u0007\\b\\t\\n\\u000b\\f\\r\\u001f \\"\\\\/\u007fé€\ud83d\ude00"');
    expect(canonicalJson({ [s]: 1 })).toBe(`{${canonicalJson(s)}:1}`);
  });

  it('refuses a lone surrogate in a value or a member name (not I-JSON)', () => {
    expect(() => canonicalJson('a\ud800')).toThrow(/lone UTF-16 surrogate/);
    expect(() => canonicalJson(['\udc00b'])).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ ['k\udfff']: 1 })).toThrow(/member name/);
  });
});

describe('only JSON data is canonicalised', () => {
  it.each<[string, unknown]>([
    ['undefined at the top', undefined],
    ['a BigInt', { amount: 10n }],
    ['a function', { f: () => 1 }],
    ['a symbol', [Symbol('s')]],
    ['a Map', { m: new Map([['a', 1]]) }],
    ['a Set', new Set([1])],
    ['a typed array', { bytes: new Uint8Array([1, 2]) }],
    ['a boxed number', { n: new Number(5) }],
    ['a toJSON that gives undefined', { x: { toJSON: () => undefined } }],
    // eslint-disable-next-line no-sparse-arrays
    ['a sparse array', [1, , 3]],
  ])('refuses %s with a CanonicalJsonError naming where', (_what, value) => {
    let thrown: unknown;
    try {
      canonicalJson(value);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CanonicalJsonError);
    expect(thrown).toMatchObject({ code: 'not_canonical_json', path: expect.stringMatching(/^\$/), hint: expect.any(String) });
  });

  it('refuses a cycle, but not the same object met twice side by side', () => {
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = { back: loop };
    expect(() => canonicalJson(loop)).toThrow(/\$\.self\.back: a cycle/);
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: [shared] })).toBe('{"a":{"x":1},"b":[{"x":1}]}');
  });

  it('keeps a member named __proto__ as a member', () => {
    expect(canonicalJson(JSON.parse('{"b":1,"__proto__":{"x":2}}'))).toBe('{"__proto__":{"x":2},"b":1}');
  });

  it('leaves undefined members out and writes undefined elements as null, as a JSON export would', () => {
    const value = { a: undefined, b: [undefined, 1] };
    expect(canonicalJson(value)).toBe('{"b":[null,1]}');
    expect(canonicalJson(value)).toBe(canonicalJson(JSON.parse(JSON.stringify(value))));
  });

  it('follows toJSON (dates, buffers) and reads the own fields of class instances (decoded Avro records)', () => {
    class Line {
      constructor(
        readonly sku: string,
        readonly qty: number,
      ) {}
      describe(): string {
        return `${this.qty} × ${this.sku}`;
      }
    }
    expect(canonicalJson({ at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), line: new Line('A', 2) })).toBe(
      '{"at":"2024-01-02T03:04:05.000Z","line":{"qty":2,"sku":"A"}}',
    );
    expect(canonicalJson({ raw: Buffer.from([1, 2]) })).toBe('{"raw":{"data":[1,2],"type":"Buffer"}}');
  });
});
