/** Bitcoin primitives for the regtest node and the local stack. */
export * from "./bytes.ts";
export * from "./hash.ts";
export * from "./tx.ts";
export * from "./block.ts";
export * from "./pow.ts";
export * from "./script.ts";
export * from "./address.ts";
