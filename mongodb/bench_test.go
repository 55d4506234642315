package mongodb_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/round"
)

// fullSheetChange is a realistic sheet: 170 answers, each with a paragraph of comment and two
// sources.
func fullSheetChange() *round.Change {
	c := &round.Change{Action: "answers.import"}
	for i := range 170 {
		c.Answers = append(c.Answers, round.Answer{
			Indicator: fmt.Sprintf("IND_%03d", i), Option: "partial",
			Comment: strings.Repeat("The law grants equal access with exceptions. ", 8),
			Sources: []round.Source{
				{Kind: "law", Title: "Aliens Employment Act", Reference: "§ 4(2)", URL: "https://example.org/law/4", Accessed: "2026-01-15", Language: "de"},
				{Kind: "case_law", Title: "Supreme Court 2019/17", URL: "https://example.org/case/17", TextDate: "2019-05-02"},
			},
		})
	}
	return c
}

// BenchmarkRawInsert is the store's single-write rate, the yardstick of the save benchmarks.
func BenchmarkRawInsert(b *testing.B) {
	s := mongodbtest.New(b)
	col := s.Database().Collection("raw")
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := n.Add(1)
			if _, err := col.InsertOne(context.Background(), bson.D{{Key: "_id", Value: id}, {Key: "v", Value: "x"}}); err != nil {
				b.Error(err)
			}
		}
	})
}

// BenchmarkSheetSave is one answer saved into a full sheet: the log entry and the projection.
func BenchmarkSheetSave(b *testing.B) {
	s := mongodbtest.New(b)
	ctx := context.Background()
	const sheets = 16
	for i := range sheets {
		full := fullSheetChange()
		if _, err := s.UpdateSheet(ctx, "r", fmt.Sprintf("C%02d", i), func(*round.Sheet) (*round.Change, error) { return full, nil }); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			country := fmt.Sprintf("C%02d", i%sheets)
			_, err := s.UpdateSheet(ctx, "r", country, func(*round.Sheet) (*round.Change, error) {
				return &round.Change{Action: "answer.save", Answers: []round.Answer{{Indicator: fmt.Sprintf("IND_%03d", i%170), Option: "full"}}}, nil
			})
			if err != nil {
				b.Error(err)
			}
		}
	})
}

// BenchmarkSheetLoad reads a full sheet: the projection and the probe of the next log position.
func BenchmarkSheetLoad(b *testing.B) {
	s := mongodbtest.New(b)
	ctx := context.Background()
	full := fullSheetChange()
	if _, err := s.UpdateSheet(ctx, "r", "AT", func(*round.Sheet) (*round.Change, error) { return full, nil }); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Sheet(ctx, "r", "AT"); err != nil {
			b.Fatal(err)
		}
	}
}
