// Package demo holds a demonstration instrument in the shape of a migrant
// integration policy index, with invented answers for a few countries, so
// that the service can be shown and tested with realistic data. The
// questions are written for this project; they are not those of any real
// index.
package demo

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/expertsurvey/expertsurvey/questionnaire"
)

//go:embed demo.yaml
var demoYAML []byte

// YAML returns the demo instrument as written, in the YAML definition
// format.
func YAML() []byte { return bytes.Clone(demoYAML) }

// Definition returns the demo instrument, decoded and validated. Each call
// returns a fresh copy that the caller may change. It panics only if the
// embedded file is broken, which the package's tests rule out.
func Definition() *questionnaire.Definition {
	d, err := questionnaire.DecodeDefinition(bytes.NewReader(demoYAML), questionnaire.FormatYAML)
	if err != nil {
		panic(fmt.Sprintf("demo: embedded demo.yaml does not decode: %v", err))
	}
	if ps := d.Validate(); len(ps) > 0 {
		panic(fmt.Sprintf("demo: embedded demo.yaml is invalid: %v", &questionnaire.ValidationError{Problems: ps}))
	}
	return d
}

// notApplicable marks, in the answer tables, an indicator the expert
// marked not applicable because its condition excludes it.
const notApplicable = "n/a"

// demoAnswers are INVENTED answers, not real data about these countries:
// they exist so that the demo shows plausible, varied scores. Each entry
// is code=value; the value is an option code, a number or a text according
// to the indicator's type.
var demoAnswers = map[string][]string{
	"AT": {
		"LMM_1=some_limits", "LMM_2=partly", "LMM_3=no", "LMM_4=conditional", "LMM_5=partly", "LMM_6=some", "LMM_7=some",
		"LMM_notes=Invented for the demo: a reform shortened the wait for a first work permit.",
		"FR_1=longer", "FR_2=spouses_registered", "FR_3=discretion", "FR_4=test", "FR_5=higher", "FR_6=one_year", "FR_7=no", "FR_8=" + notApplicable,
		"EDU_1=all", "EDU_2=some", "EDU_3=ad_hoc", "EDU_4=reception", "EDU_5=optional", "EDU_6=some",
		"PP_1=none", "PP_2=" + notApplicable, "PP_3=none", "PP_4=join", "PP_5=appointed", "PP_6=general",
		"PR_1=6", "PR_2=basic", "PR_3=minimum_wage", "PR_4=five_years", "PR_5=long_absence", "PR_6=some",
		"AN_1=10", "AN_2=naturalisation", "AN_3=intermediate", "AN_4=test", "AN_5=renounce", "AN_6=fraud_any_time",
		"AD_1=all_three", "AD_2=some", "AD_3=yes", "AD_4=support", "AD_5=limited",
		"H_1=equal", "H_2=emergency", "H_3=some", "H_4=few", "H_5=optional",
	},
	"FR": {
		"LMM_1=some_limits", "LMM_2=partly", "LMM_3=yes", "LMM_4=equal", "LMM_5=mostly", "LMM_6=some", "LMM_7=equal",
		"LMM_notes=Invented for the demo: no reform since the last round.",
		"FR_1=two_years", "FR_2=spouses", "FR_3=discretion", "FR_4=course", "FR_5=minimum_wage", "FR_6=one_year", "FR_7=yes", "FR_8=slow",
		"EDU_1=all", "EDU_2=equal", "EDU_3=systematic", "EDU_4=reception", "EDU_5=optional", "EDU_6=some",
		"PP_1=some", "PP_2=medium", "PP_3=some", "PP_4=both", "PP_5=none", "PP_6=general",
		"PR_1=5", "PR_2=basic", "PR_3=minimum_wage", "PR_4=unlimited", "PR_5=long_absence", "PR_6=equal",
		"AN_1=5", "AN_2=declaration", "AN_3=intermediate", "AN_4=with_support", "AN_5=allowed", "AN_6=fraud_any_time",
		"AD_1=all_three", "AD_2=all", "AD_3=yes", "AD_4=both", "AD_5=good",
		"H_1=equal", "H_2=some", "H_3=paid", "H_4=few", "H_5=optional",
	},
	"PT": {
		"LMM_1=equal", "LMM_2=open", "LMM_3=yes", "LMM_4=equal", "LMM_5=partly", "LMM_6=equal", "LMM_7=equal",
		"LMM_notes=Invented for the demo: a one-stop shop for recognising diplomas opened.",
		"FR_1=none", "FR_2=all", "FR_3=entitled", "FR_4=none", "FR_5=none", "FR_6=same", "FR_7=yes", "FR_8=quick",
		"EDU_1=all", "EDU_2=equal", "EDU_3=ad_hoc", "EDU_4=continued", "EDU_5=optional", "EDU_6=some",
		"PP_1=some", "PP_2=short", "PP_3=some", "PP_4=both", "PP_5=appointed", "PP_6=dedicated",
		"PR_1=3", "PR_2=basic", "PR_3=none", "PR_4=unlimited", "PR_5=fraud_only", "PR_6=equal",
		"AN_1=5", "AN_2=at_birth", "AN_3=basic", "AN_4=none", "AN_5=allowed", "AN_6=fraud_only",
		"AD_1=all_three", "AD_2=all", "AD_3=yes", "AD_4=both", "AD_5=good",
		"H_1=equal", "H_2=some", "H_3=most", "H_4=many", "H_5=optional",
	},
	"SE": {
		"LMM_1=equal", "LMM_2=open", "LMM_3=yes", "LMM_4=equal", "LMM_5=full", "LMM_6=equal", "LMM_7=equal",
		"LMM_notes=Invented for the demo: the income threshold for work permits was raised.",
		"FR_1=none", "FR_2=all", "FR_3=excluded", "FR_4=none", "FR_5=minimum_wage", "FR_6=same", "FR_7=yes", "FR_8=quick",
		"EDU_1=all", "EDU_2=equal", "EDU_3=systematic", "EDU_4=continued", "EDU_5=required", "EDU_6=entitled",
		"PP_1=all", "PP_2=short", "PP_3=all", "PP_4=both", "PP_5=none", "PP_6=dedicated",
		"PR_1=4", "PR_2=none", "PR_3=minimum_wage", "PR_4=unlimited", "PR_5=fraud_only", "PR_6=equal",
		"AN_1=5", "AN_2=declaration", "AN_3=basic", "AN_4=none", "AN_5=allowed", "AN_6=fraud_only",
		"AD_1=all_three", "AD_2=all", "AD_3=yes", "AD_4=both", "AD_5=strong",
		"H_1=equal", "H_2=primary", "H_3=nationwide", "H_4=many", "H_5=required",
	},
}

// Countries lists the codes of the countries Answers covers, sorted.
func Countries() []string {
	codes := make([]string, 0, len(demoAnswers))
	for c := range demoAnswers {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return codes
}

// Answers returns the demo answers by country code (see Countries). The
// values are INVENTED for demonstration, not real data. Every indicator
// that applies is answered; indicators excluded by their condition are
// marked not applicable. Each call returns fresh slices.
func Answers() map[string]questionnaire.Answers {
	d := Definition()
	types := map[string]questionnaire.AnswerType{}
	var walk func([]questionnaire.Node)
	walk = func(nodes []questionnaire.Node) {
		for _, n := range nodes {
			if n.Group != nil {
				walk(n.Group.Children)
			} else if n.Indicator != nil {
				types[n.Indicator.Code] = n.Indicator.Type
			}
		}
	}
	walk(d.Tree)
	out := make(map[string]questionnaire.Answers, len(demoAnswers))
	for country, entries := range demoAnswers {
		answers := make(questionnaire.Answers, 0, len(entries))
		for _, e := range entries {
			code, value, _ := strings.Cut(e, "=")
			a := questionnaire.Answer{Indicator: code}
			switch typ := types[code]; {
			case value == notApplicable:
				a.NotApplicable = true
			case typ == questionnaire.NumberType:
				f, err := strconv.ParseFloat(value, 64)
				if err != nil {
					panic(fmt.Sprintf("demo: %s %s: %q is not a number", country, code, value))
				}
				a.Number = &f
			case typ == questionnaire.TextType:
				a.Text = value
			default:
				a.Option = value
			}
			answers = append(answers, a)
		}
		out[country] = answers
	}
	return out
}
