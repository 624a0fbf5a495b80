/**
 * The model in the page's address: `#model=` and the source, deflated and base64url-encoded,
 * so a link holds the whole model and nothing is stored anywhere else.
 */
const PREFIX = "#model=";

async function transform(
  bytes: Uint8Array<ArrayBuffer>,
  stream: CompressionStream | DecompressionStream,
): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export async function encodeModel(source: string): Promise<string> {
  const packed = await transform(new TextEncoder().encode(source), new CompressionStream("deflate-raw"));
  return PREFIX + toBase64Url(packed);
}

/** The model a `#model=` address holds; undefined for another address or one that does not decode. */
export async function decodeModel(hash: string): Promise<string | undefined> {
  if (!hash.startsWith(PREFIX)) return undefined;
  try {
    const bytes = await transform(
      fromBase64Url(hash.slice(PREFIX.length)),
      new DecompressionStream("deflate-raw"),
    );
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** `#example=lstm`: one of the bundled examples, by name. */
export function exampleInAddress(hash: string): string | undefined {
  const m = /^#example=([A-Za-z0-9_]+)$/.exec(hash);
  return m ? m[1] : undefined;
}
