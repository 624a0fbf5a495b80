import { registerOps } from "../ir/registry.js";
import { elementwiseOps } from "./elementwise.js";
import { linalgOps } from "./linalg.js";
import { reduceOps } from "./reduce.js";
import { lossOps } from "./losses.js";
import { convOps } from "./conv.js";
import { poolOps } from "./pool.js";
import { dimOps } from "./dims.js";
import { stepOps } from "./steps.js";
import { logicOps } from "./logic.js";
import { activationOps } from "./activations.js";
import { indexingOps } from "./indexing.js";
import { batchedOps } from "./batched.js";
import { concatOps } from "./concat.js";

/** Every op family, registered in the IR's op table when this module is loaded. */
registerOps([
  ...elementwiseOps,
  ...logicOps,
  ...activationOps,
  ...indexingOps,
  ...linalgOps,
  ...batchedOps,
  ...concatOps,
  ...reduceOps,
  ...lossOps,
  ...dimOps,
  ...stepOps,
  ...convOps,
  ...poolOps,
]);

export { allOps, getOp, surfaceFunction, surfaceNames } from "../ir/registry.js";
