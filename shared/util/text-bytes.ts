/**
 * Text from bytes and bytes from text, with the encoders every JavaScript environment has
 * (Node and the browser alike). Deliberately not fflate's helpers of the same job: importing
 * fflate evaluates it, and it builds its Huffman tables when evaluated, a cost every command
 * that merely reads a name would pay at start.
 */
/**
 * The WHATWG Encoding API, global in Node and every browser, which the ECMAScript library
 * shared/ compiles against does not declare (declared here for this module only).
 */
declare const TextDecoder: new () => { decode(bytes: Uint8Array): string };
declare const TextEncoder: new () => { encode(text: string): Uint8Array };

let decoder: InstanceType<typeof TextDecoder> | undefined;
let encoder: InstanceType<typeof TextEncoder> | undefined;

/** UTF-8 bytes as text; a byte sequence that is not UTF-8 becomes U+FFFD, as TextDecoder does. */
export function utf8Decode(bytes: Uint8Array): string {
  return (decoder ??= new TextDecoder()).decode(bytes);
}

/** Text as UTF-8 bytes. */
export function utf8Encode(text: string): Uint8Array {
  return (encoder ??= new TextEncoder()).encode(text);
}

/** Bytes as text one character a byte (ISO 8859-1): for fixed-width fields that may hold any byte. */
export function latin1Decode(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 16384) text += String.fromCharCode(...bytes.subarray(i, i + 16384));
  return text;
}
