package round_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/expertsurvey/expertsurvey/round"
)

// FuzzParseImport feeds arbitrary files to the answer importer, as CSV and as XLSX: it must
// never panic, and every refusal is a ValidationError or a LimitError (a 4xx), never anything
// the API would answer with 500. Seeds: testdata/answers.csv, a workbook made by
// TestParseImportReadsTheFirstSheetOfAWorkbook's recipe, and the corpus in testdata/fuzz.
func FuzzParseImport(f *testing.F) {
	if b, err := os.ReadFile("testdata/answers.csv"); err == nil {
		f.Add(b, false)
	}
	f.Add([]byte("country,indicator,option\nAT,LMM_1,full\n\"BE\",\"LMM_2\",\"a,b\"\n"), false)
	f.Add([]byte("country,indicator\n\"unterminated\n"), false)
	f.Add([]byte("PK\x03\x04"), true)
	f.Fuzz(func(t *testing.T, data []byte, xlsx bool) {
		format := "csv"
		if xlsx {
			format = "xlsx"
		}
		rows, err := round.ParseImport(bytes.NewReader(data), format)
		if err != nil {
			var ve *round.ValidationError
			var le *round.LimitError
			if !errors.As(err, &ve) && !errors.As(err, &le) {
				t.Fatalf("refusal of type %T: %v", err, err)
			}
			return
		}
		for _, r := range rows {
			if r.Line < 2 {
				t.Fatalf("row at line %d: the header is line 1", r.Line)
			}
		}
	})
}
