/** Stylesheets are bundled by esbuild (apps/web/build.mjs), imported for their effect alone. */
declare module '*.css';
