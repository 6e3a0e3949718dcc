// Imported as text (routes/docs.ts): the files GET /docs serves.
declare module "swagger-ui-dist/swagger-ui-bundle.js?raw" {
  const text: string;
  export default text;
}
declare module "swagger-ui-dist/swagger-ui.css?raw" {
  const text: string;
  export default text;
}
