package mongodb_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/review"
	"github.com/expertsurvey/expertsurvey/round"
)

// fullSheetChange is a realistic sheet of n answers, each with a paragraph of comment and two
// sources.
func fullSheetChange(n int) *round.Change {
	c := &round.Change{Action: "answers.import"}
	for i := range n {
		c.Answers = append(c.Answers, round.Answer{
			Indicator: fmt.Sprintf("IND_%04d", i), Option: "partial",
			Comment: strings.Repeat("The law grants equal access with exceptions. ", 8),
			Sources: []round.Source{
				{Kind: "law", Title: "Aliens Employment Act", Reference: "§ 4(2)", URL: "https://example.org/law/4", Accessed: "2026-01-15", Language: "de"},
				{Kind: "case_law", Title: "Supreme Court 2019/17", URL: "https://example.org/case/17", TextDate: "2019-05-02"},
			},
		})
	}
	return c
}

// sheetSizes are the sheets the benchmarks compare: a small index, MIPEX-like, V-Dem-like and
// beyond.
var sheetSizes = []int{50, 500, 2000}

// BenchmarkRawInsert is the store's single-write rate, the yardstick of the save benchmarks.
func BenchmarkRawInsert(b *testing.B) {
	s := mongodbtest.New(b)
	col := s.Database().Collection("raw")
	var n atomic.Int64
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := n.Add(1)
			if _, err := col.InsertOne(context.Background(), bson.D{{Key: "_id", Value: id}, {Key: "v", Value: "x"}}); err != nil {
				b.Error(err)
			}
		}
	})
}

// BenchmarkSheetSave is one answer saved into a full sheet by 16 concurrent writers over 16
// sheets, at each sheet size: its cost must not grow with the sheet. storeB/op is what the
// store was sent per save, log entries and background checkpoints together.
func BenchmarkSheetSave(b *testing.B) {
	for _, size := range sheetSizes {
		b.Run(fmt.Sprintf("answers=%d", size), func(b *testing.B) {
			s := mongodbtest.New(b)
			ctx := context.Background()
			const sheets = 16
			for i := range sheets {
				full := fullSheetChange(size)
				if _, err := s.UpdateSheet(ctx, "r", fmt.Sprintf("C%02d", i), func(*round.Sheet) (*round.Change, error) { return full, nil }); err != nil {
					b.Fatal(err)
				}
			}
			s.WaitForCheckpoints(ctx)
			before := s.Stats()
			var n atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					country := fmt.Sprintf("C%02d", i%sheets)
					_, err := s.UpdateSheet(ctx, "r", country, func(*round.Sheet) (*round.Change, error) {
						return &round.Change{Action: "answer.save", Answers: []round.Answer{{Indicator: fmt.Sprintf("IND_%04d", int(i*7)%size), Option: "full",
							Comment: "Changed after the 2025 reform.", Sources: []round.Source{{Kind: "law", Title: "Act of 2025", URL: "https://example.org/2025"}}}}}, nil
					})
					if err != nil {
						b.Error(err)
					}
				}
			})
			s.WaitForCheckpoints(ctx)
			b.StopTimer()
			after := s.Stats()
			written := (after.LogBytes - before.LogBytes) + (after.CheckpointBytes - before.CheckpointBytes)
			b.ReportMetric(float64(written)/float64(b.N), "storeB/op")
			if batches := after.LogBatches - before.LogBatches; batches > 0 {
				b.ReportMetric(float64(after.LogEntries-before.LogEntries)/float64(batches), "entries/batch")
			}
		})
	}
}

// BenchmarkSheetLoad reads a full sheet: from the cache, with the probe of the next log position.
func BenchmarkSheetLoad(b *testing.B) {
	for _, size := range sheetSizes {
		b.Run(fmt.Sprintf("answers=%d", size), func(b *testing.B) {
			s := mongodbtest.New(b)
			ctx := context.Background()
			full := fullSheetChange(size)
			if _, err := s.UpdateSheet(ctx, "r", "AT", func(*round.Sheet) (*round.Change, error) { return full, nil }); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Sheet(ctx, "r", "AT"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReviewAction is one reviewer's verdict on an answer of a full, submitted sheet, by 16
// concurrent writers over 16 sheets, at each sheet size: like a save, its cost must not grow
// with the sheet (the review projection is copied on write by chunks, as the answers are).
func BenchmarkReviewAction(b *testing.B) {
	for _, size := range sheetSizes {
		b.Run(fmt.Sprintf("answers=%d", size), func(b *testing.B) {
			s := mongodbtest.New(b)
			ctx := context.Background()
			const sheets = 16
			expert := review.Actor{ID: "u_expert", Role: auth.RoleExpert}
			codes := make([]string, size)
			for i := range codes {
				codes[i] = fmt.Sprintf("IND_%04d", i)
			}
			for i := range sheets {
				full := fullSheetChange(size)
				country := fmt.Sprintf("C%02d", i)
				if _, err := s.UpdateSheet(ctx, "r", country, func(*round.Sheet) (*round.Change, error) { return full, nil }); err != nil {
					b.Fatal(err)
				}
				if _, err := s.UpdateSheet(ctx, "r", country, func(sh *round.Sheet) (*round.Change, error) {
					rc, err := sh.Review.Submit(expert, codes)
					return &round.Change{Action: string(rc.Move), Review: []review.Change{rc}}, err
				}); err != nil {
					b.Fatal(err)
				}
			}
			s.WaitForCheckpoints(ctx)
			before := s.Stats()
			var n atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					country := fmt.Sprintf("C%02d", i%sheets)
					// Each sheet takes verdicts from reviewers in turn, 5 per answer at most.
					k := i / sheets
					reviewer := review.Actor{ID: fmt.Sprintf("u_rev%d", (k/int64(size))%5), Role: auth.RoleReviewer}
					code := codes[k%int64(size)]
					_, err := s.UpdateSheet(ctx, "r", country, func(sh *round.Sheet) (*round.Change, error) {
						sh.Review.ReviewersPerAnswer = 5
						rc, err := sh.Review.Approve(reviewer, code, 1)
						if err != nil {
							return nil, err
						}
						return &round.Change{Action: string(rc.Move), Review: []review.Change{rc}}, nil
					})
					if err != nil {
						b.Error(err)
					}
				}
			})
			s.WaitForCheckpoints(ctx)
			b.StopTimer()
			after := s.Stats()
			written := (after.LogBytes - before.LogBytes) + (after.CheckpointBytes - before.CheckpointBytes)
			b.ReportMetric(float64(written)/float64(b.N), "storeB/op")
		})
	}
}

// BenchmarkColdSheetRead is the worst read of a sheet an instance has not cached (after a
// restart, or on an instance that never read it): its stored projection is one entry short of
// a checkpoint interval behind the log, so the read replays that many entries.
func BenchmarkColdSheetRead(b *testing.B) {
	for _, size := range sheetSizes {
		b.Run(fmt.Sprintf("answers=%d", size), func(b *testing.B) {
			s := mongodbtest.New(b)
			ctx := context.Background()
			full := fullSheetChange(size)
			if _, err := s.UpdateSheet(ctx, "r", "AT", func(*round.Sheet) (*round.Change, error) { return full, nil }); err != nil {
				b.Fatal(err)
			}
			s.WaitForCheckpoints(ctx)
			behind := mongodb.CheckpointInterval(size) - 1
			for i := range behind {
				if _, err := s.UpdateSheet(ctx, "r", "AT", func(*round.Sheet) (*round.Change, error) {
					return &round.Change{Action: "answer.save", Answers: []round.Answer{{Indicator: fmt.Sprintf("IND_%04d", int(i)%size), Option: "full"}}}, nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			s.WaitForCheckpoints(ctx)
			// A store whose cache holds nothing reads every sheet cold.
			cold, err := mongodb.Open(ctx, mongodb.Config{URI: s.URI(), Database: s.Database().Name(), CacheBytes: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer cold.Close(ctx)
			b.ResetTimer()
			for b.Loop() {
				sh, err := cold.Sheet(ctx, "r", "AT")
				if err != nil || sh.Seq != int64(1+behind) {
					b.Fatalf("cold read at %d, %v; want %d", sh.Seq, err, 1+behind)
				}
			}
			b.ReportMetric(float64(behind), "entries/read")
		})
	}
}
