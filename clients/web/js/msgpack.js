// The msgpack subset Inkroom's protocol uses: nil, bool, int (every width, negative too),
// float32/float64, str, bin, array, map. Ext types and trailing bytes are refused, as the
// server refuses them. Pure: no DOM, no sockets, runs in browsers and under `node --test`.
//
// Encoding picks the smallest form, as the Python msgpack package does (shared vectors in
// clients/web/test/vectors.json prove it byte for byte): a Number that is an integer is an
// int, any other Number a float64 (wrap it in `new Float64(x)` to force a float64 even for 2.0),
// a Uint8Array is bin, a BigInt an int, a Map or plain object a map.

export class MsgpackError extends Error {}

export class Float64 {
  constructor(value) {
    this.value = Number(value);
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });
const MAX_DEPTH = 64;

class Writer {
  constructor() {
    this.buf = new Uint8Array(256);
    this.view = new DataView(this.buf.buffer);
    this.pos = 0;
  }
  reserve(n) {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v) {
    this.reserve(1);
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }
  u16(v) {
    this.reserve(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }
  u32(v) {
    this.reserve(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }
  bytes(b) {
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  result() {
    return this.buf.slice(0, this.pos);
  }
}

function encodeInt(w, v) {
  // v: a BigInt, so every width is exact
  if (v >= 0n) {
    if (v < 128n) w.u8(Number(v));
    else if (v < 256n) (w.u8(0xcc), w.u8(Number(v)));
    else if (v < 65536n) (w.u8(0xcd), w.u16(Number(v)));
    else if (v < 4294967296n) (w.u8(0xce), w.u32(Number(v)));
    else if (v < 18446744073709551616n) {
      w.u8(0xcf);
      w.reserve(8);
      w.view.setBigUint64(w.pos, v);
      w.pos += 8;
    } else throw new MsgpackError(`integer too large: ${v}`);
  } else if (v >= -32n) w.u8(0x100 + Number(v));
  else if (v >= -128n) (w.u8(0xd0), w.u8(0x100 + Number(v)));
  else if (v >= -32768n) (w.u8(0xd1), w.u16(0x10000 + Number(v)));
  else if (v >= -2147483648n) (w.u8(0xd2), w.u32(0x100000000 + Number(v)));
  else if (v >= -9223372036854775808n) {
    w.u8(0xd3);
    w.reserve(8);
    w.view.setBigInt64(w.pos, v);
    w.pos += 8;
  } else throw new MsgpackError(`integer too small: ${v}`);
}

function encodeFloat64(w, v) {
  w.u8(0xcb);
  w.reserve(8);
  w.view.setFloat64(w.pos, v);
  w.pos += 8;
}

function encodeLength(w, n, fix, fixMax, c8, c16, c32) {
  if (n <= fixMax && fix !== null) w.u8(fix | n);
  else if (n < 256 && c8 !== null) (w.u8(c8), w.u8(n));
  else if (n < 65536) (w.u8(c16), w.u16(n));
  else if (n < 4294967296) (w.u8(c32), w.u32(n));
  else throw new MsgpackError("too long");
}

function encodeValue(w, v, depth) {
  if (depth > MAX_DEPTH) throw new MsgpackError("nested too deeply");
  if (v === null || v === undefined) w.u8(0xc0);
  else if (v === false) w.u8(0xc2);
  else if (v === true) w.u8(0xc3);
  else if (typeof v === "number") {
    if (Number.isInteger(v)) {
      if (Number.isSafeInteger(v)) encodeInt(w, BigInt(v));
      else encodeFloat64(w, v); // past 2^53 a Number is not an exact integer
    } else encodeFloat64(w, v);
  } else if (typeof v === "bigint") encodeInt(w, v);
  else if (v instanceof Float64) encodeFloat64(w, v.value);
  else if (typeof v === "string") {
    const b = textEncoder.encode(v);
    encodeLength(w, b.length, 0xa0, 31, 0xd9, 0xda, 0xdb);
    w.bytes(b);
  } else if (v instanceof Uint8Array) {
    encodeLength(w, v.length, null, -1, 0xc4, 0xc5, 0xc6);
    w.bytes(v);
  } else if (v instanceof ArrayBuffer) encodeValue(w, new Uint8Array(v), depth);
  else if (Array.isArray(v)) {
    encodeLength(w, v.length, 0x90, 15, null, 0xdc, 0xdd);
    for (const item of v) encodeValue(w, item, depth + 1);
  } else if (v instanceof Map) {
    encodeLength(w, v.size, 0x80, 15, null, 0xde, 0xdf);
    for (const [key, item] of v) {
      encodeValue(w, key, depth + 1);
      encodeValue(w, item, depth + 1);
    }
  } else if (typeof v === "object") {
    const entries = Object.entries(v).filter(([, item]) => item !== undefined);
    encodeLength(w, entries.length, 0x80, 15, null, 0xde, 0xdf);
    for (const [key, item] of entries) {
      encodeValue(w, key, depth + 1);
      encodeValue(w, item, depth + 1);
    }
  } else throw new MsgpackError(`cannot encode a ${typeof v}`);
}

export function encode(value) {
  const w = new Writer();
  encodeValue(w, value, 0);
  return w.result();
}

class Reader {
  constructor(bytes, options) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
    this.mapsAs = options.maps ?? "object";
  }
  need(n) {
    if (this.pos + n > this.bytes.length) throw new MsgpackError("truncated");
  }
  u8() {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }
  u16() {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32() {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  take(n) {
    this.need(n);
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  str(n) {
    this.need(n);
    let out;
    try {
      out = textDecoder.decode(this.bytes.subarray(this.pos, this.pos + n));
    } catch {
      throw new MsgpackError("a str that is not UTF-8");
    }
    this.pos += n;
    return out;
  }
  int64(signed) {
    this.need(8);
    const big = signed
      ? this.view.getBigInt64(this.pos)
      : this.view.getBigUint64(this.pos);
    this.pos += 8;
    const small = Number(big);
    return Number.isSafeInteger(small) ? small : big;
  }
  array(n, depth) {
    // each item is at least one byte: a huge count in a short frame fails fast
    if (n > this.bytes.length - this.pos) throw new MsgpackError("truncated");
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
    return out;
  }
  map(n, depth) {
    if (2 * n > this.bytes.length - this.pos) throw new MsgpackError("truncated");
    if (this.mapsAs === "map") {
      const out = new Map();
      for (let i = 0; i < n; i++) {
        const key = this.value(depth + 1);
        out.set(key, this.value(depth + 1));
      }
      return out;
    }
    const out = Object.create(null);
    for (let i = 0; i < n; i++) {
      const key = this.value(depth + 1);
      if (typeof key !== "string") throw new MsgpackError("a map key that is not a string");
      out[key] = this.value(depth + 1);
    }
    return out;
  }
  value(depth) {
    if (depth > MAX_DEPTH) throw new MsgpackError("nested too deeply");
    const c = this.u8();
    if (c < 0x80) return c;
    if (c < 0x90) return this.map(c & 0x0f, depth);
    if (c < 0xa0) return this.array(c & 0x0f, depth);
    if (c < 0xc0) return this.str(c & 0x1f);
    if (c >= 0xe0) return c - 0x100;
    switch (c) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.take(this.u8());
      case 0xc5:
        return this.take(this.u16());
      case 0xc6:
        return this.take(this.u32());
      case 0xca: {
        this.need(4);
        const v = this.view.getFloat32(this.pos);
        this.pos += 4;
        return v;
      }
      case 0xcb: {
        this.need(8);
        const v = this.view.getFloat64(this.pos);
        this.pos += 8;
        return v;
      }
      case 0xcc:
        return this.u8();
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf:
        return this.int64(false);
      case 0xd0: {
        const v = this.u8();
        return v < 0x80 ? v : v - 0x100;
      }
      case 0xd1: {
        const v = this.u16();
        return v < 0x8000 ? v : v - 0x10000;
      }
      case 0xd2: {
        const v = this.u32();
        return v < 0x80000000 ? v : v - 0x100000000;
      }
      case 0xd3:
        return this.int64(true);
      case 0xd9:
        return this.str(this.u8());
      case 0xda:
        return this.str(this.u16());
      case 0xdb:
        return this.str(this.u32());
      case 0xdc:
        return this.array(this.u16(), depth);
      case 0xdd:
        return this.array(this.u32(), depth);
      case 0xde:
        return this.map(this.u16(), depth);
      case 0xdf:
        return this.map(this.u32(), depth);
      case 0xc1:
        throw new MsgpackError("0xc1 is never used");
      default:
        // 0xc7-0xc9, 0xd4-0xd8: ext types
        throw new MsgpackError("ext types are not allowed");
    }
  }
}

// Decode exactly one value; `maps: "map"` gives Map objects (any key type), the default plain
// objects with string keys only (what the protocol uses).
export function decode(bytes, options = {}) {
  const input =
    bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes instanceof ArrayBuffer ? bytes : bytes.buffer);
  const reader = new Reader(input, options);
  const value = reader.value(0);
  if (reader.pos !== input.length) throw new MsgpackError("trailing bytes after the value");
  return value;
}
