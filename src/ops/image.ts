/** Image operations: part of the language, parsed and checked for arity today, given meaning in a later release. */
export const imageOps: readonly string[] = [
  "conv2d",
  "maxpool",
  "avgpool",
  "flatten",
];
