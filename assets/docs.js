// The API reference: Swagger UI (from npm) over the document the API serves.
(function () {
  "use strict";
  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#ui",
    deepLinking: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
  });
})();
