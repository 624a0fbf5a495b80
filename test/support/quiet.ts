/**
 * TF.js's cpu backend prints a banner on first use in Node ("install our node backend");
 * that backend downloads a binary when installed, so the tests use the cpu backend on purpose
 * and the banner says nothing: it is left out of the test output. Every other warning stays.
 */
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (
    typeof args[0] === "string" &&
    args[0].includes("Hi, looks like you are running TensorFlow.js in Node.js")
  )
    return;
  warn(...args);
};
