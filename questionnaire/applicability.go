package questionnaire

import "slices"

// answerSource is what evaluating a condition reads: whether an indicator applies, and its
// answer. The scoring sheet answers from arrays built once per sheet; a lookup answers from the
// caller's own store of answers, reading only what the condition names.
type answerSource interface {
	applicable(i int) bool
	answerAt(i int) (Answer, bool)
}

// holds evaluates a compiled condition: a test of an indicator holds only when that indicator
// applies and its answer picks one of the listed options.
func holds(s answerSource, c *ccond) bool {
	if c == nil {
		return true
	}
	switch c.kind {
	case condLeaf:
		if c.ref < 0 || !s.applicable(c.ref) {
			return false
		}
		a, ok := s.answerAt(c.ref)
		if !ok || a.NotApplicable {
			return false
		}
		return slices.Contains(c.in, a.Option)
	case condAll:
		for _, sub := range c.all {
			if !holds(s, sub) {
				return false
			}
		}
		return true
	case condAny:
		for _, sub := range c.any {
			if holds(s, sub) {
				return true
			}
		}
	}
	return false
}

// AnswerLookup returns the answer to an indicator, and false when it has none.
type AnswerLookup func(code string) (Answer, bool)

// lookupSource evaluates conditions against a lookup, following only the indicators the
// conditions name, so that its cost is that of the conditions, not of the sheet.
type lookupSource struct {
	c      *Compiled
	lookup AnswerLookup
	depth  int
}

func (s *lookupSource) applicable(i int) bool {
	// Validate refuses cycles of conditions; the bound keeps a draft's cycle from recursing
	// forever, and answers "does not apply" as the scoring sheet does.
	if s.depth > len(s.c.nodes) {
		return false
	}
	s.depth++
	defer func() { s.depth-- }()
	return holds(s, s.c.nodes[i].cond)
}

func (s *lookupSource) answerAt(i int) (Answer, bool) {
	return s.lookup(s.c.nodes[i].code)
}

// ApplicableWith reports whether indicator code applies given the answers lookup returns, as
// Applicability would for a sheet holding those answers. It reads only the answers that the
// indicator's condition refers to, directly or through other conditions, so checking one
// changed answer costs the same on a sheet of 50 indicators as on one of 2,000.
func (c *Compiled) ApplicableWith(code string, lookup AnswerLookup) bool {
	i, ok := c.byCode[code]
	if !ok || c.nodes[i].ind == nil {
		return false
	}
	return (&lookupSource{c: c, lookup: lookup}).applicable(i)
}

// Dependents lists the indicators whose applicability an answer to code can change: those whose
// condition reads it, directly or through other conditions, in tree order.
func (c *Compiled) Dependents(code string) []string {
	i, ok := c.byCode[code]
	if !ok {
		return nil
	}
	deps := c.dependents[i]
	out := make([]string, len(deps))
	for k, d := range deps {
		out[k] = c.nodes[d].code
	}
	return out
}
