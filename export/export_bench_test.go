package export

import (
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
	"github.com/expertsurvey/expertsurvey/snapshot"
)

// Figures in docs/performance.md ("Exports"):
//
//	go test -run '^$' -bench Export -benchtime 1x -count 3 ./export/
//
// Each iteration exports a synthetic round (500 indicators in a 4-level
// tree, every country's answers with a paragraph of comment and two
// sources) fed one country at a time, as a store iterator would, to a
// writer that counts the bytes. peak-heap-MB is the highest HeapInuse
// sampled every 5 ms during the export; alloc-MB/op the bytes allocated.

func benchInstrument() *questionnaire.Definition {
	en := func(s string) questionnaire.Text { return questionnaire.Text{"en": s, "fr": s + " (fr)"} }
	score := func(v float64) *float64 { return &v }
	d := &questionnaire.Definition{Code: "bench", Title: en("Bench"), DefaultLanguage: "en", Languages: []string{"en", "fr"}}
	var areas []string
	n := 0
	for a := range 5 {
		area := &questionnaire.Group{Code: fmt.Sprintf("A%d", a), Level: "area", Title: en("area"), Rule: questionnaire.Rule{Rounding: &questionnaire.Rounding{Decimals: 1}}}
		areas = append(areas, area.Code)
		for dm := range 5 {
			dim := &questionnaire.Group{Code: fmt.Sprintf("A%dD%d", a, dm), Level: "dimension", Title: en("dimension")}
			for s := range 5 {
				sub := &questionnaire.Group{Code: fmt.Sprintf("A%dD%dS%d", a, dm, s), Title: en("sub-dimension")}
				for range 4 {
					code := fmt.Sprintf("I%03d", n)
					ind := &questionnaire.Indicator{Code: code, Title: en("indicator " + code), Question: en("What does the law say about " + code + "?"), Type: questionnaire.SingleChoice,
						Options: []questionnaire.Option{{Code: "full", Label: en("Full"), Score: score(100)}, {Code: "partial", Label: en("Partial"), Score: score(50)}, {Code: "none", Label: en("None"), Score: score(0)}}}
					if n%5 == 4 {
						ind.Type, ind.Options = questionnaire.NumberType, nil
						ind.Number = &questionnaire.Number{Min: score(0), Scoring: questionnaire.ScoreByBands, Bands: []questionnaire.Band{
							{Max: score(3), Score: score(100)}, {Over: score(3), Max: score(5), Score: score(50)}, {Over: score(5), Score: score(0)}}}
					}
					sub.Children = append(sub.Children, questionnaire.Node{Indicator: ind})
					n++
				}
				dim.Children = append(dim.Children, questionnaire.Node{Group: sub})
			}
			area.Children = append(area.Children, questionnaire.Node{Group: dim})
		}
		d.Tree = append(d.Tree, questionnaire.Node{Group: area})
	}
	d.Variants = []questionnaire.Variant{{Name: "all", Areas: areas}, {Name: "without_last", Areas: areas[:4]}}
	return d
}

// benchSnapshot builds country k's snapshot of the synthetic round.
func benchSnapshot(tb testing.TB, c *questionnaire.Compiled, k int) *snapshot.Snapshot {
	codes := c.IndicatorCodes()
	comment := strings.Repeat("The law provides for this since the 2019 reform, with exceptions. ", 5)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(uint64(k), 2026))
	in := &snapshot.Snapshot{Round: "bench-2026", Country: fmt.Sprintf("C%03d", k), Questionnaire: "bench", Version: "1",
		Revision: 1, LockedBy: "coordinator@example.org", LockedAt: at, Answers: make([]snapshot.Answer, 0, len(codes))}
	for _, code := range codes {
		a := snapshot.Answer{Indicator: code, Comment: comment, Version: 1, UpdatedBy: "expert@example.org", UpdatedAt: at,
			Sources: []round.Source{
				{Kind: "law", Title: "Aliens Act " + code, Reference: "§ 12(3)", URL: "https://example.org/law/" + code, TextDate: "2019-01-01", Accessed: "2026-01-10", Language: "en"},
				{Kind: "report", Title: "Annual migration report 2025", URL: "https://example.org/report", Accessed: "2026-01-10"},
			}}
		ind, _ := c.Indicator(code)
		switch r := rng.IntN(100); {
		case r < 5:
			a.NotApplicable, a.NAReason = true, "no such scheme"
		case ind.Type == questionnaire.NumberType:
			v := float64(rng.IntN(10))
			a.Value = &v
		default:
			a.Option = []string{"full", "partial", "none"}[rng.IntN(3)]
		}
		in.Answers = append(in.Answers, a)
	}
	s, err := snapshot.Build(c, in)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// benchRound yields countries snapshots one at a time, each a shallow copy
// of one of a few prebuilt ones under its own country code: the export's
// work per country is the same as with distinct ones, the memory the
// round holds stays that of the few templates whatever its size, and the
// time measured is the export's, not Build's (BenchmarkExportGenerate
// measures that).
func benchRound(templates []*snapshot.Snapshot, countries int) iter.Seq2[*snapshot.Snapshot, error] {
	return func(yield func(*snapshot.Snapshot, error) bool) {
		for k := range countries {
			s := *templates[k%len(templates)]
			s.Country = fmt.Sprintf("C%03d", k)
			if !yield(&s, nil) {
				return
			}
		}
	}
}

// peakHeap samples HeapInuse while it runs f, and returns the highest
// value seen.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	f()
	close(done)
	wg.Wait()
	return peak
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

func BenchmarkExport(b *testing.B) {
	d := benchInstrument()
	c, err := d.Compile()
	if err != nil {
		b.Fatal(err)
	}
	if got := len(c.IndicatorCodes()); got != 500 {
		b.Fatalf("%d indicators, want 500", got)
	}
	templates := make([]*snapshot.Snapshot, 8)
	for k := range templates {
		templates[k] = benchSnapshot(b, c, k)
	}
	shapes := []struct {
		name  string
		write func(io.Writer, Format, ...Round) error
	}{{"long", Long}, {"wide", Wide}}
	for _, shape := range shapes {
		for _, f := range []Format{XLSX, CSV} {
			for _, countries := range []int{50, 200} {
				b.Run(fmt.Sprintf("%s/%s/%d", shape.name, f, countries), func(b *testing.B) {
					var peak uint64
					var out countingWriter
					var ms0, ms1 runtime.MemStats
					runtime.ReadMemStats(&ms0)
					for b.Loop() {
						out = countingWriter{}
						peak = max(peak, peakHeap(func() {
							if err := shape.write(&out, f, Round{Definition: d, Sheets: benchRound(templates, countries)}); err != nil {
								b.Fatal(err)
							}
						}))
					}
					runtime.ReadMemStats(&ms1)
					b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
					b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/(1<<20), "alloc-MB/op")
					b.ReportMetric(float64(out.n)/(1<<20), "output-MB")
				})
			}
		}
	}
}

// BenchmarkExportGenerate builds one synthetic country's snapshot (500
// answers with comments and sources: scoring, canonical form, SHA-256):
// what a lock of such a sheet costs in CPU.
func BenchmarkExportGenerate(b *testing.B) {
	c, err := benchInstrument().Compile()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		benchSnapshot(b, c, k)
		k++
	}
}
