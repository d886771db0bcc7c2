// Private keys and signatures, in the browser (docs/protocol.md §2).
//
// The signed bytes are the ASCII of the envelope's base64 payload text. secp256k1: a
// recoverable ECDSA signature over SHA3-256 of those bytes, sent as r(32)||s(32)||v(1) hex, low-S.
// Ed25519: plain Ed25519 over the bytes (WebCrypto), sent as public key(32)||signature(64) hex.
// An ID is SHA3-256 of the ASCII of the lowercase hex public key. No key ever leaves this module
// except as a signature (and, on request, the seed shown once to the person who generated it).

import * as secp from "../vendor/noble-secp256k1/index.js";
import { sha3_256 } from "../vendor/noble-hashes/sha3.js";

const ascii = new TextEncoder();
const ED25519_PREFIX = "ed25519:";
// DER header of a PKCS #8 Ed25519 private key; the 32-byte seed follows.
const PKCS8_ED25519 = hexToBytes("302e020100300506032b657004220420");

export function bytesToHex(bytes) {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

export function hexToBytes(hex) {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new Error("not hex");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Lowercase hex SHA3-256 (FIPS 202, not Keccak) of a string's UTF-8 bytes or of bytes. */
export function sha3Hex(data) {
  return bytesToHex(sha3_256(typeof data === "string" ? ascii.encode(data) : data));
}

/** The ID of a public key given as hex (130 chars secp256k1 uncompressed, 64 Ed25519). */
export function idFromPublicHex(publicHex) {
  return sha3Hex(publicHex.toLowerCase());
}

function base64UrlToBytes(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** A signing identity. `sign(text)` returns the envelope's signature field. */
export class Identity {
  constructor(scheme, publicHex, signer, secretText) {
    this.scheme = scheme;
    this.publicHex = publicHex;
    this.id = idFromPublicHex(publicHex);
    this._signer = signer;
    // The configuration form of the key (hex or ed25519:hex) when the page may keep it in
    // session storage; null for a non-extractable WebCrypto key.
    this._secretText = secretText;
  }

  get rememberable() {
    return this._secretText !== null;
  }

  secretText() {
    return this._secretText;
  }

  async sign(text) {
    return this._signer(ascii.encode(text));
  }
}

function secp256k1Identity(secretHex) {
  const secret = hexToBytes(secretHex);
  let publicKey;
  try {
    publicKey = secp.getPublicKey(secret, false);
  } catch {
    throw new Error("secp256k1 private key is out of range [1, n-1]");
  }
  const signer = async (message) => {
    const digest = sha3_256(message);
    // noble's recovered format is v||r||s; the wire wants r||s||v.
    const sig = await secp.signAsync(digest, secret, { prehash: false, format: "recovered" });
    return bytesToHex(sig.subarray(1)) + bytesToHex(sig.subarray(0, 1));
  };
  return new Identity("secp256k1", bytesToHex(publicKey), signer, secretHex.toLowerCase());
}

async function ed25519FromKeys(privateKey, publicRaw, secretText) {
  const publicHex = bytesToHex(publicRaw);
  const signer = async (message) => {
    const sig = new Uint8Array(await crypto.subtle.sign("Ed25519", privateKey, message));
    return publicHex + bytesToHex(sig);
  };
  return new Identity("ed25519", publicHex, signer, secretText);
}

/** An Ed25519 identity from its 32-byte seed; `extractable` false keeps the key inside WebCrypto. */
export async function ed25519FromSeed(seed, { keepText = true } = {}) {
  const der = new Uint8Array(PKCS8_ED25519.length + 32);
  der.set(PKCS8_ED25519);
  der.set(seed, PKCS8_ED25519.length);
  // Imported once extractable to learn the public key (WebCrypto cannot derive it otherwise),
  // then again as a non-extractable key that is the only one kept.
  const probe = await crypto.subtle.importKey("pkcs8", der, "Ed25519", true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", probe);
  const privateKey = await crypto.subtle.importKey("pkcs8", der, "Ed25519", false, ["sign"]);
  der.fill(0);
  const text = keepText ? ED25519_PREFIX + bytesToHex(seed) : null;
  return ed25519FromKeys(privateKey, base64UrlToBytes(jwk.x), text);
}

/** A stored non-extractable Ed25519 key pair (from IndexedDB). */
export async function ed25519FromCryptoKey(privateKey, publicHex) {
  return ed25519FromKeys(privateKey, hexToBytes(publicHex), null);
}

/**
 * Parse a pasted private key: `ed25519:<64 hex>` is an Ed25519 seed, plain `<64 hex>` a
 * secp256k1 key (as the CLI and SDK read them). Throws an Error whose message never holds the key.
 */
export async function parsePrivateKey(text) {
  const value = String(text).trim();
  if (value.slice(0, ED25519_PREFIX.length).toLowerCase() === ED25519_PREFIX) {
    const body = value.slice(ED25519_PREFIX.length);
    if (!/^[0-9a-fA-F]{64}$/.test(body)) {
      throw new Error("an Ed25519 key is 'ed25519:' followed by 64 hex characters");
    }
    return ed25519FromSeed(hexToBytes(body));
  }
  if (!/^[0-9a-fA-F]{64}$/.test(value)) {
    throw new Error(
      "a private key is 64 hex characters (secp256k1) or 'ed25519:' followed by 64 hex characters",
    );
  }
  return secp256k1Identity(value);
}

/** A fresh random Ed25519 identity, generated in this browser. */
export async function generateEd25519() {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  try {
    return await ed25519FromSeed(seed);
  } finally {
    seed.fill(0);
  }
}

/** A non-extractable copy of an Ed25519 identity's key, for IndexedDB (null for secp256k1). */
export async function nonExtractableEd25519(identity) {
  const text = identity.secretText();
  if (identity.scheme !== "ed25519" || text === null) return null;
  const der = new Uint8Array(PKCS8_ED25519.length + 32);
  der.set(PKCS8_ED25519);
  der.set(hexToBytes(text.slice(ED25519_PREFIX.length)), PKCS8_ED25519.length);
  const privateKey = await crypto.subtle.importKey("pkcs8", der, "Ed25519", false, ["sign"]);
  der.fill(0);
  return { privateKey, publicHex: identity.publicHex, id: identity.id };
}
