package publish_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/export"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/publish"
	"github.com/expertsurvey/expertsurvey/round"
)

// Figures in docs/performance.md ("Exports from the store"):
//
//	go test -run '^$' -bench ExportFromStore -benchtime 1x -timeout 60m ./publish/
//
// Two published rounds of a 500-indicator questionnaire, 50 and 200 countries, each sheet
// imported (every answer with a 330-character comment and two sources), submitted, approved and
// locked on the embedded store, then exported by the path of the CLI and the API
// (PrepareExport, then Write): per country a sheet read and a snapshot read from the store, the
// rows streamed into a writer that counts the bytes. cpu-s/op is the process's CPU time (the
// embedded store runs in it) per export. The set-up takes minutes and is not timed.

// indexOf500 is a questionnaire of 500 indicators: 5 areas of 10 dimensions of 10.
func indexOf500(tb testing.TB) published { return gridIndex(tb, "Five hundred", 10, 10) }

// publishRoundOf500 creates, fills, locks and publishes a round of the given number of
// countries.
func publishRoundOf500(b *testing.B, f *fixture, id string, countries int) {
	var codes []string
	for i := range countries {
		codes = append(codes, string([]byte{'A' + byte(i/676%26), 'A' + byte(i/26%26), 'A' + byte(i%26)}))
	}
	f.openRound(b, id, codes...)
	importer := auth.Principal{UserID: "u_import", Admin: true}
	comment := strings.Repeat("The law provides for this since the 2019 reform, with exceptions. ", 5)
	options := []string{"full", "partial", "none"}
	for ci, country := range codes {
		var rows []round.ImportRow
		for k, code := range f.inst.c.IndicatorCodes() {
			rows = append(rows,
				round.ImportRow{Line: len(rows) + 2, Values: map[string]string{"country": country, "indicator": code, "option": options[(ci+k)%3],
					"comment": comment, "source_kind": "law", "source_title": "Aliens Act", "source_reference": "§ 12(3)",
					"source_url": "https://example.org/law/" + code}},
				round.ImportRow{Line: len(rows) + 3, Values: map[string]string{"country": country, "indicator": code,
					"source_kind": "report", "source_title": "Annual report of the ombudsman", "source_date": "2024-05-01"}})
		}
		if _, err := f.rounds.ImportAnswers(f.ctx, importer, id, rows, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := f.rounds.Submit(f.ctx, coordinator, id, country); err != nil {
			b.Fatal(err)
		}
		if _, _, err := f.rounds.ApproveMany(f.ctx, coordinator, id, country, nil, true); err != nil {
			b.Fatal(err)
		}
		if _, err := f.rounds.Lock(f.ctx, coordinator, id, country); err != nil {
			b.Fatal(err)
		}
	}
	for _, to := range []round.Status{round.StatusClosed, round.StatusPublished} {
		r, err := f.rounds.Round(f.ctx, coordinator, id)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.rounds.SetStatus(f.ctx, coordinator, id, to, r.Version); err != nil {
			b.Fatal(err)
		}
	}
}

// countingWriter counts what an export writes.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// peakHeapDuring runs f and returns the highest HeapInuse sampled every 5 ms meanwhile.
func peakHeapDuring(f func()) uint64 {
	var peak atomic.Uint64
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapInuse > peak.Load() {
			peak.Store(m.HeapInuse)
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			sample()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	sample()
	return peak.Load()
}

func BenchmarkExportFromStore(b *testing.B) {
	f := &fixture{ctx: context.Background(), inst: indexOf500(b), clock: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	f.store = mongodbtest.New(b)
	f.rounds, f.publish = f.services(f.store)
	sizes := []int{50, 200}
	if v := os.Getenv("EXPERTSURVEY_BENCH_COUNTRIES"); v != "" { // e.g. "10,20" for a quick look
		sizes = nil
		for _, n := range strings.Split(v, ",") {
			c, err := strconv.Atoi(n)
			if err != nil {
				b.Fatal(err)
			}
			sizes = append(sizes, c)
		}
	}
	began := time.Now()
	for _, n := range sizes {
		publishRoundOf500(b, f, "r"+strconv.Itoa(n), n)
	}
	b.Logf("set-up (%v countries, locked and published): %v", sizes, time.Since(began))
	// Where an export's time goes: reading every country's sheet and its latest snapshot, cold,
	// as a new process (the CLI) does, through a second connection with an empty cache.
	for _, n := range sizes {
		b.Run(fmt.Sprintf("reads/%d", n), func(b *testing.B) {
			var sheetCPU, snapCPU time.Duration
			for b.Loop() {
				cold := mongodbtest.SecondInstance(b, f.store)
				for i := range n {
					country := string([]byte{'A' + byte(i/676%26), 'A' + byte(i/26%26), 'A' + byte(i%26)})
					t0 := processCPU()
					if _, err := cold.Sheet(f.ctx, "r"+strconv.Itoa(n), country); err != nil {
						b.Fatal(err)
					}
					t1 := processCPU()
					if _, err := cold.Snapshot(f.ctx, "r"+strconv.Itoa(n), country, 1); err != nil {
						b.Fatal(err)
					}
					sheetCPU, snapCPU = sheetCPU+t1-t0, snapCPU+processCPU()-t1
				}
			}
			b.ReportMetric(sheetCPU.Seconds()/float64(b.N*n)*1000, "sheet-cpu-ms/country")
			b.ReportMetric(snapCPU.Seconds()/float64(b.N*n)*1000, "snapshot-cpu-ms/country")
		})
	}
	for _, shape := range []publish.Shape{publish.ShapeLong, publish.ShapeWide} {
		for _, format := range []export.Format{export.XLSX, export.CSV} {
			for _, n := range sizes {
				b.Run(fmt.Sprintf("%s/%s/%d", shape, format, n), func(b *testing.B) {
					var out countingWriter
					var peak uint64
					cpu := processCPU()
					for b.Loop() {
						runtime.GC()
						out = countingWriter{}
						peak = max(peak, peakHeapDuring(func() {
							e, err := f.publish.PrepareExport(f.ctx, &coordinator, publish.ExportRequest{Round: "r" + strconv.Itoa(n), Format: format, Shape: shape})
							if err != nil {
								b.Fatal(err)
							}
							if err := e.Write(&out); err != nil {
								b.Fatal(err)
							}
						}))
					}
					b.ReportMetric((processCPU()-cpu).Seconds()/float64(b.N), "cpu-s/op")
					b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
					b.ReportMetric(float64(out.n)/(1<<20), "output-MB")
				})
			}
		}
	}
}

// processCPU is the CPU time this process has used, user and system: on a shared machine it
// says what an export costs better than the wall time does. The embedded store runs in this
// process, so its work is included.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
