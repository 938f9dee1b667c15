// The web client's msgpack codec against vectors made by the Python msgpack package.
// Run: node --test clients/web/test/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { encode, decode, Float64, MsgpackError } from "../js/msgpack.js";

const vectors = JSON.parse(readFileSync(new URL("./vectors.json", import.meta.url), "utf-8"));

const hex = (bytes) => Buffer.from(bytes).toString("hex");
const unhex = (text) => new Uint8Array(Buffer.from(text, "hex"));

function floatOf(v) {
  return v === "nan" ? NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : v;
}

// A tagged vector value as the JS value the encoder takes (floats forced to float64).
function toEncodable([kind, v]) {
  switch (kind) {
    case "nil":
      return null;
    case "bool":
      return v;
    case "int": {
      const big = BigInt(v);
      return Number.isSafeInteger(Number(big)) ? Number(big) : big;
    }
    case "f64":
    case "f32":
      return new Float64(floatOf(v));
    case "str":
      return v;
    case "bin":
      return unhex(v);
    case "arr":
      return v.map(toEncodable);
    case "map":
      return new Map(v.map(([k, item]) => [toEncodable(k), toEncodable(item)]));
  }
  throw new Error(`unknown tag ${kind}`);
}

// What the decoder should give back (maps decoded as Map to compare keys of any type).
function toDecoded([kind, v]) {
  switch (kind) {
    case "f64":
    case "f32":
      return floatOf(v);
    case "arr":
      return v.map(toDecoded);
    case "map":
      return new Map(v.map(([k, item]) => [toDecoded(k), toDecoded(item)]));
    default:
      return toEncodable([kind, v]);
  }
}

test("the vectors file has valid and invalid vectors", () => {
  assert.ok(vectors.valid.length >= 60);
  assert.ok(vectors.invalid.length >= 10);
});

for (const vector of vectors.valid) {
  test(`decode ${vector.name}`, () => {
    const got = decode(unhex(vector.hex), { maps: "map" });
    assert.deepStrictEqual(got, toDecoded(vector.value));
  });
  if (vector.encode) {
    test(`encode ${vector.name}`, () => {
      assert.equal(hex(encode(toEncodable(vector.value))), vector.hex);
    });
  }
}

for (const vector of vectors.invalid) {
  test(`refuse ${vector.name}`, () => {
    assert.throws(() => decode(unhex(vector.hex)), MsgpackError);
  });
}

test("plain objects encode as maps in insertion order and decode back", () => {
  const message = { type: "hello", token: "t", device: { kind: "mouse", pressure: false } };
  const bytes = encode(message);
  assert.equal(bytes[0], 0x83);
  assert.deepStrictEqual({ ...decode(bytes), device: { ...decode(bytes).device } }, message);
});

test("a Number that is an integer encodes as an int, others as float64", () => {
  assert.equal(hex(encode(2)), "02");
  assert.equal(hex(encode(2.5)), "cb4004000000000000");
  assert.equal(hex(encode(new Float64(2))), "cb4000000000000000");
});

test("32-bit length headers on big values", () => {
  assert.equal(hex(encode("a".repeat(70000)).slice(0, 5)), "db00011170");
  assert.equal(hex(encode(new Uint8Array(70000)).slice(0, 5)), "c600011170");
  assert.equal(hex(encode(new Array(70000).fill(0)).slice(0, 5)), "dd00011170");
  const big = new Map();
  for (let i = 0; i < 70000; i++) big.set(i, 0);
  const bytes = encode(big);
  assert.equal(hex(bytes.slice(0, 5)), "df00011170");
  assert.equal(decode(bytes, { maps: "map" }).size, 70000);
});

test("map keys that are not strings are refused in object mode", () => {
  assert.throws(() => decode(unhex("810102")), MsgpackError);
  assert.deepStrictEqual(decode(unhex("810102"), { maps: "map" }), new Map([[1, 2]]));
});

test("decoding does not share memory with the frame", () => {
  const frame = unhex("c4020102");
  const bin = decode(frame);
  frame[2] = 9;
  assert.deepStrictEqual(bin, new Uint8Array([1, 2]));
});

test("too deep nesting is refused, not a stack overflow", () => {
  const frame = new Uint8Array(1000).fill(0x91);
  assert.throws(() => decode(frame), MsgpackError);
});
