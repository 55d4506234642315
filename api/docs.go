package api

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"path"

	"github.com/labstack/echo/v5"

	"github.com/expertsurvey/expertsurvey"
)

// docsUI is Swagger UI (vendored by tools/vendor-swagger-ui.sh; api/docsui/VERSION names the
// release) with this project's page and initializer: /docs renders the contract in the browser
// from the binary's own files, with no CDN, and tries requests against this server.
//
//go:embed docsui/index.html docsui/init.js docsui/swagger-ui-bundle.js docsui/swagger-ui.css
var docsUI embed.FS

// docsContentTypes are the media types of the files /docs serves.
var docsContentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// docsCSP lets the page run its own scripts and reach this server only. Swagger UI sets styles
// inline, and draws some icons as data: images.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// handleSpec serves the contract the tests validate against.
func (s *Server) handleSpec(c *echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", expertsurvey.OpenAPI)
}

// handleDocs serves the API reference page.
func (s *Server) handleDocs(c *echo.Context) error {
	return serveDocsFile(c, "index.html")
}

// handleDocsAsset serves the files of the page: GET /docs/{asset}.
func (s *Server) handleDocsAsset(c *echo.Context) error {
	name := c.Param("asset")
	if name == "index.html" || path.Base(name) != name {
		return echo.ErrNotFound
	}
	return serveDocsFile(c, name)
}

func serveDocsFile(c *echo.Context, name string) error {
	b, err := fs.ReadFile(docsUI, "docsui/"+name)
	if err != nil {
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", docsCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	if name != "index.html" {
		// The files change only with the binary; an hour spares reloading 2 MB on every visit.
		h.Set("Cache-Control", "public, max-age=3600")
	}
	return c.Blob(http.StatusOK, docsContentTypes[path.Ext(name)], b)
}

// apiDocs stands for the /docs files; loadDocs checks at start that the binary has them all.
type apiDocs struct{}

func loadDocs() (*apiDocs, error) {
	for _, name := range []string{"index.html", "init.js", "swagger-ui-bundle.js", "swagger-ui.css"} {
		if _, err := fs.Stat(docsUI, "docsui/"+name); err != nil {
			return nil, fmt.Errorf("docs: %s missing from the binary: %w", name, err)
		}
	}
	return &apiDocs{}, nil
}
