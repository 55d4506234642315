package round_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/xuri/excelize/v2"

	"github.com/expertsurvey/expertsurvey/round"
)

func TestParseImportReadsTheFirstSheetOfAWorkbook(t *testing.T) {
	f := excelize.NewFile()
	sheet := f.GetSheetName(0)
	rows := [][]any{
		{"Country", "Indicator", "option", "value", "source_title", "source_kind"},
		{"AT", "LMM_1", "full", nil, "Act", "law"},
		{},
		{"BE", "LMM_3", nil, 4.5, nil, nil},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := round.ParseImport(&buf, "xlsx")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Line != 2 || got[1].Line != 4 {
		t.Fatalf("rows %+v; want lines 2 and 4 (the blank row skipped)", got)
	}
	if got[0].Values["country"] != "AT" || got[0].Values["source_kind"] != "law" || got[1].Values["value"] != "4.5" {
		t.Fatalf("values %+v", got)
	}
}

func TestParseImportRefusesBrokenFiles(t *testing.T) {
	for _, tc := range []struct {
		name, format, body, want string
	}{
		{"not a workbook", "xlsx", "plain text", "not a valid XLSX workbook"},
		{"unknown format", "ods", "x", "must be csv or xlsx"},
		{"empty", "csv", "", "is empty"},
		{"no indicator column", "csv", "country,option\nAT,x\n", `column "indicator" is required`},
		{"twice", "csv", "country,indicator,country\nAT,X,AT\n", "appears twice"},
		{"bad quoting", "csv", "country,indicator\n\"AT,X\n", "not valid CSV"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := round.ParseImport(strings.NewReader(tc.body), tc.format)
			var ve *round.ValidationError
			if !errors.As(err, &ve) || !slices.ContainsFunc(ve.Problems, func(p round.FieldError) bool { return strings.Contains(p.Reason, tc.want) }) {
				t.Fatalf("got %v, want a problem containing %q", err, tc.want)
			}
		})
	}
}

// zipBomb returns an XLSX workbook whose first sheet unzips to about unzipped bytes of rows of
// 4 KiB inline strings, while the file itself stays small.
func zipBomb(t testing.TB, unzipped int) []byte {
	t.Helper()
	f := excelize.NewFile()
	var small bytes.Buffer
	if err := f.Write(&small); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(small.Bytes()), int64(small.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	cell := strings.Repeat("x", 4096)
	for _, zf := range zr.File {
		w, err := zw.Create(zf.Name)
		if err != nil {
			t.Fatal(err)
		}
		if zf.Name != "xl/worksheets/sheet1.xml" {
			rc, _ := zf.Open()
			_, _ = io.Copy(w, rc)
			rc.Close()
			continue
		}
		bw := bufio.NewWriter(w)
		bw.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
		bw.WriteString(`<row r="1"><c r="A1" t="inlineStr"><is><t>country</t></is></c><c r="B1" t="inlineStr"><is><t>comment</t></is></c></row>`)
		for n := 2; n*4200 < unzipped; n++ {
			fmt.Fprintf(bw, `<row r="%d"><c r="B%d" t="inlineStr"><is><t>%s</t></is></c></row>`, n, n, cell)
		}
		bw.WriteString(`</sheetData></worksheet>`)
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestParseImportRefusesAtItsCaps feeds files that pass each cap of the answer import: each is
// refused with a LimitError naming where, before it is read whole.
func TestParseImportRefusesAtItsCaps(t *testing.T) {
	wideRow := "country,indicator\n" + strings.Repeat(",", 100) + "\n"
	commas := strings.Repeat(",", 30<<20) // 30 MiB of commas in one line
	longCell := "country,indicator,comment\nAT,LMM_1," + strings.Repeat("x", 200<<10) + "\n"
	var manyRows strings.Builder
	manyRows.WriteString("country,indicator\n")
	for range 250001 {
		manyRows.WriteString("AT,X\n")
	}
	for _, tc := range []struct {
		name, format string
		body         []byte
		tooLarge     bool
		field        string
	}{
		{"too many cells in a row", "csv", []byte(wideRow), false, "row 2"},
		{"30 MiB of commas in one line", "csv", []byte(commas), false, "line 1"},
		{"a cell over 128 KiB", "csv", []byte(longCell), false, "row 2: column 3"},
		{"more than 250,000 rows", "csv", []byte(manyRows.String()), false, "file"},
		{"an XLSX that unzips to 200 MiB", "xlsx", zipBomb(t, 200<<20), true, "file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := round.ParseImport(bytes.NewReader(tc.body), tc.format)
			var le *round.LimitError
			if !errors.As(err, &le) || le.Field != tc.field || le.TooLarge != tc.tooLarge {
				t.Fatalf("got %v (%T), want a LimitError on %q (too large: %v)", err, err, tc.field, tc.tooLarge)
			}
			if errors.Is(err, round.ErrTooLarge) != tc.tooLarge {
				t.Fatalf("errors.Is(ErrTooLarge) = %v", !tc.tooLarge)
			}
		})
	}
}

// TestParseImportPassesReadErrorsThrough keeps a failure of the reader (the body limit, a client
// gone) apart from a broken file, so that the API can answer 413 rather than "not valid CSV".
func TestParseImportPassesReadErrorsThrough(t *testing.T) {
	errRead := errors.New("read failed")
	for _, format := range []string{"csv", "xlsx"} {
		r := io.MultiReader(strings.NewReader("country,indicator\nAT,X\n"), iotest.ErrReader(errRead))
		if _, err := round.ParseImport(r, format); !errors.Is(err, errRead) {
			t.Errorf("%s: %v, want the reader's error", format, err)
		}
	}
}
