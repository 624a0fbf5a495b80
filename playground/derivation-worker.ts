/**
 * Typesets the derivation beside the page: the page sends the source whenever it changes and
 * gets the handout's HTML pieces back, tagged with the version they are of.
 */
import { derivationForPage } from "../src/playground/compile.js";

export interface DerivationRequest {
  readonly version: number;
  readonly source: string;
}

self.onmessage = (event: MessageEvent<DerivationRequest>) => {
  const { version, source } = event.data;
  try {
    self.postMessage({ version, ...derivationForPage(source) });
  } catch (error) {
    self.postMessage({ version, millis: 0, failure: error instanceof Error ? error.message : String(error) });
  }
};
