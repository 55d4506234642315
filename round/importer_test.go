package round_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

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
