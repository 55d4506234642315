package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/labstack/echo/v5"

	"github.com/expertsurvey/expertsurvey/round"
)

// A whole sheet is read far more often than it changes (experts reopen it, reviewers page
// through it, dashboards poll), and rendering 1,000 answers with their sources and review as
// JSON costs more than everything else its read does. The rendered body is therefore kept, by
// what it is a function of: the sheet at a log position, the round at a version, and whether
// the reader sees names or blind labels (labels do not depend on who the hidden reader is).
// The read itself still checks access and probes the log, so a write by any instance changes
// the key at once. The cache is bounded by bytes.

// DefaultRenderedSheetBytes is the budget of rendered sheets kept.
const DefaultRenderedSheetBytes = 64 << 20

type renderedSheets struct {
	mu     sync.Mutex
	lru    *simplelru.LRU[string, []byte]
	budget int64
	bytes  int64
}

func newRenderedSheets(budget int64) *renderedSheets {
	r := &renderedSheets{budget: budget}
	r.lru, _ = simplelru.NewLRU[string, []byte](1<<30, func(_ string, b []byte) { r.bytes -= int64(len(b)) })
	return r
}

// sheetETag names a rendering: sheet position, round version, names or labels.
func sheetETag(v *round.SheetView) string {
	labels := "n"
	if v.Labels.Hidden() {
		labels = "l"
	}
	return fmt.Sprintf(`W/"%d.%d.%s"`, v.Sheet.Seq, v.Round.Version, labels)
}

func (r *renderedSheets) get(key string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, _ := r.lru.Get(key)
	return b
}

func (r *renderedSheets) put(key string, b []byte) {
	if int64(len(b)) > r.budget/4 {
		return // one huge sheet must not empty the cache
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lru.Contains(key) {
		return
	}
	r.lru.Add(key, b)
	r.bytes += int64(len(b))
	for r.bytes > r.budget {
		r.lru.RemoveOldest()
	}
}

// renderSheet answers with a sheet view: 304 when the client has this rendering, the kept body
// when there is one, or a fresh rendering (kept for the next reader).
func (s *Server) renderSheet(c *echo.Context, v *round.SheetView) error {
	etag := sheetETag(v)
	c.Response().Header().Set("ETag", etag)
	if match := c.Request().Header.Get("If-None-Match"); match != "" && match == etag {
		c.Response().WriteHeader(http.StatusNotModified)
		return nil
	}
	key := v.Sheet.ID() + "@" + etag
	body := s.sheets.get(key)
	if body == nil {
		var err error
		if body, err = json.Marshal(toSheetResponse(v)); err != nil {
			return err
		}
		s.sheets.put(key, body)
	}
	return c.JSONBlob(http.StatusOK, body)
}
