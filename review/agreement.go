package review

import "slices"

// Agreement measures how far reviewers agree, over the answer versions that two or more
// reviewers ruled on (a unit of the reliability data is one version of one answer; its values
// are the reviewers' decisions). Answers with a single reviewer say nothing about agreement and
// are left out, as are the coordinators' send-backs, which are not verdicts.
type Agreement struct {
	Units    int // answer versions with verdicts from two or more reviewers
	Verdicts int // verdicts in those units: the pairable values, Krippendorff's n
	Pairs    int // pairs of reviewers ruling on the same unit
	Agreeing int // pairs that gave the same decision
	// PercentAgreement is 100 * Agreeing / Pairs, or 0 when there are no pairs.
	PercentAgreement float64
	// Alpha is Krippendorff's alpha for nominal data, or nil when it is undefined: with no
	// pairable verdicts, or when every verdict is the same decision. Then the expected
	// disagreement is 0 as well as the observed one, and alpha is 0/0: data without variation
	// cannot show whether reviewers tell good answers from bad ones, so we report no alpha
	// rather than a flattering 1 (PercentAgreement, 100 then, says that they agreed).
	Alpha *float64
}

// AgreementOf measures agreement over the verdicts of answers (from any number of sheets: a
// round, or one indicator across countries). A reviewer's latest verdict on a version counts.
func AgreementOf(answers []Answer) Agreement {
	var units [][]string
	for _, a := range answers {
		units = append(units, verdictUnits(a)...)
	}
	return agreementOver(units)
}

// AgreementByIndicator measures agreement per indicator, for the calibration view.
func AgreementByIndicator(answers []Answer) map[string]Agreement {
	units := map[string][][]string{}
	for _, a := range answers {
		units[a.Indicator] = append(units[a.Indicator], verdictUnits(a)...)
	}
	out := make(map[string]Agreement, len(units))
	for code, u := range units {
		out[code] = agreementOver(u)
	}
	return out
}

// verdictUnits returns, per version of the answer with two or more reviewers, their decisions.
func verdictUnits(a Answer) [][]string {
	var versions []int
	latest := map[int]map[string]string{} // version -> reviewer -> decision
	for _, v := range a.Verdicts {
		if latest[v.Version] == nil {
			latest[v.Version] = map[string]string{}
			versions = append(versions, v.Version)
		}
		latest[v.Version][v.Reviewer] = string(v.Decision)
	}
	var units [][]string
	for _, version := range versions {
		if len(latest[version]) < 2 {
			continue
		}
		var values []string
		for _, d := range latest[version] {
			values = append(values, d)
		}
		slices.Sort(values)
		units = append(units, values)
	}
	return units
}

func agreementOver(units [][]string) Agreement {
	var g Agreement
	for _, u := range units {
		if len(u) < 2 {
			continue
		}
		g.Units++
		g.Verdicts += len(u)
		g.Pairs += len(u) * (len(u) - 1) / 2
		for _, n := range countValues(u) {
			g.Agreeing += n * (n - 1) / 2
		}
	}
	if g.Pairs > 0 {
		g.PercentAgreement = 100 * float64(g.Agreeing) / float64(g.Pairs)
	}
	if alpha, ok := Alpha(units); ok {
		g.Alpha = &alpha
	}
	return g
}

// Alpha computes Krippendorff's alpha for nominal data. Each unit lists the values the coders
// gave it; a coder who did not code a unit is simply absent from it (missing data), and units
// with fewer than two values are not pairable and count for nothing. ok is false when alpha is
// undefined: no pairable values, or a single value throughout (expected disagreement 0).
//
// With o the coincidence matrix, n_c its marginals and n the number of pairable values,
// alpha = 1 - (n-1) * sum_{c!=k} o_ck / sum_{c!=k} n_c*n_k (Krippendorff, "Computing
// Krippendorff's Alpha-Reliability", 2011). A unit u with m_u values contributes
// (m_u^2 - sum_c n_uc^2) / (m_u - 1) to the observed disagreement sum.
func Alpha(units [][]string) (alpha float64, ok bool) {
	var observed float64
	marginals := map[string]int{}
	n := 0
	for _, u := range units {
		m := len(u)
		if m < 2 {
			continue
		}
		same := 0
		for value, count := range countValues(u) {
			same += count * count
			marginals[value] += count
		}
		observed += float64(m*m-same) / float64(m-1)
		n += m
	}
	expected := n * n
	for _, count := range marginals {
		expected -= count * count
	}
	if n == 0 || expected == 0 {
		return 0, false
	}
	return 1 - float64(n-1)*observed/float64(expected), true
}

func countValues(u []string) map[string]int {
	counts := map[string]int{}
	for _, v := range u {
		counts[v]++
	}
	return counts
}
