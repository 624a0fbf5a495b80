// What esbuild supplies at bundle time (bin/build-site.mjs).
declare module "nabla:examples" {
  /** Every example model's source, by file name without `.nabla`. */
  const examples: Record<string, string>;
  export default examples;
}
declare module "*.css";
