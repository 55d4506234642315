package api_test

// OWASP API Security Top 10 (2023), API4: unrestricted resource consumption. Uploads that
// expand (XLSX zip bombs, huge shared-string tables, YAML alias bombs) and deeply nested JSON are
// refused with a 4xx before they are expanded; the heap stays within 200 MB of where it was
// while the API handles each (sampled every 2 ms; the figures are logged).

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
)

// workbook returns an XLSX file whose parts are excelize's empty workbook with the first sheet
// (and, when sst is not nil, the shared-string table) written by the given functions: small on
// the wire, as large unzipped as they make it.
func workbook(t testing.TB, sheet, sst func(w *bufio.Writer)) []byte {
	t.Helper()
	var small bytes.Buffer
	if err := excelize.NewFile().Write(&small); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(small.Bytes()), int64(small.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	write := func(name string, fill func(*bufio.Writer)) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		bw := bufio.NewWriter(w)
		fill(bw)
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	for _, zf := range zr.File {
		switch {
		case zf.Name == "xl/worksheets/sheet1.xml":
			write(zf.Name, sheet)
		case zf.Name == "xl/sharedStrings.xml" && sst != nil:
		default:
			rc, _ := zf.Open()
			write(zf.Name, func(w *bufio.Writer) { _, _ = io.Copy(w, rc) })
			rc.Close()
		}
	}
	if sst != nil {
		write("xl/sharedStrings.xml", sst)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

const sheetStart = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`
const sheetEnd = `</sheetData></worksheet>`

// heapPeak runs f while sampling the heap in use, and returns how far it rose above where it was.
func heapPeak(f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	f()
	close(done)
	if peak.Load() < base {
		return 0
	}
	return peak.Load() - base
}

func TestUploadBombsAreRefusedBeforeTheyExpand(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	openRound(t, env, "r1", "")
	coord, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: "r1"})
	admin, _ := env.As(auth.RoleAdmin)
	const xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	cell4K := strings.Repeat("x", 4096)
	cell64K := strings.Repeat("y", 64<<10)

	var yamlBomb strings.Builder
	yamlBomb.WriteString("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	for i, prev := 'b', 'a'; i <= 'i'; i, prev = i+1, i {
		fmt.Fprintf(&yamlBomb, "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", i, i, prev, prev, prev, prev, prev, prev, prev, prev, prev)
	}
	nested := strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)
	nestedYAML := "code: deep\ntitle: " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n"

	for _, tc := range []struct {
		name   string
		client *apitest.Client
		req    apitest.Request
		status int
	}{
		{"XLSX: 240,000 rows of 4 KiB", coord, apitest.Request{Method: "POST", Path: "/v1/rounds/r1/answers/import", ContentType: xlsx,
			Body: workbook(t, func(w *bufio.Writer) {
				w.WriteString(sheetStart)
				for n := 1; n <= 240000; n++ {
					fmt.Fprintf(w, `<row r="%d"><c r="A%d" t="inlineStr"><is><t>%s</t></is></c></row>`, n, n, cell4K)
				}
				w.WriteString(sheetEnd)
			}, nil)}, 413},
		{"XLSX: one row of 16,384 cells of 64 KiB", coord, apitest.Request{Method: "POST", Path: "/v1/rounds/r1/answers/import", ContentType: xlsx,
			Body: workbook(t, func(w *bufio.Writer) {
				w.WriteString(sheetStart + `<row r="1">`)
				for col := 1; col <= 16384; col++ {
					name, _ := excelize.ColumnNumberToName(col)
					fmt.Fprintf(w, `<c r="%s1" t="inlineStr"><is><t>%s</t></is></c>`, name, cell64K)
				}
				w.WriteString(`</row>` + sheetEnd)
			}, nil)}, 413},
		{"XLSX: 1 million shared strings", coord, apitest.Request{Method: "POST", Path: "/v1/rounds/r1/answers/import", ContentType: xlsx,
			Body: workbook(t, func(w *bufio.Writer) {
				w.WriteString(sheetStart + `<row r="1"><c r="A1" t="s"><v>999999</v></c><c r="B1" t="s"><v>0</v></c></row>` + sheetEnd)
			}, func(w *bufio.Writer) {
				w.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1000000" uniqueCount="1000000">`)
				for i := range 1000000 {
					fmt.Fprintf(w, "<si><t>s%d</t></si>", i)
				}
				w.WriteString(`</sst>`)
			})}, 413},
		{"YAML alias bomb", admin, apitest.Request{Method: "POST", Path: "/v1/questionnaires/bomb/import?version=1", ContentType: "application/yaml",
			Body: []byte(yamlBomb.String())}, 400},
		{"YAML nested 100,000 deep", admin, apitest.Request{Method: "POST", Path: "/v1/questionnaires/deep/import?version=1", ContentType: "application/yaml",
			Body: []byte(nestedYAML)}, 400},
		{"JSON definition nested 100,000 deep", admin, apitest.Request{Method: "POST", Path: "/v1/questionnaires/deep/import?version=1&format=json", ContentType: "application/json",
			Body: []byte(`{"code":"deep","title":` + nested + `}`), Invalid: true}, 400},
		{"JSON nested 100,000 deep", admin, apitest.Request{Method: "POST", Path: "/v1/users", ContentType: "application/json",
			Body: []byte(nested), Invalid: true}, 400},
	} {
		var r *apitest.Response
		start := time.Now()
		peak := heapPeak(func() { r = tc.client.Do(tc.req) })
		took := time.Since(start)
		size := 0
		if b, ok := tc.req.Body.([]byte); ok {
			size = len(b)
		} else if s, ok := tc.req.Body.(string); ok {
			size = len(s)
		}
		t.Logf("%-40s %8d bytes sent: %d in %v, heap peak +%d MiB", tc.name, size, r.Status, took.Round(time.Millisecond), peak>>20)
		if r.Status != tc.status {
			t.Errorf("%s: %d %.300s; want %d", tc.name, r.Status, r.Body, tc.status)
		}
		if peak > 200<<20 {
			t.Errorf("%s: the heap rose by %d MiB; want under 200", tc.name, peak>>20)
		}
		if strings.Contains(string(r.Body), "json:") {
			t.Errorf("%s: the detail carries a Go package prefix: %.300s", tc.name, r.Body)
		}
	}
}

// commas is a body of n commas made as it is read, so that the heap measured is the server's.
type commas struct{ left int }

func (c *commas) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.left)
	for i := range p[:n] {
		p[i] = ','
	}
	c.left -= n
	return n, nil
}

// TestCSVOfCommasIsRefusedAtTheFirstLongLine: 60 MiB of commas in one line (which took the
// service to 6 GB) is refused with 422 at 2 MiB, without the service holding it.
func TestCSVOfCommasIsRefusedAtTheFirstLongLine(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	openRound(t, env, "r1", "")
	coord, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: "r1"})
	body := &commas{left: 60 << 20}
	var rec *httptest.ResponseRecorder
	start := time.Now()
	peak := heapPeak(func() {
		req := httptest.NewRequest(http.MethodPost, "/v1/rounds/r1/answers/import", body)
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("Authorization", "Bearer "+coord.Token)
		rec = httptest.NewRecorder()
		env.App.Server.ServeHTTP(rec, req)
	})
	t.Logf("CSV: 60 MiB of commas: %d in %v after reading %d MiB, heap peak +%d MiB", rec.Code, time.Since(start).Round(time.Millisecond),
		(60<<20-body.left)>>20, peak>>20)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("%d %s; want 422", rec.Code, rec.Body)
	}
	if peak > 200<<20 {
		t.Fatalf("the heap rose by %d MiB; want under 200", peak>>20)
	}
}
