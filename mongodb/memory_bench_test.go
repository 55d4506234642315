package mongodb_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

// procMemory reads a memory figure of this process from /proc/self/status (VmRSS: resident now;
// VmHWM: the high-water mark), in bytes.
func procMemory(tb testing.TB, field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkReadManySheets reads EXPERTSURVEY_BENCH_SHEETS distinct sheets (default 2,000; the
// figure in docs/performance.md is for 40,000) of 50 answers with sources, each once, through
// one store with the default cache budget, and reports the resident memory of the whole process
// (the embedded store included) before and after the reads and its peak (which writing the
// sheets may set), the Go heap after the run, and what the cache holds.
// A cache bounded by count grew with every sheet; this one stops at its byte budget.
//
//	EXPERTSURVEY_BENCH_SHEETS=40000 go test -run '^$' -bench ReadManySheets -benchtime 1x ./mongodb/
func BenchmarkReadManySheets(b *testing.B) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("EXPERTSURVEY_BENCH_SHEETS")); err == nil && v > 0 {
		n = v
	}
	base := mongodbtest.New(b)
	ctx := context.Background()
	col := base.Database().Collection("sheets")
	answers := bson.A{}
	for _, a := range fullSheetChange(50).Answers {
		answers = append(answers, bson.D{{Key: "indicator", Value: a.Indicator}, {Key: "option", Value: a.Option},
			{Key: "comment", Value: a.Comment}, {Key: "version", Value: 1}, {Key: "history", Value: bson.A{int64(1)}},
			{Key: "sources", Value: bson.A{
				bson.D{{Key: "kind", Value: "law"}, {Key: "title", Value: "Aliens Employment Act"}, {Key: "reference", Value: "§ 4(2)"}, {Key: "url", Value: "https://example.org/law/4"}},
				bson.D{{Key: "kind", Value: "case_law"}, {Key: "title", Value: "Supreme Court 2019/17"}, {Key: "url", Value: "https://example.org/case/17"}},
			}}})
	}
	start := time.Now()
	batch := make([]any, 0, 500)
	for i := range n {
		c := fmt.Sprintf("C%05d", i)
		batch = append(batch, bson.D{{Key: "_id", Value: "r/" + c}, {Key: "round", Value: "r"}, {Key: "country", Value: c},
			{Key: "status", Value: "in_progress"}, {Key: "seq", Value: int64(1)}, {Key: "answers", Value: answers},
			{Key: "updated_at", Value: time.Now().UTC()}, {Key: "updated_by", Value: "u"}})
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := col.InsertMany(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.Logf("%d sheets written in %s", n, time.Since(start).Round(time.Second))
	// A fresh instance on the filled database: an empty cache with the default budget.
	s := mongodbtest.SecondInstance(b, base)
	runtime.GC()
	rssBefore := procMemory(b, "VmRSS")
	b.ResetTimer()
	for range b.N {
		for i := range n {
			if _, err := s.Sheet(ctx, "r", fmt.Sprintf("C%05d", i)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := s.Stats().Cache
	b.ReportMetric(float64(procMemory(b, "VmRSS"))/(1<<20), "RSSafter_MiB")
	b.ReportMetric(float64(rssBefore)/(1<<20), "RSSbefore_MiB")
	b.ReportMetric(float64(procMemory(b, "VmHWM"))/(1<<20), "peakRSS_MiB")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap_MiB")
	b.ReportMetric(float64(st.Bytes)/(1<<20), "cache_MiB")
	b.ReportMetric(float64(st.Entries), "cached_sheets")
	if st.Bytes > mongodb.DefaultCacheBytes {
		b.Fatalf("the cache holds %d bytes, over its budget of %d", st.Bytes, mongodb.DefaultCacheBytes)
	}
}
