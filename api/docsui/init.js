// Renders /openapi.yaml with Swagger UI: every description, limit (minimum, maxLength, pattern)
// and example, and "Try it out" against this very server (the document's server is "/").
window.ui = SwaggerUIBundle({
  url: "/openapi.yaml",
  dom_id: "#swagger-ui",
  deepLinking: true,
  docExpansion: "list",
  filter: true,
  showCommonExtensions: true,
  showExtensions: true,
  displayRequestDuration: true,
  defaultModelsExpandDepth: 1,
  persistAuthorization: false,
});
