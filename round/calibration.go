package round

import (
	"context"
	"fmt"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/review"
)

// CalibrationRow is one country's answer to the indicator of a calibration view.
type CalibrationRow struct {
	Country string
	Status  SheetStatus
	Answer  *Answer // nil when the country has not answered
	Review  review.Answer
	// Score is the indicator's score as scoring computes it for the sheet (an override in
	// force included), nil when missing.
	Score *float64
}

// Calibration is one indicator across every country of a round, for coordinators looking for
// outliers: each country's answer, score, verdicts and comments, and how far reviewers agreed.
type Calibration struct {
	Indicator string
	Rows      []CalibrationRow
	Agreement review.Agreement
}

// Calibration returns the calibration view of indicator in a round, for its coordinators.
func (s *Service) Calibration(ctx context.Context, p auth.Principal, roundID, indicator string) (*Round, *Calibration, error) {
	r, rows, err := overSheets(ctx, s, p, roundID, func(inst *questionnaire.Compiled, sh *Sheet) CalibrationRow {
		row := CalibrationRow{Country: sh.Country, Status: sh.Status, Review: sh.Review.Answer(indicator)}
		if a := sh.Answer(indicator); a != nil {
			cp := *a
			row.Answer = &cp
		}
		for _, n := range inst.Score(scoringAnswers(sh.EachAnswer()), scoreOverrides(sh)).Nodes {
			if n.Code == indicator {
				row.Score = n.Score
				break
			}
		}
		return row
	})
	if err != nil {
		return nil, nil, err
	}
	_, inst, err := s.instrument(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := inst.Indicator(indicator); !ok {
		return nil, nil, fmt.Errorf("indicator %q is not in the round's questionnaire: %w", indicator, ErrNotFound)
	}
	c := &Calibration{Indicator: indicator, Rows: rows}
	answers := make([]review.Answer, len(rows))
	for i, row := range rows {
		answers[i] = row.Review
	}
	c.Agreement = review.AgreementOf(answers)
	return r, c, nil
}

// RoundAgreement is inter-reviewer agreement over a round's verdicts, overall and per indicator.
type RoundAgreement struct {
	Overall      review.Agreement
	ByIndicator  map[string]review.Agreement
	IndicatorIDs []string // the round's indicators, in questionnaire order
}

// Agreement measures how far the reviewers of a round agree, for its coordinators.
func (s *Service) Agreement(ctx context.Context, p auth.Principal, roundID string) (*Round, *RoundAgreement, error) {
	r, perSheet, err := overSheets(ctx, s, p, roundID, func(_ *questionnaire.Compiled, sh *Sheet) []review.Answer {
		return sh.Review.Answers()
	})
	if err != nil {
		return nil, nil, err
	}
	_, inst, err := s.instrument(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	codes := inst.IndicatorCodes()
	var all []review.Answer
	for _, as := range perSheet {
		all = append(all, as...)
	}
	return r, &RoundAgreement{Overall: review.AgreementOf(all), ByIndicator: review.AgreementByIndicator(all), IndicatorIDs: codes}, nil
}
