/** Sent in the User-Agent. Keep in step with sdk/package.json. */
export const SDK_VERSION = '0.1.0';
